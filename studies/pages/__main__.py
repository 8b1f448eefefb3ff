"""Write every results page: ``python -m studies.pages --out docs/results [--root .]``.

Pages in OUT that the generator no longer writes are removed, so OUT always holds exactly its pages;
README.md's headline block (between its markers) is filled from the same records.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studies.pages import readme, render_all


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Generate docs/results/*.md from the committed records.")
    p.add_argument("--out", type=Path, default=Path("docs/results"))
    p.add_argument("--root", type=Path, default=Path("."), help="the checkout (default: the current folder)")
    p.add_argument(
        "--readme", type=Path, default=Path("README.md"), help="whose headline block to fill (ROOT/README.md)"
    )
    args = p.parse_args(argv)
    pages = render_all(args.root)
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(set(f.name for f in args.out.glob("*.md")) - set(pages)):
        (args.out / stale).unlink()
    for name, text in sorted(pages.items()):
        (args.out / name).write_text(text, encoding="utf-8")
        print(args.out / name)
    target = args.root / args.readme
    text = target.read_text(encoding="utf-8")
    filled = readme.fill(text, args.root)
    if filled != text:
        target.write_text(filled, encoding="utf-8")
    print(f"{target} (headline block)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
