"""The front door cannot rot: every command block of the README and of the DCGAN walkthrough runs as
shown, in a folder outside the checkout that holds the user's files the text talks about
(``digits/``, ``train.log``, ``fake_samples.npy``, ``netG.pt2``: see the ``dcgan_user_files`` fixture).

A block may be left out only with its reason on the line before it, ``<!-- slow: REASON -->`` (long
training, run by its make target) or ``<!-- not run: REASON -->`` (it needs the network or someone
else's script); the test prints the reasons it honoured.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("README.md", "docs/walkthrough-dcgan.md")
BLOCK = re.compile(r"(?:<!--\s*(slow|not run):\s*(.*?)\s*-->\s*\n)?```(sh|python)\n(.*?)```", re.S)
README_MAX_LINES = 250


def blocks(page: str) -> list[tuple[str, str, str | None, str]]:
    """(id, language, skip reason or None, code) of every ``sh``/``python`` block of ``page``."""
    text = (ROOT / page).read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        kind, reason, lang, code = m.groups()
        line = text[: m.start(3)].count("\n") + 1
        out.append((f"{page}:{line}", lang, f"{kind}: {reason}" if kind else None, code))
    return out


ALL = [b for page in PAGES for b in blocks(page)]


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"
    langs = {lang for _, lang, _, _ in blocks("README.md")}
    assert langs == {"sh", "python"}, "the README's quick starts have shell and Python blocks"


def test_the_block_finder_sees_reasons():
    page = "x\n<!-- slow: trains for hours -->\n```sh\nmake benchmark\n```\n```python\nprint(1)\n```"
    found = BLOCK.findall(page)
    assert found == [("slow", "trains for hours", "sh", "make benchmark\n"), ("", "", "python", "print(1)\n")]


@pytest.mark.parametrize("where,lang,skip,code", ALL, ids=[b[0] for b in ALL])
def test_command_block_runs_as_shown(where, lang, skip, code, dcgan_user_files):
    if skip is not None:
        assert len(skip.split(":", 1)[1].strip()) > 10, f"{where}: a block left out needs its reason"
        pytest.skip(f"{where} {skip}")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    env["OMP_NUM_THREADS"] = "1"
    argv = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
    proc = subprocess.run(argv, cwd=dcgan_user_files, env=env, capture_output=True, text=True, timeout=600)
    output = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"{where}: exit {proc.returncode}\n{output}"
    assert "Traceback" not in proc.stderr, f"{where}:\n{proc.stderr[-3000:]}"
