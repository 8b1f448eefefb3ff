"""``mcbench``: run, aggregate and list. Bad input prints one line and exits with code 2.

The parser lives in :mod:`benchmark.cli.parser`, each command in :mod:`benchmark.cli.commands`;
this module checks the output paths a command names before any work and turns a configuration
error into one line on standard error."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from baselines import registry
from baselines.errors import ConfigError
from benchmark.cli.commands import COMMANDS
from benchmark.cli.parser import build_parser

# Output paths of each command (option -> a folder or a file), checked before any work is done.
OUTPUTS = {
    "run": {"out": "folder"},
    "table": {"out": "file", "curves": "folder"},
    "suite": {"out": "folder", "tables": "folder", "report": "folder", "records": "folder"},
    "report": {"out": "folder"},
    "records": {"into": "folder"},
    "regress": {"out": "folder", "baseline": "file"},
    "classifiers": {"out": "file"},
    "diagnose": {"out": "file"},
    "compare": {"out": "folder"},
}


def check_output(flag: str, path: Path, kind: str) -> None:
    """Raise ConfigError unless ``path`` can be written as a ``kind`` ("folder" or "file"): nothing
    of the other kind in the way, and the nearest existing folder above it writable."""
    path = Path(path)
    if path.exists() and (path.is_dir() != (kind == "folder")):
        raise ConfigError(
            f"{flag} {path}: a {'file' if kind == 'folder' else 'folder'} is in the way of the {kind}"
        )
    above = path if kind == "folder" and path.exists() else path.parent
    while not above.exists():
        above = above.parent
    if not above.is_dir():
        raise ConfigError(f"{flag} {path}: {above} is a file, not a folder")
    if not os.access(above, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: {above} is not writable")


def _take_plugins(argv: list[str]) -> list[str]:
    """Remove ``--plugin MODULE`` pairs from ``argv``; set ``MCBENCH_PLUGINS``
    so that this process and every worker it starts import those modules (their variants register)."""
    plugins, rest, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--plugin" and i + 1 < len(argv):
            plugins.append(argv[i + 1])
            i += 2
            continue
        if a.startswith("--plugin="):
            plugins.append(a.split("=", 1)[1])
        else:
            rest.append(a)
        i += 1
    if plugins:
        old = [m for m in os.environ.get(registry.PLUGINS_ENV, "").split(",") if m]
        os.environ[registry.PLUGINS_ENV] = ",".join(dict.fromkeys(old + plugins))
    return rest


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: a pipe closed early fails here, not in the interpreter's exit
        return code
    except BrokenPipeError:  # `mcbench list | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's final flush does not fail too
        return 0


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv = _take_plugins(argv)
        registry.load_plugins()
    except ConfigError as exc:
        print(f"mcbench: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        valid = sorted(o for a in sub.choices[args.command]._actions for o in a.option_strings)
        parser.error(
            f"unrecognized arguments: {' '.join(extra)}; valid options of "
            f"'{args.command}': {', '.join(valid)}"
        )
    try:
        for attr, kind in OUTPUTS.get(args.command, {}).items():
            if getattr(args, attr, None) is not None:
                check_output(f"--{attr}", getattr(args, attr), kind)
        return COMMANDS[args.command](args)
    except (ConfigError, ValueError) as exc:
        print(f"mcbench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
