"""The small-discriminator stacked-MNIST probe, checkpoint by checkpoint (``results/small_d_probe.json``,
tables by ``studies/small_d_probe.py``), and the older single 4,000-iteration probe's record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.runs.hooks import read_metrics
from studies import small_d_probe as probe
from studies.pages import common as c

PROBE = "results/small_d_probe.json"
RECORDS = "results/records/small-d-probe"
OLDER = "results/records/stacked-mnist-small-d-probe"


def steps_table(report: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    """``by_step`` with integer steps (JSON keeps them as strings), in step order."""
    return {
        name: {int(k): v for k, v in sorted(steps.items(), key=lambda kv: int(kv[0]))}
        for name, steps in report["by_step"].items()
    }


def gan_prose(table: dict[str, dict[int, dict[str, Any]]], bound: float) -> str:
    """How the plain GAN's modes grow, seed by seed, and where it leaves the collapse bound."""
    gan = table[probe.BASELINE]
    seeds = gan[min(gan)]["seeds"]
    cells = [
        f"{c.count(step)}: {c.fixed(cell['modes'])} ({', '.join(c.count(m) for m in cell['modes_seeds'])})"
        for step, cell in gan.items()
    ]
    under = [step for step, cell in gan.items() if cell["modes"] <= bound]
    last_under = max(under) if under else None
    end = max(gan)
    text = (
        "- **The plain GAN collapses, early.** Modes covered by any sample, mean over seeds "
        f"{c.seeds(seeds)} "
        f"(each seed in brackets) at each checkpoint: {'; '.join(cells)}. "
    )
    if last_under is not None and last_under < end:
        text += (
            f"It stays at or under the {c.count(bound)}-mode collapse bound until iteration "
            f"{c.count(last_under)}, then spreads over modes it covers with smudges: at "
            f"{c.count(end)} iterations {c.pct(gan[end]['hq'])} of its samples are high quality and only "
            f"{c.fixed(gan[end]['hq_modes'])} modes have a high-quality sample.\n"
        )
    return text if text.endswith("\n") else text + "\n"


