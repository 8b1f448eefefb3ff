"""The ``mcbench`` command line: flags, their conversion to configurations, the parser."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from baselines import registry
from baselines.config import TrainConfig, at_least, parse_scalar
from baselines.errors import ConfigError
from benchmark.data import registry as dataset_registry
from benchmark.data.registry import OPTIONS as DATASET_OPTIONS

NET_FLAGS = {  # -> TrainConfig.net fields
    "hidden": int,
    "g_layers": int,
    "d_layers": int,
    "conv_width": int,
    "d_norm": str,
    "d_conv_width": int,
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
    out = {k: getattr(args, k) for k in DATASET_OPTIONS if getattr(args, k, None) not in (None, False)}
    return out


def output_file(text: str) -> Path:
    """The argparse type of an option that names a file to write (``--out`` of table, diagnose and
    classifiers): its folder must exist and be writable, and no folder may stand at the path. Checked
    as the options are read, so before any work, in one line; a mistyped folder is named, not created
    (folder options such as ``suite --tables`` create theirs, checked by ``benchmark.cli.check_output``)."""
    path = Path(text)
    folder = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: a folder is in the way of the file")
    if folder.exists() and not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: {folder} is a file, not a folder")
    if not folder.exists():
        raise argparse.ArgumentTypeError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{path}: folder {folder} is not writable")
    return path


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    for key, (typ, text) in DATASET_OPTIONS.items():  # the dataset registry's options, one flag each
        flag = f"--{key.replace('_', '-')}"
        if typ is bool:
            p.add_argument(flag, action="store_true", help=text)
        else:
            p.add_argument(flag, type=typ, default=None, help=text)


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


def _version() -> str:
    """The installed distribution's version (the source tree's when run from a checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mode-collapse-bench")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _add_runner_flags(p: argparse.ArgumentParser, jobs: bool = True) -> None:
    """How many runs at once and where: the local pool or Ray (suite and compare)."""
    if jobs:
        p.add_argument("--jobs", type=at_least(1), default=1, help="parallel processes (threads are divided)")
    p.add_argument(
        "--threads", type=at_least(1), default=None, help="threads per run (default: cores / jobs; 1 on Ray)"
    )
    p.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local process pool, or one Ray task per run (pip install 'mode-collapse-bench[ray]')",
    )
    p.add_argument(
        "--address", default=None, help="Ray cluster: auto or HOST:PORT (default: start a local Ray)"
    )
    p.add_argument(
        "--batch",
        type=at_least(1),
        default=None,
        help="train up to this many seeds of a dataset and variant as one batched model "
        "(default: up to 64 on a GPU; 1, one run at a time, on a CPU, where it measured no faster)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mcbench", description="Diagnose and benchmark GAN mode collapse.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(  # taken out of argv by benchmark.cli.main before parsing; listed for --help
        "--plugin",
        action="append",
        metavar="MODULE",
        help="import MODULE first (it registers the user's own variants; also MCBENCH_PLUGINS)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="train one (dataset, variant, seed) and write its run folder")
    p.add_argument("--dataset", required=True, help=f"one of {', '.join(dataset_registry.names())}")
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
    p.add_argument(
        "--keep-checkpoints",
        action="store_true",
        help="also keep a copy of every checkpoint (snapshots/stepN.pt) to score the generator along the way",
    )
    _add_train_flags(p)
    _add_data_flags(p)

    p = sub.add_parser(
        "classifiers", help="train (or load) the mode classifiers of image datasets; print and store accuracy"
    )
    p.add_argument("--dataset", action="append", default=None, help="repeatable; default: every image set")
    # The default's folder is created when missing; a folder typed by the user must exist (output_file).
    p.add_argument("--out", type=output_file, default=Path("results/classifiers.json"))
    _add_data_flags(p)

    p = sub.add_parser("table", help="aggregate every run under DIR: mean [95 %% t interval] over seeds")
    p.add_argument("dir", type=Path)
    p.add_argument("--format", choices=["md", "csv", "tex"], default="md")
    p.add_argument("--out", type=output_file, help="write to this file instead of standard output")
    p.add_argument("--curves", type=Path, help="also draw learning_curves_DATASET.png into this folder")
    p.add_argument(
        "--control",
        metavar="VARIANT",
        help="also compare every variant with VARIANT per dataset (paired t over seeds, Holm; md or csv)",
    )

    sub.add_parser("list", help="datasets, variants, diagnostics and suites that exist")

    p = sub.add_parser("suite", help="run a named suite (benchmark/suites/NAME.toml) and write its tables")
    p.add_argument("name")
    p.add_argument("--jobs", type=at_least(1), default=1, help="parallel processes (threads are divided)")
    p.add_argument("--out", type=Path, default=None, help="run records (default results/runs/NAME)")
    p.add_argument("--tables", type=Path, default=None, help="table folder (default results/tables)")
    p.add_argument("--iters", type=int, default=None, help="override the suite's iterations")
    _add_runner_flags(p, jobs=False)
    _add_data_flags(p)
    p.add_argument("--report", type=Path, default=None, help="report folder (default results/reports/NAME)")
    p.add_argument(
        "--records",
        type=Path,
        default=None,
        help="keep finished runs here, skip those already kept, build tables from them "
        "(default results/records/NAME for suites with records = true)",
    )

    p = sub.add_parser("compare", help="which mitigation fixes collapse on this data? a panel against gan")
    from benchmark.compare.command import add_arguments as add_compare_arguments

    add_compare_arguments(p)
    _add_runner_flags(p)
    _add_data_flags(p)

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
    p.add_argument(
        "--gate", default=None, help="gate name (benchmark/gate/NAME.toml) or TOML path (default mitigations)"
    )
    p.add_argument(
        "--suite",
        default=None,
        help="instead of a gate: compare a plain suite's cell means (the older rule; no stated power)",
    )
    p.add_argument("--baseline", type=Path, default=None, help="default results/baselines/NAME.json")
    p.add_argument("--update", action="store_true", help="rewrite (calibrate) the baseline on purpose")
    p.add_argument("--seeds", default=None, help="--suite only: comma-separated seeds (default: at least 2)")
    p.add_argument("--out", type=Path, default=None, help="keep run records here (default: a temp folder)")
    p.add_argument("--jobs", type=at_least(1), default=2, help="parallel processes (default 2)")
    p.add_argument(
        "--threads", type=at_least(1), default=None, help="threads per run (default: cores / jobs)"
    )

    p = sub.add_parser("diagnose", help="verdict on any GAN's samples: collapsed, partially, healthy")
    from benchmark.diagnose.command import add_arguments as add_diagnose_arguments

    add_diagnose_arguments(p, out_type=output_file)
    _add_data_flags(p)
    return parser
