"""Speed, measured: the harness's overhead (``results/perf.json``), batched jobs against single runs
(``results/perf_batched.json``, ``results/batched_vs_single.json``) and the diagnostics on stacked-MNIST-
sized input (``results/perf_diagnostics.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studies.pages import common as c

PERF = "results/perf.json"
BATCHED = "results/perf_batched.json"
SAME = "results/batched_vs_single.json"
DIAG = "results/perf_diagnostics.json"
GIB = 1024.0
STEP = {  # how the timed steps of perf_diagnostics read in a sentence
    "feature_extraction": "feature extraction",
    "kernel_distance": "KID",
    "ndb": "NDB",
    "prdc": "precision/recall/density/coverage",
    "classifier_coverage": "mode coverage",
    "frechet_distance": "Fréchet distance",
    "birthday_support": "birthday test",
    "duplicate_rate": "duplicates",
}


def harness(p: dict[str, Any]) -> str:
    ratios = [r["ratio"] for r in p["rounds"]]
    plain = [r["plain_it_per_s"] for r in p["rounds"]]
    over = p["harness_overhead_percent"]
    met = "within" if over <= p["goal_overhead_percent"] else "above"
    return (
        f"`python -m benchmark.perf.training` ({c.count(p['iters_per_round'])} iterations a round, "
        f"{len(ratios)} rounds, {p['threads']} thread): trainer / plain loop = "
        f"{c.fixed(p['median_ratio_trainer_over_plain'], 3)}, the median of rounds ranging "
        f"{c.span(ratios, 3)}, "
        f"an overhead of **{c.fixed(over)} %** ({met} the goal of at most "
        f"{c.fixed(p['goal_overhead_percent'], 0)} "
        f"%); the plain loop ran at {c.span(plain, 0)} iterations per second "
        f"({c.span([1000 / x for x in plain], 1)} ms per VEEGAN-protocol step).\n"
    )


def same_stats(s: dict[str, Any]) -> str:
    rows = s["rows"]
    tests = [
        (r["variant"], k, r[k]["welch_p"]) for r in rows for k in ("modes_captured", "high_quality_score")
    ]
    low = min(tests, key=lambda t: t[2])
    equal = [r["variant"] for r in rows if r["modes_captured"]["same_seeds"] == r["seeds"]]
    verdict = "no" if low[2] >= 0.05 else "a"
    names = c.listing([f"`{r['variant']}`" for r in rows])
    return (
        f"`python -m studies.batched_vs_single` (`{SAME}`): {rows[0]['seeds']} seeds at "
        f"{c.count(rows[0]['iters'])} iterations on {s['dataset']}, as one batched job and as single runs, "
        "for "
        f"{names}. {verdict.capitalize()} Welch test on final modes "
        f"or HQ tells them apart at 5 % (smallest p {c.fixed(low[2], 2)}, `{low[0]}`'s "
        f"{'HQ' if low[1] == 'high_quality_score' else 'modes'}, among {len(tests)} tests); mode counts are "
        f"equal seed by seed for {c.listing([f'`{v}`' for v in equal])}.\n"
    )


def throughput(b: dict[str, Any]) -> tuple[str, dict[tuple[str, str], dict[int, dict[str, Any]]]]:
    ks = sorted({r["k"] for r in b["results"]})
    cells: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for r in b["results"]:
        cells.setdefault((r["dataset"], r["variant"]), {})[r["k"]] = r
    lines = [
        "| dataset | variant | single run, ms/step | " + " | ".join(f"K={k}" for k in ks) + " |",
        "|:--|:--|--:|" + "--:|" * len(ks),
    ]
    for (dataset, variant), by_k in sorted(cells.items()):
        single = by_k[min(by_k)]["single_ms_per_run_step"]
        ratios = [c.fixed(by_k[k]["ratio_singles_over_batched"], 2) if k in by_k else "–" for k in ks]
        lines.append(f"| {dataset} | {variant} | {c.fixed(single)} | " + " | ".join(ratios) + " |")
    return "\n".join(lines) + "\n", cells


def why(b: dict[str, Any], cells: dict) -> str:
    a = b["arithmetic"]
    gan = cells[("ring8", "gan")]
    k_mid = sorted(gan)[len(gan) // 2]
    k1 = gan[min(gan)]
    image = cells.get(("stacked-mnist", "gan"), {})
    text = (
        f"For `gan` on ring8 batching gives {c.ratio(gan[k_mid]['ratio_singles_over_batched'], 2)} at "
        f"K = {k_mid} on this CPU. Why so little: a single ring8 step already takes only "
        f"{c.ratio(a['single_step_over_matmul'], 2)} the time its matrix products take alone "
        f"({c.fixed(a['matmul_ms_per_step_single'], 2)} ms of {c.fixed(k1['single_ms_per_run_step'], 1)} ms, "
        "products replayed from the shapes the profiler records), and a batched matrix product is no faster "
        f"per run than K separate ones (the batched step's products at K = {a['k']}: "
        f"{c.fixed(a['matmul_ms_per_run_step_batched'], 2)} ms per run). The latent draws stay per run so "
        "that every run draws what its single run draws. What batching removes, per-operation overhead and "
        "Adam's per-tensor loop, is then about what the vmapped calls add back "
        f"({c.fixed(k1['batched_ms_per_run_step'] - k1['single_ms_per_run_step'], 1)} ms per step at K = 1). "
        f"The batched ring8 step is {c.ratio(a['batched_run_step_over_matmul'], 2)} its matrix products "
        f"(goal {c.ratio(a['goal_batched_over_matmul'], 0)})."
    )
    if image:
        worst = min(r["ratio_singles_over_batched"] for r in image.values() if r["k"] > 1)
        text += f" The DCGAN on stacked MNIST loses up to {c.pct(1 - worst, 0)} (vmapped convolutions)."
    text += " So a CPU batches only when asked (`--batch K`); see [../performance.md](../performance.md).\n"
    reasons = "\n".join(f"- `{v}`: {reason}" for v, reason in sorted(b["not_batchable"].items()))
    return text + "\nNot batchable, and why:\n\n" + reasons + "\n"


def diagnostics(d: dict[str, Any]) -> str:
    shares = sorted(d["shares"].items(), key=lambda kv: (-kv[1], kv[0]))
    prdc = int(d["results"].get("classifier/prdc_fake_samples", 0))
    return (
        f"`python -m benchmark.perf.diagnostics` (`{DIAG}`): every diagnostic together on "
        f"{c.count(d['n_fake'])} generated against {c.count(d['n_real'])} real stacked-MNIST-sized samples "
        "on "
        f"{d['threads']} CPU threads, features ({d['feature_dim']}-dimensional) from the per-channel mode "
        f"classifier extracted once per set: **{c.fixed(d['total_s'])} s**, peak memory "
        f"{c.fixed(d['peak_rss_mib'] / GIB)} GiB (one {c.count(d['n_real'])} x {c.count(d['n_fake'])} "
        "float64 "
        f"matrix alone would be {c.fixed(d['n_by_n_float64_mib'] / GIB)} GiB; distances are computed in "
        "chunks). Shares of the time: "
        + c.listing([f"{STEP.get(k, k)} {c.pct(v, 0)}" for k, v in shares])
        + (
            f" (precision/recall/density/coverage on {c.count(prdc)} rows per set, the Naeem et al. setting)"
            if prdc
            else ""
        )
        + ".\n"
    )


def build(root: Path) -> str:
    perf, b, same, d = (c.read_json(root, r) for r in (PERF, BATCHED, SAME, DIAG))
    table, cells = throughput(b)
    return "".join(
        [
            "What each measurement does and how to read it: [../performance.md](../performance.md).\n\n",
            "## Harness overhead (`make perf`)\n\n",
            harness(perf),
            "\n## Batched against single runs: the statistics\n\n",
            same_stats(same),
            "\n## Batched throughput on a CPU (`make perf`)\n\n",
            f"`python -m benchmark.perf.batched` (`{BATCHED}`): K single runs one after the other against "
            "one "
            f"batched job of K, {b['rounds']} interleaved rounds, {b['threads']} thread. Ratio > 1: batched "
            "faster.\n\n",
            table,
            "\n",
            why(b, cells),
            "\n## Diagnostics speed\n\n",
            diagnostics(d),
        ]
    )


PAGE = c.Page(
    name="performance",
    title="Performance: harness overhead, batched runs, diagnostics speed",
    records=(PERF, BATCHED, SAME, DIAG),
    summary="the trainer's overhead, batched jobs against single runs, and the diagnostics' speed",
    build=build,
)
