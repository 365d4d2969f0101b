"""The package's shape: no import cycle, layers that import only downward (the predictor's parts too), training
and prediction as siblings, no module over 500 lines, the version written once."""

import ast
import tomllib
from pathlib import Path

import keypoints

PACKAGE = Path(keypoints.__file__).resolve().parent
ROOT = PACKAGE.parent
MAX_LINES = 500


def module_files(package=PACKAGE):
    """Dotted module name -> file, for every module of the package (a package is its ``__init__.py``)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imports_of(name, path, known):
    """The package's modules that ``name`` imports anywhere in its file (functions included), with the line.

    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module,
    else ``a.b``. Parent packages that Python imports on the way are not
    counted: only what the file names.

    Returns
    -------
    dict of str to int
        Imported module -> first line that imports it.
    """
    is_package = path.name == "__init__.py"
    found = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for target in targets:
            while target and target not in known:  # `import keypoints.a.b` where b is an attribute
                target = target.rpartition(".")[0]
            if target and target != name:
                found.setdefault(target, node.lineno)
    return found


def import_graph(package=PACKAGE):
    modules = module_files(package)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycles(graph):
    """One cycle through each strongly connected group of modules (Tarjan), as lists ``[a, b, ..., a]``."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph.get(node, ())):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph, group):
    """A shortest cycle through the first module of ``group`` (breadth-first within the group)."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node]):
            if child == start:
                return paths[node] + [start]
            if child in group and child not in paths:
                paths[child] = paths[node] + [child]
                queue.append(child)
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def describe(cycle, graph, modules, root=ROOT):
    """``a -> b -> a`` followed by the file (relative to ``root``) and line of each import."""
    steps = [
        f"  {modules[a].relative_to(root)}:{graph[a][b]} imports {b}" for a, b in zip(cycle, cycle[1:], strict=False)
    ]
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def test_no_import_cycle_in_the_package():
    graph, modules = import_graph(), module_files()
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (move the shared code down a level, or compose one level up):\n" + "\n".join(
        describe(cycle, graph, modules) for cycle in cycles
    )


def stage_graph(graph):
    """The module graph collapsed to the package's stages (``keypoints.training``, ``keypoints.cli``, ...).

    Each edge keeps one module-level import behind it, as ``{stage: {stage: line}}`` of the first such
    import, and ``witness[(a, b)]`` names the two modules.
    """
    stages, witness = {}, {}
    for module, targets in graph.items():
        source = ".".join(module.split(".")[:2])
        stages.setdefault(source, {})
        for target_module, line in targets.items():
            target = ".".join(target_module.split(".")[:2])
            if target != source and target not in stages[source]:
                stages[source][target] = line
                witness[(source, target)] = (module, target_module)
    return stages, witness


def test_no_import_cycle_between_the_stages():
    """Also across packages: training -> reports -> training is a cycle even when the modules differ."""
    stages, witness = stage_graph(import_graph())
    modules = module_files()
    cycles = find_cycles(stages)
    lines = []
    for cycle in cycles:
        lines.append(" -> ".join(cycle))
        for a, b in zip(cycle, cycle[1:], strict=False):
            source, target = witness[(a, b)]
            lines.append(f"  {modules[source].relative_to(ROOT)}:{stages[a][b]} imports {target}")
    assert not cycles, "import cycles between stages (compose them one level up):\n" + "\n".join(lines)


LAYERS = (
    ("keypoints.errors", "keypoints.path_text", "keypoints.atomic", "keypoints.paths", "keypoints.guards"),
    ("keypoints.data", "keypoints.networks"),
    ("keypoints.model",),
    ("keypoints.predict", "keypoints.faces", "keypoints.predictor"),
    ("keypoints.measure",),
    ("keypoints.training",),
    ("keypoints.report", "keypoints.explain", "keypoints.bench", "keypoints.submit"),
    ("keypoints.cli", "keypoints.commands", "keypoints.__main__", "keypoints"),
)
"""The package's layers, bottom first: a module imports from its own layer or those below, never above. The
foundations; the data and the networks; the model file; the predictor; measuring (which runs the predictor and
scores it); training (which measures its networks); the reports, figures, bench and submission; the commands.
Why: docs/decisions/0085-layers-the-folders-show.md."""

PREDICT_LAYERS = (
    ("keypoints.predict.options", "keypoints.predict.inputs", "keypoints.predict.detect"),
    ("keypoints.predict.crops",),
    ("keypoints.predict.estimates",),
    ("keypoints.predict.outputs",),
    ("keypoints.predict.photo",),
    ("keypoints.predict.video",),
    ("keypoints.predict.batch", "keypoints.predict"),
)
"""The predictor's parts, bottom first: inputs, detection and the options; where faces are cut; what is estimated
beside the keypoints; what is written; one photo; a video (frames are photos); a run over many inputs."""

TRAINING_FROM_PREDICTION = {
    "keypoints.training.photo_faces": (
        "keypoints.predict.options",
        "keypoints.predict.inputs",
        "keypoints.predict.detect",
        "keypoints.predict.crops",
    ),
}
"""Training and prediction are siblings: training's one way into the predictor is to cut its photo faces exactly
as the predictor cuts them (the detector, the reading, the framing), and only in this module."""

PREDICTION = LAYERS[3]
"""The predictor's layer: what training may not import, but for ``TRAINING_FROM_PREDICTION``."""


