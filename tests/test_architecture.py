"""The package's shape: no import cycle, training and prediction as siblings, no module over 500 lines, the version
written once."""

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


PREDICTION = ("keypoints.predict", "keypoints.predictor")
"""The prediction stage: photos and videos in, keypoints out."""

FORBIDDEN_IMPORTS = {
    **{stage: ("keypoints.training",) for stage in PREDICTION},
    "keypoints.training": PREDICTION,
    **{
        shared: ("keypoints.training", *PREDICTION)
        for shared in ("keypoints.inference", "keypoints.metrics", "keypoints.networks", "keypoints.checkpoint")
    },
}
"""Stage -> stages it never imports: training and prediction are siblings, and what both use sits below both."""


def forbidden_imports(graph, forbidden=FORBIDDEN_IMPORTS):
    """``(module, line, imported)`` for each import, anywhere in a file, that crosses a forbidden edge."""

    def within(module, stage):
        return module == stage or module.startswith(stage + ".")

    found = []
    for module, targets in sorted(graph.items()):
        for stage, banned in forbidden.items():
            if within(module, stage):
                found += [(module, line, t) for t, line in targets.items() if any(within(t, b) for b in banned)]
    return found


def test_training_and_prediction_are_siblings():
    graph, modules = import_graph(), module_files()
    crossing = [f"  {modules[m].relative_to(ROOT)}:{line} imports {t}" for m, line, t in forbidden_imports(graph)]
    assert not crossing, "imports across sibling stages (move what both need below both):\n" + "\n".join(crossing)


def test_a_forbidden_import_is_found_with_its_line():
    graph = {
        "k.predict.video": {"k.training.metrics": 4, "k.metrics": 2},
        "k.predictor": {"k.predict": 1},
        "k.predictions": {"k.training": 9},  # a name that only starts like a stage is another stage
    }
    forbidden = {"k.predict": ("k.training",), "k.predictor": ("k.training",)}
    assert forbidden_imports(graph, forbidden) == [("k.predict.video", 4, "k.training.metrics")]


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
