"""No module of the project's packages may exceed 400 lines; split a module by job before it does."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "baselines", "diagnostics")
MAX_LINES = 400


def oversized(paths: list[Path], limit: int = MAX_LINES) -> list[str]:
    """``"path: N lines"`` for every file in ``paths`` longer than ``limit`` lines (``splitlines``)."""
    out = []
    for path in sorted(paths):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > limit:
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            out.append(f"{shown}: {n} lines")
    return out


def test_no_module_exceeds_the_line_limit():
    paths = [path for pkg in PACKAGES for path in (ROOT / pkg).rglob("*.py")]
    assert paths, "found no modules to check"
    too_long = oversized(paths)
    assert not too_long, f"modules over {MAX_LINES} lines:\n" + "\n".join(too_long)


def test_the_check_catches_a_module_one_line_over(tmp_path):
    at_limit = tmp_path / "at_limit.py"
    over = tmp_path / "over.py"
    at_limit.write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    over.write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    assert oversized([at_limit, over]) == [f"{over}: {MAX_LINES + 1} lines"]
