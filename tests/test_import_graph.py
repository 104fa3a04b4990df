"""The package's modules import one another in one direction only: no import cycle, counting imports
inside functions (a lazy import still couples the modules) and resolving relative imports."""

from __future__ import annotations

import ast
from pathlib import Path

import mgrade_edge

PACKAGE = Path(mgrade_edge.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports (a `from pkg import name` counts pkg.name when that
    is a module, else pkg)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a package attribute
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "mgrade_edge.errors" in graph["mgrade_edge.cli"]  # module-level relative import
    assert "mgrade_edge.checkpoint" in graph["mgrade_edge.cli"]  # inside a function (it imports torch)
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_pipeline_sits_above_export_and_validate():
    """Exporters never reach up to the validator or the pipeline; the pipeline uses both."""
    graph = import_graph()
    uses = graph["mgrade_edge.pipeline"]
    assert "mgrade_edge.validate" in uses and any(m.startswith("mgrade_edge.export") for m in uses)
    for module, edges in graph.items():
        if module.startswith("mgrade_edge.export"):
            assert not edges & {"mgrade_edge.validate", "mgrade_edge.pipeline"}, module


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same edges between top-level units: a subpackage (export, board, ...) or a top-level module."""
    def unit(module: str) -> str:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else parts[0]

    packages: dict[str, set[str]] = {}
    for module, edges in graph.items():
        packages.setdefault(unit(module), set()).update(unit(e) for e in edges if unit(e) != unit(module))
    return packages


def test_packages_import_one_way():
    found = cycles(package_graph(import_graph()))
    assert not found, "package import cycles: " + "; ".join(" <-> ".join(c) for c in found)
    assert cycles(package_graph({"p.a.x": {"p.b.y"}, "p.b.y": {"p.a.z"}, "p.a.z": set()})) == [["a", "b"]]


def test_the_registry_and_the_manifest_reader_sit_below_export_board_and_runtime():
    packages = package_graph(import_graph())
    for low in ("targets", "manifest"):
        assert not packages[low] & {"export", "board", "runtime", "pipeline", "cli", "validate"}, low
    assert "export" not in packages["runtime"] and "export" not in packages["board"]


# Imported inside functions so that `--help`, listing targets and reading a manifest never load them.
HEAVY = ("torch", "tensorflow", "onnx", "onnxruntime", "ai_edge_litert", "tflite_micro", "matplotlib", "scipy",
         "sklearn")
# Optional third-party packages, imported where used so that their absence is one clear error there.
OPTIONAL = ("espeakng_loader",)


def top_level_imports() -> dict[str, set[str]]:
    """module -> what it imports when it is imported (module level, including inside if/try)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    found = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        found[name] = {target for node in tree.body if not isinstance(node, (ast.FunctionDef, ast.ClassDef))
                       for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom))
                       for target in resolved_targets(name, path, sub, modules)}
    return found


def resolved_targets(name: str, path: Path, node, modules) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
    targets = []
    for alias in node.names:
        target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
        while target.startswith("mgrade_edge.") and target not in modules:
            target = target.rpartition(".")[0]
        targets.append(target)
    return targets


def loads_heavy(target: str, top: dict[str, set[str]], seen: frozenset = frozenset()) -> bool:
    """Whether importing `target` loads a heavy framework (through the package's module-level imports)."""
    if not target.startswith("mgrade_edge"):
        return target.split(".")[0] in HEAVY
    return any(loads_heavy(t, top, seen | {target}) for t in top.get(target, ()) if t not in seen | {target})


def test_imports_inside_functions_are_only_for_heavy_frameworks():
    """An import inside a function must lead to torch, TensorFlow, ONNX, LiteRT, TFLite Micro (or matplotlib,
    scipy, scikit-learn), directly or through a package module that imports one at its top; everything else is imported
    at the top of the module, where a reader sees a module's dependencies."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    top = top_level_imports()
    misplaced = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                for target in resolved_targets(name, path, node, modules):
                    if not loads_heavy(target, top) and target.split(".")[0] not in OPTIONAL:
                        misplaced.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {target}")
    assert not misplaced, "light imports inside functions (move them to the top):\n" + "\n".join(sorted(set(misplaced)))


def test_the_lazy_import_rule_can_fail():
    top = {"mgrade_edge.a": {"numpy"}, "mgrade_edge.b": {"mgrade_edge.c"}, "mgrade_edge.c": {"torch"}}
    assert not loads_heavy("mgrade_edge.a", top) and loads_heavy("mgrade_edge.b", top) and loads_heavy("torch", top)