def ahead(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comparisons where a run covers at least twice the plain GAN's modes."""
    return [r for r in rows if r["modes_ratio"] is not None and r["modes_ratio"] >= 2]


def ahead_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| step | run (seeds) | modes: ratio to gan | every seed above twice gan's highest | "
        "HQ modes: ratio to gan | HQ % | gan HQ % |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        clear = min(r["modes_seeds"]) > 2 * max(r["gan_modes_seeds"])
        lines.append(
            f"| {r['step']} | {r['run']} ({len(r['seeds'])}) | {c.ratio(r['modes_ratio'])} | "
            f"{'yes' if clear else 'no'} | "
            f"{'n/a' if r['hq_modes_ratio'] is None else c.ratio(r['hq_modes_ratio'])} | "
            f"{c.fixed(100 * r['hq'])} | {c.fixed(100 * r['gan_hq'])} |"
        )
    return "\n".join(lines) + "\n"


def ahead_prose(rows: list[dict[str, Any]], bound: float) -> str:
    win = ahead(rows)
    collapsed = sorted({r["step"] for r in rows})
    names = sorted({r["run"] for r in win})
    lower = all(r["hq"] < r["gan_hq"] for r in win)
    text = (
        f"- **Where gan is collapsed** (mean at most {c.count(bound)} modes: iterations "
        f"{c.listing([c.count(s) for s in collapsed])}), the runs that cover at least twice gan's modes at "
        f"some checkpoint: {c.listing([f'`{n}`' for n in names])} (table below). "
    )
    if win:
        text += "At every such checkpoint their high-quality share is " + (
            "lower than gan's: they leave the collapsed state sooner, in the direction gan itself goes "
            "a few hundred iterations later."
            if lower
            else "not always lower than gan's."
        )
    return text + "\n"


def others_prose(table: dict[str, dict[int, dict[str, Any]]], finals: dict[str, Any]) -> str:
    end = max(table[probe.BASELINE])
    lines, n_seeds = [], set()
    for name in sorted(table):
        if not name.startswith(("pacgan", "unrolled")):
            continue
        steps = table[name]
        n_seeds |= {len(cell["seeds"]) for cell in steps.values()}
        wide = next((s for s, cell in steps.items() if cell["modes"] > 1), None)
        tail = steps[max(steps)]
        if wide is None:
            verb = f"stays at 1 mode for all {c.count(max(steps))} iterations"
        else:
            before = max((s for s in steps if s < wide), default=None)
            verb = f"stays at 1 mode until {c.count(before)} iterations" if before else "spreads at once"
        line = (
            f"`{name}` {verb} and ends at {c.plural(tail['modes'], 'mode')} "
            f"(gan {c.fixed(table[probe.BASELINE][end]['modes'])})"
        )
        events = finals.get(name, [])
        if events:
            line += f"; its {c.kind(events[0]['kind'])} detector fires at iteration {events[0]['step']}"
        lines.append(line)
    seeds = c.listing(sorted(c.plural(n, "seed") for n in n_seeds), "or")
    return (
        f"- **PacGAN and unrolled GAN at this length** ({seeds} each): "
        + "; ".join(lines)
        + ". PacGAN's table (arXiv 1712.04086 T3) reports 667 modes for PacDCGAN4 and 327 for the 10-step "
        "unrolled GAN with the small D; those are end-of-training numbers with generators that draw digits.\n"
    )


def quality_prose(table: dict[str, dict[int, dict[str, Any]]]) -> str:
    gan = table[probe.BASELINE]
    few = [cell for cell in gan.values() if cell["modes"] <= 2]
    wide = [cell for steps in table.values() for cell in steps.values() if cell["modes"] > 100]
    unrolled = [
        cell["hq"] for name, steps in table.items() if name.startswith("unrolled") for cell in steps.values()
    ]
    text = (
        "- **The high-quality share is not a digit detector on such samples.** gan's collapsed checkpoints "
        f"({c.span([x['modes'] for x in few], 1)} modes) score {c.span([100 * x['hq'] for x in few], 1)} % "
        "high quality"
    )
    if unrolled:
        noise = c.span([100 * h for h in unrolled], 1)
        text += f", and the unrolled run's grey noise scores {noise} % (the figure)"
    text += (
        ': the classifier is confident on images far from any digit. So "modes with a high-quality sample" '
        "is an upper bound on modes drawn as digits, and a high HQ % at a collapsed checkpoint says "
        "nothing.\n"
    )
    if wide:
        text += (
            "- **Why the published small-D collapse (PacGAN T3: DCGAN 78.5 modes of digits) is not shown**: "
            "it needs a generator that draws digits and a D that stops it spreading; here no checkpoint with "
            f"more than 100 modes has more than {c.pct(max(x['hq'] for x in wide))} high-quality samples "
            "(mean over seeds), and every variant but unrolled spreads onto most modes with smudges. The "
            "full suite `stacked-mnist-small-d` (a GPU job, not run) is the test.\n"
        )
    return text


def older(root: Path) -> str:
    ((folder, s),) = c.summaries(root, OLDER)
    cfg = c.configs(root, OLDER)[0]
    evals = [r for r in read_metrics(folder / "metrics.jsonl") if "eval/modes_captured" in r]
    steps = "; ".join(f"{c.count(r['eval/modes_captured'])} at {c.count(r['step'])}" for r in evals)
    t, m = cfg["train"], s["metrics"]
    return (
        f"An older single probe at the same widths, {c.count(t['iters'])} iterations (`{s['variant']}`, "
        f"seed {s['seed']}, record in `{OLDER}`), evaluated on {c.count(t['eval_samples'])} samples every "
        f"{c.count(t['eval_every'])} iterations: {steps} of {c.count(m['modes_total'])} modes; its final "
        f"scoring on {c.count(cfg['scoring']['final_samples'])} samples: {c.count(m['modes_captured'])} "
        f"modes at {c.pct(m['high_quality_score'])} HQ.\n\n"
        + c.image("results/figures/stacked-mnist-small-d-gan-seed0.png", "small-D gan")
        + "\n"
    )


def build(root: Path) -> str:
    report = c.read_json(root, PROBE)
    table = steps_table(report)
    rows = report["against_gan"]
    bound = report["collapsed_at_most"]
    cfg = c.configs(root, RECORDS)
    sums = c.summaries(root, RECORDS)
    finals = {
        f"{s['variant']}" + (f"-{s['tag']}" if s.get("tag") else ""): s.get("failure_events") or []
        for _, s in sums
    }
    t = cfg[0]["train"]
    cost = {}
    for r in report["runs"]:
        cost.setdefault(r["run"], []).append(r["wall_time_s"])
    costs = c.listing([f"{n} {c.span(v, 0)} s" for n, v in sorted(cost.items())])
    runs = c.listing([f"{n} ({c.plural(len(cost[n]), 'seed')})" for n in sorted(cost)])
    return "".join(
        [
            "PacGAN's smaller-discriminator experiment (Lin et al. 2018, arXiv 1712.04086, T3: DCGAN 78.5 "
            "modes, "
            "unrolled GAN with 10 steps 327, PacDCGAN4 667 ± 29) is the suite `stacked-mnist-small-d`, too "
            "long "
            "for 2 CPU cores. This is the probe `make small-d-probe`: G base width "
            f"{t['net']['conv_width']}, D base width {t['net']['d_conv_width']}, batch {t['batch_size']}, "
            "Adam "
            f"{t['lr_d']:g} / beta1 {t['beta1']:g}, latent {t['z_dim']}, {c.count(t['iters'])} iterations, "
            "every "
            f"{c.count(t['ckpt_every'])}th iteration's checkpoint kept and scored afterwards on "
            f"{c.count(report['samples_per_checkpoint'])} samples by `python -m studies.small_d_probe`: "
            "modes "
            "covered by any sample (the papers' count), the high-quality share (classifier confidence >= "
            f"{report['hq_threshold']:g}) and the modes with at least one high-quality sample. Runs: {runs}. "
            f"Cost: {c.count(sum(sum(v) for v in cost.values()))} run-seconds on one thread each ({costs}). "
            f"Records (config, metrics, summary) in `{RECORDS}`, every checkpoint's numbers in `{PROBE}` "
            "(the "
            "checkpoints are not kept in git).\n\n",
            "## What it shows\n\n",
            gan_prose(table, bound),
            ahead_prose(rows, bound),
            others_prose(table, finals),
            quality_prose(table),
            "\n",
            ahead_table(ahead(rows)),
            "\n",
            c.image("results/figures/stacked-mnist-small-d-probe.png", "small-D probe samples"),
            "\n\n## Every checkpoint\n\n",
            probe.markdown(table, rows, report["samples_per_checkpoint"]),
            "\n## The older probe\n\n",
            older(root),
        ]
    )


PAGE = c.Page(
    name="small-d-probe",
    title="Stacked MNIST with a small discriminator: the CPU probe",
    records=(PROBE, RECORDS, OLDER),
    summary="stacked MNIST with D at a fraction of G's size, every checkpoint scored",
    build=build,
)
