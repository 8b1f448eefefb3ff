"""The results pages under ``docs/results/``, generated from the committed records by one command:

    python -m studies.pages --out docs/results        # make docs

One module per page (``PAGE``: file name, title, the records it reads, ``build(root)``); ``PAGES``
lists them in the order of the index. ``render_all(root)`` returns every file's text, the index
included, so a test can compare them with the committed pages without writing anything.
"""

from __future__ import annotations

from pathlib import Path

from studies.pages import (
    carracing,
    classifiers,
    gate_power,
    goal,
    headline,
    monitor,
    performance,
    small_d,
    temperature,
)
from studies.pages.common import COMMAND, Page, header

PAGES: tuple[Page, ...] = (
    headline.PAGE,
    goal.PAGE,
    temperature.PAGE,
    small_d.PAGE,
    carracing.PAGE,
    classifiers.PAGE,
    gate_power.PAGE,
    monitor.PAGE,
    performance.PAGE,
)


def index(pages: tuple[Page, ...] = PAGES) -> str:
    lines = [
        "# Results",
        "",
        f"Every page here is generated from the committed records by `{COMMAND}` (`make docs`); the",
        "hand-written reference is one level up ([../index.md](../index.md)). Each page names the records",
        "it reads and the protocol of each table.",
        "",
        "| page | what | records |",
        "|---|---|---|",
    ]
    for p in pages:
        files = ", ".join(f"`{r}`" for r in p.records)
        lines.append(f"| [{p.title}]({p.name}.md) | {p.summary} | {files} |")
    return "\n".join(lines) + "\n"


def render_all(root: Path, pages: tuple[Page, ...] = PAGES) -> dict[str, str]:
    """File name -> text of every page and of ``index.md``."""
    out = {f"{p.name}.md": header(p) + p.build(Path(root)) for p in pages}
    out["index.md"] = index(pages)
    return out
