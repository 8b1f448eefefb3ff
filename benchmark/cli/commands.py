"""What each ``mcbench`` command does, given its parsed arguments; each returns the exit code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from baselines import registry
from baselines.errors import ConfigError
from benchmark.cli.parser import _data_options, _key_values, _train_overrides
from benchmark.data import registry as dataset_registry
from benchmark.runs.records import RECORDS_ROOT, finished_runs, sync


def cannot_write(flag: str, path: Path, exc: OSError) -> ConfigError:
    """One line for an output that failed after the up-front checks (disk full, permissions changed)."""
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return ConfigError(f"{flag} {path}: {exc.strerror or exc}{where}")


def _cmd_run(args: argparse.Namespace) -> int:
    from benchmark.runs.run import RunSpec, run

    spec = RunSpec(
        args.dataset,
        args.variant,
        args.seed,
        _train_overrides(args),
        _key_values(args.set),
        args.tag,
        data=_data_options(args),
    )
    summary = run(spec, args.out, progress=True, snapshots=args.keep_checkpoints)
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
    from benchmark.reports.tables import render

    if not args.dir.is_dir():
        raise ConfigError(f"{args.dir} is not a folder")
    try:
        text = render(args.dir, args.format)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    if args.control is not None:  # each dataset's comparison after the table, built before anything prints
        from benchmark.reports.compare_text import comparison_tables
        from benchmark.reports.tables import load_runs

        text += "\n" + comparison_tables(load_runs(args.dir), args.control, args.format)
    if args.out:
        from baselines.atomic import write_text

        try:
            write_text(args.out, text)
        except OSError as exc:
            raise cannot_write("--out", args.out, exc) from None
    else:
        print(text, end="")
    if args.curves:
        from benchmark.reports.curves import learning_curve_plots

        try:
            plots = learning_curve_plots(args.dir, args.curves)
        except OSError as exc:
            raise cannot_write("--curves", args.curves, exc) from None
        for path in plots.values():
            print(f"written: {path}", file=sys.stderr)
    return 0


def _cmd_list(_: argparse.Namespace) -> int:
    import diagnostics
    from benchmark.runs.suite import suite_names

    print("datasets:")
    for entry in dataset_registry.entries():  # from the registry, without building (carracing renders)
        print(f"  {entry.display_name:32s} {entry.description}")
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
    from benchmark.reports.tables import write_tables
    from benchmark.runs.suite import load_suite, run_suite

    if args.backend == "ray":
        from benchmark.runs.ray_backend import require_ray

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
        batch=args.batch,
    )
    source = records if records is not None else out  # what the tables and report are built from
    paths = write_tables(source, tables, stem=suite.name)
    bad = [r for r in results if r.get("status") != "ok"]
    print(f"{len(results) - len(bad)}/{len(results)} runs ok; tables: {', '.join(map(str, paths))}")
    for r in bad:
        print(f"  {r['dataset']}/{r['variant']}/seed{r['seed']}: {r['status']} {r.get('error', '')}")
    from benchmark.reports.report import write_report

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
    from benchmark.reports.report import write_report

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
    from benchmark.reports.regress import parse_seeds, run_gate

    seeds = parse_seeds(args.seeds)
    if args.suite is None:
        from benchmark.gate.gate import run_gate as run_checks

        if seeds:
            raise ConfigError(
                "--seeds is for --suite; a gate file names its seeds (seeds, calibration_seeds)"
            )
        return run_checks(
            args.gate or "mitigations",
            args.baseline,
            update=args.update,
            out=args.out,
            jobs=args.jobs,
            threads=args.threads,
            progress=sys.stderr.isatty(),
        )
    if args.gate:
        raise ConfigError("give --gate or --suite, not both")
    return run_gate(
        args.suite,
        args.baseline,
        update=args.update,
        seeds=seeds,
        out=args.out,
        jobs=args.jobs,
        threads=args.threads,
        progress=sys.stderr.isatty(),
    )


def _cmd_classifiers(args: argparse.Namespace) -> int:
    from baselines.atomic import write_json
    from benchmark.data.classifiers import classifier_for, report

    names = args.dataset or ["mnist", "stacked-mnist", "carracing"]
    options = _data_options(args)
    reports = json.loads(args.out.read_text()) if args.out.exists() else {}
    for name in names:
        if not dataset_registry.is_image(name):
            raise ConfigError(f"{name!r} is not an image dataset; mode classifiers exist for images only")
        dataset = dataset_registry.get_dataset(name, **options)
        info = report(dataset, classifier_for(dataset, options.get("cache_dir"), verbose=True))
        reports[name] = info
        trained = f", trained in {info['train_seconds']:.0f} s" if info.get("train_seconds") else " (cached)"
        per = " per channel" if info["per_channel"] else ""
        print(
            f"{name}: held-out accuracy{per} {100 * info['held_out_accuracy']:.2f} % on "
            f"{info['held_out_images']:,} images ({info['held_out_split']}){trained}"
        )
        try:
            write_json(args.out, reports)
        except OSError as exc:
            raise cannot_write("--out", args.out, exc) from None
    print(f"written: {args.out}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from benchmark.compare.command import run_command

    return run_command(args, _data_options(args))


def _cmd_diagnose(args: argparse.Namespace) -> int:
    from benchmark.diagnose.command import run_command

    args.data_options = _data_options(args)
    return run_command(args)


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
    "compare": _cmd_compare,
}