def _within(module, unit):
    return module == unit or module.startswith(unit + ".")


def layer_of(module, layers):
    """Index of the layer whose unit holds ``module`` (the longest unit that does), or None."""
    matches = [(len(unit), k) for k, units in enumerate(layers) for unit in units if _within(module, unit)]
    return max(matches)[1] if matches else None


def upward_imports(graph, layers, within=None):
    """``(module, line, imported)`` for each import of a higher layer; modules in no layer as ``(module, 0, None)``.

    ``within``: only modules and imports inside this package (the predictor's own layers).
    """
    found = []
    for module, targets in sorted(graph.items()):
        if within and not _within(module, within):
            continue
        rank = layer_of(module, layers)
        if rank is None:
            found.append((module, 0, None))
            continue
        for target, line in targets.items():
            if within and not _within(target, within):
                continue
            target_rank = layer_of(target, layers)
            if target_rank is not None and target_rank > rank:
                found.append((module, line, target))
    return found


def _say(found, modules):
    return "\n".join(
        f"  {module} is in no layer: add it to LAYERS"
        if target is None
        else f"  {modules[module].relative_to(ROOT)}:{line} imports {target}"
        for module, line, target in found
    )


def test_every_module_imports_only_its_own_layer_or_those_below():
    graph, modules = import_graph(), module_files()
    found = upward_imports(graph, LAYERS)
    assert not found, "imports of a higher layer (move the shared code down, or compose one layer up):\n" + _say(
        found, modules
    )


def test_the_predictors_parts_import_only_their_own_level_or_those_below():
    graph, modules = import_graph(), module_files()
    found = upward_imports(graph, PREDICT_LAYERS, within="keypoints.predict")
    assert not found, "imports of a higher part of the predictor:\n" + _say(found, modules)


def prediction_imports_from_training(graph, allowed=TRAINING_FROM_PREDICTION):
    """``(module, line, imported)`` for each import by training of the predictor that ``allowed`` does not name."""
    found = []
    for module, targets in sorted(graph.items()):
        if not _within(module, "keypoints.training"):
            continue
        for target, line in targets.items():
            if any(_within(target, stage) for stage in PREDICTION):
                if not any(_within(target, unit) for unit in allowed.get(module, ())):
                    found.append((module, line, target))
    return found


def test_training_reaches_the_predictor_only_to_cut_faces_as_it_does():
    graph, modules = import_graph(), module_files()
    found = prediction_imports_from_training(graph)
    assert not found, "training importing the predictor (it may only cut faces as it does):\n" + _say(found, modules)


