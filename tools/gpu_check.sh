#!/usr/bin/env bash
# The GPU figures in one call, for a machine with a CUDA GPU and no network (the team's lent GPU machine):
# the CUDA tests, `keypoints bench` on the GPU, and the full preset (every network, 5 seeds). Everything lands in OUT.
#
#   tools/gpu_check.sh TRAINING_CSV OUT [bench|train|all] [WHEEL_DIR]
#
# TRAINING_CSV: a Kaggle-format training file (with its *_identities.csv beside it, for the split by person).
# WHEEL_DIR: wheels to install when the machine's Python lacks them (skorch); installed into /tmp/site.
# Uses the machine's own python3 and torch, so that nothing is downloaded. Each model file is copied on its
# own, so that one large file cannot hold back the others.
# Settings for a smoke run on a CPU: PYTHON=.venv/bin/python DEVICE=cpu EPOCHS=1 tools/gpu_check.sh ... train
set -uo pipefail
data=${1:?usage: tools/gpu_check.sh TRAINING_CSV OUT [bench|train|all] [WHEEL_DIR]}
out=${2:?usage: tools/gpu_check.sh TRAINING_CSV OUT [bench|train|all] [WHEEL_DIR]}
step=${3:-all}
wheels=${4:-}
py=${PYTHON:-python3}
device=${DEVICE:-cuda}
epochs=${EPOCHS:+--epochs $EPOCHS}
data=$(realpath "$data") && mkdir -p "$out" && out=$(realpath "$out") || exit 2
cd "$(dirname "$0")/.."
if [ -n "$wheels" ] && ! "$py" -c "import skorch" 2>/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --target /tmp/site "$wheels"/*.whl || exit 1
fi
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$py" -c "import torch, skorch; print('torch', torch.__version__, 'skorch', skorch.__version__,
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'NO CUDA')" | tee "$out/machine.txt"
status=0
if [ "$device" = cuda ] && "$py" -c "import pytest" 2>/dev/null; then
  "$py" -m pytest -q -p no:cacheprovider tests/test_gpu_path_on_cpu.py tests/test_local_layer.py tests/test_bench.py \
    -k "not quick_bench and not memory_blow_up" 2>&1 | tail -15 | tee "$out/tests.txt" || status=1
elif [ "$device" = cuda ]; then
  echo "no pytest on this machine: the CUDA tests were not run" | tee "$out/tests.txt"
fi
if [ "$step" = bench ] || [ "$step" = all ]; then
  "$py" -m keypoints bench --device "$device" --data "$data" $epochs --out "$out/bench.json" 2>&1 | tee "$out/bench.txt" \
    || status=1
fi
if [ "$step" = train ] || [ "$step" = all ]; then
  "$py" -m keypoints train --data "$data" --preset full --device "$device" $epochs \
    --models-dir /tmp/gpu-models --reports-dir "$out/reports" > "$out/train.txt" 2>&1 || status=1
  grep -E "^(==|[a-z]+, seed [0-9]+: best|report:|Traceback|[A-Za-z]*Error)" "$out/train.txt"
  for model in /tmp/gpu-models/*.pt; do cp "$model" "$out/" || status=1; done
fi
exit $status
