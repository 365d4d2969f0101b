# keypoints: every target that needs Python makes .venv first and installs the pinned dependencies.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

DATA ?=
NETS ?=
EPOCHS ?=
PRESET ?=
DEVICE ?=
PHOTOS ?=
MODEL ?=
BENCH ?=
SEEDS ?=
# pytest exits 5 when it collected no test: say so, and fail (a run that tested nothing must not pass)
PYTEST = $(PY) -m pytest $(1) || { code=$$?; [ $$code -ne 5 ] || echo "error: pytest collected no tests" >&2; exit $$code; }

.DEFAULT_GOAL := help
.PHONY: help setup train predict test test-all lint bench data clean

help: ## list the targets
	@echo "usage: make <target> [VAR=value ...]"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[train,test]"
	@touch $@

setup: $(STAMP) ## create .venv and install the pinned dependencies (every target does this first)

train: $(STAMP) ## train and compare the networks; DATA=csv NETS=bnconv,bnlocal EPOCHS=n SEEDS=n PRESET=default|conclusive|full DEVICE=auto|cpu|cuda
	$(PY) -m keypoints train $(if $(DATA),--data "$(DATA)") $(if $(NETS),--nets $(NETS)) \
		$(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(PRESET),--preset $(PRESET)) $(if $(DEVICE),--device $(DEVICE)) \
		$(if $(SEEDS),--seeds $(SEEDS))

predict: $(STAMP) ## find faces in photos and draw their keypoints; PHOTOS="a.jpg dir/" (default: data/samples) MODEL=file.pt
	$(PY) -m keypoints predict $(if $(PHOTOS),$(PHOTOS),data/samples) $(if $(MODEL),--model "$(MODEL)")

test: $(STAMP) ## run the fast tests (all but those marked slow); KEYPOINTS_DATA_DIR=folder adds the real-face ones
	$(call PYTEST,-m "not slow")

test-all: $(STAMP) ## run every test, the slow ones too (what CI runs)
	$(call PYTEST,)

lint: $(STAMP) ## check the code with ruff: lint findings and formatting
	$(PY) -m ruff check keypoints tests tools
	$(PY) -m ruff format --check keypoints tests tools

bench: $(STAMP) ## print speed figures as ratios against baselines run alongside; BENCH=quick for a short run (no peer venvs made)
	$(PY) -m keypoints bench $(if $(BENCH),--$(BENCH),--install-peers)

data: $(STAMP) ## download the Kaggle competition files into data/ (needs Kaggle credentials)
	@$(PY) -c "import kaggle" 2>/dev/null || $(VENV)/bin/pip install --quiet kaggle >/dev/null 2>&1 || true
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m keypoints download --out data

clean: ## remove .venv, caches, and the outputs git ignores (keeps data/, models/ and the committed report)
	rm -rf $(VENV) .venv-peers .pytest_cache .ruff_cache build *.egg-info results data/synthetic
	rm -f reports/bench.json reports/figures/saliency_*.png reports/figures/occlusion_*.png
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/keypoints"
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