def test_an_upward_import_is_found_with_its_line_and_an_unplaced_module_named():
    layers = (("k.low",), ("k.mid",), ("k.top", "k"))
    graph = {
        "k.low.a": {"k.mid.b": 4, "k.low.c": 1},
        "k.low.c": {},
        "k.mid.b": {"k.low.a": 2, "k.top": 3},
        "k.top": {"k.mid.b": 1},
        "k.stray": {},  # falls under the package "k": the top layer
        "j.other": {},
    }
    assert upward_imports(graph, layers) == [
        ("j.other", 0, None),
        ("k.low.a", 4, "k.mid.b"),
        ("k.mid.b", 3, "k.top"),
    ]
    assert layer_of("k.midway", layers) == 2  # a name that only starts like a unit is not in it


def test_training_may_import_only_the_named_parts_of_the_predictor():
    graph = {
        "keypoints.training.photo_faces": {"keypoints.predict.crops.framing": 3, "keypoints.predict.photo.pipeline": 5},
        "keypoints.training.trainer": {"keypoints.predict.detect": 7, "keypoints.predictor": 8},
        "keypoints.measure.photos": {"keypoints.predict.photo.pipeline": 1},
    }
    allowed = {"keypoints.training.photo_faces": ("keypoints.predict.crops",)}
    assert prediction_imports_from_training(graph, allowed) == [
        ("keypoints.training.photo_faces", 5, "keypoints.predict.photo.pipeline"),
        ("keypoints.training.trainer", 7, "keypoints.predict.detect"),
        ("keypoints.training.trainer", 8, "keypoints.predictor"),
    ]


def test_the_stage_graph_keeps_one_import_behind_each_edge():
    graph = {"k.a.x": {"k.b.y": 3, "k.a.z": 1}, "k.a.z": {"k.b.w": 7}, "k.b.y": {}, "k.b.w": {"k.a": 2}, "k.a": {}}
    stages, witness = stage_graph(graph)
    assert stages == {"k.a": {"k.b": 3}, "k.b": {"k.a": 2}}
    assert witness == {("k.a", "k.b"): ("k.a.x", "k.b.y"), ("k.b", "k.a"): ("k.b.w", "k.a")}
    assert find_cycles(stages) == [["k.a", "k.b", "k.a"]]


def test_no_module_is_over_500_lines():
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in module_files().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines (split them by job): {too_long}"


def write_package(root, files):
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_import_walk_sees_imports_in_functions_and_relative_ones_and_names_the_cycle(tmp_path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "import os\nfrom pkg import b\n",
            "b.py": "def late():\n    from .sub.c import thing\n",
            "sub/__init__.py": "",
            "sub/c.py": "import pkg.a.something\nthing = 1\n",
            "d.py": "from pkg.sub import c\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b": 2} and graph["pkg.b"] == {"pkg.sub.c": 2}
    assert graph["pkg.sub.c"] == {"pkg.a": 1} and graph["pkg.d"] == {"pkg.sub.c": 1}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]
    text = describe(find_cycles(graph)[0], graph, module_files(package), root=tmp_path)
    assert text.splitlines() == [
        "pkg.a -> pkg.b -> pkg.sub.c -> pkg.a",
        "  pkg/a.py:2 imports pkg.b",
        "  pkg/b.py:2 imports pkg.sub.c",
        "  pkg/sub/c.py:1 imports pkg.a",
    ]


def test_a_package_without_cycles_passes(tmp_path):
    package = write_package(
        tmp_path, {"__init__.py": "from pkg.a import x\n", "a.py": "x = 1\n", "b.py": "import pkg\n"}
    )
    graph = import_graph(package)
    assert graph == {"pkg": {"pkg.a": 1}, "pkg.a": {}, "pkg.b": {"pkg": 1}}
    assert find_cycles(graph) == []


def test_the_version_is_the_one_in_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert keypoints.__version__ == project["version"]  # read from the installed metadata
    written = [
        str(path.relative_to(ROOT)) for path in module_files().values() if project["version"] in path.read_text()
    ]
    assert written == []
