"""The layout's rules, checked on the source: arrows only downwards, no import cycles, small modules.

Layers (see the README's architecture section): ``diagnostics`` imports neither of the other two
packages; ``baselines`` never imports ``benchmark``; inside ``benchmark`` the subpackages form the
order below, and a module may import only from its own subpackage or from one lower down. Every
import counts, including those inside functions (a lazy import is still an arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("diagnostics", "baselines", "benchmark")
STUDIES = "studies"  # one-off studies beside the product: they may import it, it never imports them
# benchmark's subpackages, lowest first; a module imports only from its level or below.
BENCHMARK_LEVELS = {
    "data": 0,
    "runs": 1,
    "reports": 2,
    "diagnose": 2,
    "perf": 2,
    "gate": 3,
    "compare": 3,
    "cli": 4,
    "__main__": 5,
}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules that ``name`` imports (resolving relative imports and ``from pkg import mod``)."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = here[: len(here) - (node.level - 1)]
                base = ".".join(prefix + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == STUDIES:
                found.add(STUDIES)
                continue
            while target and target not in known:  # an attribute of a module: its module
                target = target.rpartition(".")[0]
            if target and target != name and target.split(".")[0] in PACKAGES:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def _is_ancestor_package(a: str, b: str) -> bool:
    return b.startswith(a + ".")


def test_layers_point_downwards():
    wrong = []
    for mod, deps in graph().items():
        top = mod.split(".")[0]
        for dep in deps:
            dtop = dep.split(".")[0]
            if dtop == STUDIES:
                wrong.append(f"{mod} -> {dep} (the installed packages never import studies/)")
                continue
            if top == "diagnostics" and dtop != "diagnostics":
                wrong.append(f"{mod} -> {dep} (diagnostics imports neither baselines nor benchmark)")
            if top == "baselines" and dtop == "benchmark":
                wrong.append(f"{mod} -> {dep} (baselines never imports benchmark)")
            if top == dtop == "benchmark" and mod.count(".") and dep.count("."):
                here = BENCHMARK_LEVELS.get(mod.split(".")[1])
                there = BENCHMARK_LEVELS.get(dep.split(".")[1])
                assert here is not None, f"{mod}: benchmark subpackage missing from BENCHMARK_LEVELS"
                assert there is not None, f"{dep}: benchmark subpackage missing from BENCHMARK_LEVELS"
                if there > here:
                    wrong.append(f"{mod} -> {dep} (upwards inside benchmark)")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    g = {m: {d for d in deps if not _is_ancestor_package(d, m)} for m, deps in graph().items()}
    # A package's __init__ importing its own modules is not a cycle in the sense that matters here
    # (the modules never import the package back); drop those edges and find cycles among the rest.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(g.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path, monkeypatch):
    """The two checks above must be able to fail: a toy tree with a cycle and an upward arrow."""
    for rel, text in {
        "benchmark/__init__.py": "",
        "benchmark/data/__init__.py": "",
        "benchmark/data/a.py": "from benchmark.reports import b\n",
        "benchmark/reports/__init__.py": "",
        "benchmark/reports/b.py": "def f():\n    from benchmark.data import a\n",
        "benchmark/reports/c.py": "from studies import goal_check\n",
        "diagnostics/__init__.py": "import baselines\n",
        "baselines/__init__.py": "",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="upwards inside benchmark") as err:
        test_layers_point_downwards()
    assert "never import studies" in str(err.value)
    with pytest.raises(AssertionError, match="import cycles"):
        test_no_import_cycles()
