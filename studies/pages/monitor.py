"""The collapse monitor, measured: its cost (``results/perf_monitor.json``), a real Lightning run with
a fault (``results/monitor_demo/``) and every detector's false alarms
(``results/detector_false_alarms.json``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from studies import detector_false_alarms as fa
from studies.pages import common as c

COST = "results/perf_monitor.json"
DEMO = "results/monitor_demo"
ALARMS = "results/detector_false_alarms.json"
SAMPLE_KINDS = ("mode_collapse", "modes_missing", "duplicates")


def cost(p: dict[str, Any]) -> str:
    share = next(k for k in sorted(p) if k.startswith("build_share_of_"))
    steps = int(re.search(r"\d+", share).group())
    seg = p["segments_with_s"] + p["segments_without_s"]
    inside = p["monitor_code_s"]
    spread = (max(seg) - min(seg)) / p["median_without_s"]
    verdict = (
        "only show that the monitor costs less than the machine's own drift between segments"
        if abs(p["overhead"]) < spread
        else "show the monitor's cost above the drift between segments"
    )
    return (
        f"**What it costs** (`make perf-monitor`: `{p['command']}`). The tutorial DCGAN on MNIST, "
        f"{p['threads']} thread, {c.fixed(p['train_step_ms'], 0)} ms a training step; segments of "
        f"{c.count(p['steps_per_segment'])} steps with and without the monitor interleaved ({p['order']}, "
        f"{p['rounds']} rounds), the monitor logging every step and scoring {p['n_samples']} samples every "
        f"{c.count(p['sample_every'])} steps through the MNIST classifier. Time inside the monitor's calls, "
        f"clocked within each with-monitor segment: {c.span(inside, 2)} s of "
        f"{c.span(p['segments_with_s'], 0)} "
        f"s, **{c.pct(p['monitor_code_share'], 2)}** of training time. The segment medians "
        f"({c.fixed(p['median_with_s'])} s with, {c.fixed(p['median_without_s'])} s without: "
        f"{c.pct(p['overhead'])}) {verdict} (single segments ranged {c.span(seg, 0)} s either way). "
        f"Building the monitor (calibrating on the real data) took {c.fixed(p['build_monitor_s'], 2)} s "
        "once, "
        f"{c.pct(p[share])} of a {c.count(steps)}-step run.\n"
    )


def _numbers(rows: list[dict[str, Any]], pattern: str) -> list[float]:
    found = [re.search(pattern, e) for r in rows for e in r["evidence"]]
    return [float(m.group(1)) for m in found if m]


def demo_table(root: Path, s: dict[str, Any]) -> str:
    lines = [
        "| run | training seconds | monitor events (kind at batch) | offline: first `collapsed` snapshot "
        "from the warmup on | first collapse alarm |",
        "|---|---|---|---|---|",
    ]
    for name, r in s["runs"].items():
        events = c.listing([f"{c.kind(k)} {step}" for k, step, _ in r["monitor_events"]])
        alarm, lag = r["monitor_first_collapse_alarm"], r["alarm_minus_offline_intervals"]
        alarm_text = "none" if alarm is None else str(alarm)
        if alarm is not None and lag is not None:
            alarm_text += f": {c.plural(lag, 'interval')} later"
        lines.append(
            f"| {name} | {c.fixed(r['train_seconds'], 0)} | {events} | "
            f"{r['offline_first_collapsed_step'] or 'none'} | {alarm_text} |"
        )
    return "\n".join(lines) + "\n"


def _all_from(rows: list[dict[str, Any]], ok: Any) -> int | None:
    """The first step from which every row satisfies ``ok`` (None when the last one does not)."""
    return next((r["step"] for i, r in enumerate(rows) if all(ok(x) for x in rows[i:])), None)


def healthy_prose(name: str, hist: list[dict[str, Any]], off: list[dict[str, Any]], total: int) -> str:
    full_from = _all_from(hist, lambda h: h["modes_captured"] >= total)
    part = [x for x in off if x["verdict"] == "partially collapsed"]
    text = f"`{name}`: no monitor event; its scored batches hold all {total} modes from batch {full_from} on."
    if not part:
        return text
    since = _all_from(off, lambda x: x["verdict"] == "partially collapsed")
    modes = c.span([x["modes_captured"] for x in part])
    cov, ndb = _numbers(part, r"coverage ([0-9.]+)"), _numbers(part, r"NDB/K ([0-9.]+)")
    text += (
        f' The offline verdict calls {len(part)} of its {len(off)} snapshots "partially collapsed"'
        + (f" (every one from batch {since} on)" if since is not None else "")
        + f", where {modes} of {total} modes are there: because of quality, not modes"
    )
    if cov and ndb:
        text += f" (Naeem coverage {c.span(cov, 2)}, NDB/K {c.span(ndb, 2)} of the small DCGAN's samples)"
    return text + "; the monitor judges modes, duplicates and the training signals only."


def fault_prose(name: str, r: dict[str, Any], mon: dict[str, Any], total: int) -> str:
    hist, fault, alarm = mon["history"], r["fault_at"], r["monitor_first_collapse_alarm"]
    loss = sorted((e["step"], e["kind"]) for e in mon["events"] if e["kind"] not in SAMPLE_KINDS)
    loss = [(step, k) for step, k in loss if step >= fault]
    next_scored = min((h["step"] for h in hist if h["step"] > fault), default=None)
    text = f"`{name}` (G's learning rate x{r['setting']['g_lr_factor']:g} from batch {fault})"
    if loss:
        first = [f"{c.kind(k)} at {step}" for step, k in loss if step < (next_scored or step + 1)]
        text += (
            f": the loss events are dated {c.listing(first)}, before the next scored batch ({next_scored})"
        )
    if alarm is not None:
        scored = [h for h in hist if fault < h["step"] <= alarm]
        text += (
            f"; the sample alarm comes at batch {alarm}, after the scored batches "
            f"{c.listing([str(h['step']) for h in scored])} "
            f"({c.span([h['modes_captured'] for h in scored])} of {total} modes each)"
        )
        back = _all_from([h for h in hist if h["step"] > alarm], lambda h: h["modes_captured"] >= total)
        collapse = next((e for e in mon["events"] if e["kind"] == "mode_collapse"), None)
        if back is not None:
            text += f". G recovers by itself: all {total} modes again from batch {back}"
            if collapse and collapse.get("end_step"):
                text += f" (the collapse event closes at {collapse['end_step']})"
    return text + "."


def demo_prose(root: Path, s: dict[str, Any]) -> str:
    out = []
    for name, r in s["runs"].items():
        mon = c.read_json(root, f"{DEMO}/{name}/monitor.json")
        off = c.read_json(root, f"{DEMO}/{name}/offline.json")
        total = mon["history"][-1]["modes_covered_by_real"]
        if r["fault_at"] is None:
            out.append(healthy_prose(name, mon["history"], off, total))
        else:
            out.append(fault_prose(name, r, mon, total))
    return "\n\n".join(out) + "\n"


def alarms_table(a: dict[str, Any]) -> str:
    def which(block: dict[str, Any]) -> dict[str, int]:
        return {k: v["fired"] for k, v in block["per_kind"].items()}

    def kinds(off: dict[str, int], mon: dict[str, int]) -> str:
        names = sorted(set(off) | set(mon), key=lambda k: (-max(off.get(k, 0), mon.get(k, 0)), k))
        return (
            ", ".join(f"{k.replace('_', ' ')} {off.get(k, '-')} / {mon.get(k, '-')}" for k in names) or "none"
        )

    lv = fa.LEVELS
    levels = (
        f"D loss {lv['d_loss'][0]:g} ± {lv['d_loss'][1]:g}, G loss {lv['g_loss'][0]:g} ± "
        f"{lv['g_loss'][1]:g}, "
        f"D(x) {lv['d_real'][0]:g}, D(G(z)) {lv['d_fake'][0]:g}, {fa.POINTS} points"
    )
    noise, rec, real = a["loss_noise"], a["healthy_records"], a["real_samples"]
    rows = [
        (f"white loss noise ({levels})", noise["white"]),
        (f"the same levels as AR(1) noise, coefficient {fa.PHI:g} (slow wander, no trend)", noise["ar1"]),
        ("committed run records that end with >= 90 % of their modes", rec),
    ]
    lines = [
        "| healthy input | histories | offline: any event | monitor: any event | which (offline / monitor) |",
        "|---|---|---|---|---|",
    ]
    for label, block in rows:
        off, mon = block["offline"], block["monitor"]
        lines.append(
            f"| {label} | {off['histories']} | {off['any_event']} | {mon['any_event']} | "
            f"{kinds(which(off), which(mon))} |"
        )
    sets = sorted(real)
    fired = sum(real[k]["any_event"] for k in sets)
    lines.append(
        f"| real samples fed as generated ones ({', '.join(sets)}) | {len(sets)} x "
        f"{real[sets[0]]['histories']} | - | {fired} | "
        f"{kinds({}, {k: v for s in sets for k, v in which(real[s]).items()})} |"
    )
    return "\n".join(lines) + "\n"


def alarms_prose(a: dict[str, Any]) -> str:
    real = sum(v["any_event"] for v in a["real_samples"].values())
    ar1 = a["loss_noise"]["ar1"]
    fm = sorted(
        k
        for k, v in a["healthy_records"]["offline_fired"].items()
        if "/ring8/feature-matching/" in k and "g_loss_rising" in v
    )
    hop = a["healthy_records"]["offline"]["per_kind"].get("mode_hopping", {}).get("fired", 0)
    return (
        f"The sample conditions, the only ones that set `monitor.alarm`, raised {real} events on real data. "
        "The loss detectors are informational: on strongly correlated noise they read the wander as a trend "
        f"or an oscillation in {ar1['offline']['any_event']} (offline) and {ar1['monitor']['any_event']} "
        f"(monitor) of {ar1['offline']['histories']} histories, a known weakness left for later work (a "
        "detector that models the autocorrelation). On the run records the counts are an upper bound on "
        "false alarms: a run that ends healthy may have hopped or collapsed on the way (mode hopping "
        f"{hop} of {a['healthy_records']['runs']} offline); G loss rising fired offline on {len(fm)} "
        "feature-matching ring8 records, whose G loss is a feature distance, not a cross-entropy. The "
        "per-kind rates with 95 % Wilson intervals are in the record.\n"
    )


def build(root: Path) -> str:
    perf, demo, alarms = (
        c.read_json(root, COST),
        c.read_json(root, f"{DEMO}/summary.json"),
        c.read_json(root, ALARMS),
    )
    return "".join(
        [
            "How the monitor works, in a plain loop and under Lightning: [../monitor.md](../monitor.md).\n\n",
            "## Cost\n\n",
            cost(perf),
            "\n## A real run with a fault\n\n",
            f"`make monitor-demo` (`{demo['command']}`, records in `{DEMO}/`): the PyTorch tutorial's DCGAN "
            "on "
            f"the embedded MNIST digits under `lightning.Trainer`, {c.count(demo['steps'])} batches, the "
            "monitor "
            f"every {demo['every']} batches through the MNIST classifier with a warmup of "
            f"{c.count(demo['warmup'])}, "
            "and the samples of fixed latents saved at every interval and judged afterwards by `mcbench "
            "diagnose "
            f"--dataset mnist`; {demo['threads']} threads. The two trainings shared the machine with other "
            "work "
            "part of the time, so their seconds are not a speed measurement.\n\n",
            demo_table(root, demo),
            "\n",
            c.image(f"{DEMO}/monitor_demo.png", "monitor demo"),
            "\n\n",
            demo_prose(root, demo),
            "\n## Does it cry wolf?\n\n",
            f"`make detector-false-alarms` (`{alarms['command']} --seeds {alarms['seeds']} --sample-seeds "
            f"{alarms['sample_seeds']}`): each detector offline (what `mcbench diagnose --log` runs) and in "
            "the "
            "monitor's rolling window, on input with no collapse in it; counts of histories with any "
            "event.\n\n",
            alarms_table(alarms),
            "\n",
            alarms_prose(alarms),
        ]
    )


PAGE = c.Page(
    name="monitor",
    title="The collapse monitor: cost, a real fault, false alarms",
    records=(COST, f"{DEMO}/", ALARMS),
    summary="the monitor's cost, a Lightning run with a fault, and every detector's false-alarm counts",
    build=build,
)
