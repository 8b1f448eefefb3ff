"""The goal check page: does a label-free variant cover ring8 and grid25 on every seed, from the
headline records (``studies/goal_check.py``), and the one-setting sweeps tried on the way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studies import goal_check
from studies.pages import common as c
from studies.pages.headline import RECORDS, SWEEPS


def verdict(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per variant: the seeds meeting each dataset's half, whether both halves hold on every seed,
    and the closest variant (most seed-halves met; name order breaks ties)."""
    per: dict[str, dict[str, Any]] = {}
    for r in rows:
        v = per.setdefault(r["variant"], {"met": {}, "seeds": {}, "hq": {}, "modes": {}})
        v["met"][r["dataset"]], v["seeds"][r["dataset"]] = r["met"], r["seeds"]
        v["hq"][r["dataset"]], v["modes"][r["dataset"]] = r["hq"], r["modes"]
    full = [
        name
        for name, v in per.items()
        if set(v["met"]) == set(goal_check.GOAL)
        and all(v["met"][d] == v["seeds"][d] for d in goal_check.GOAL)
    ]
    closest = max(sorted(per), key=lambda n: sum(len(m) for m in per[n]["met"].values()))
    return {"per": per, "full": sorted(full), "closest": closest}


def prose(rows: list[dict[str, Any]], iters: str) -> str:
    v = verdict(rows)
    (rm, rh), (gm, gh) = goal_check.GOAL["ring8"], goal_check.GOAL["grid25"]
    goal = (
        f"a label-free variant with {rm}/8 ring8 modes at >= {rh:g} % high quality and >= {gm}/25 grid25 "
        f"modes at >= {gh:g} % high quality, on every seed"
    )
    if v["full"]:
        head = f"**Met at {iters} iterations by {c.listing([f'`{n}`' for n in v['full']])}.**"
    else:
        head = f"**Not met by any label-free variant at {iters} iterations.**"
    close = v["per"][v["closest"]]

    def on(dataset: str, p: dict[str, Any]) -> str:
        met, all_seeds = p["met"].get(dataset, []), p["seeds"].get(dataset, [])
        if not met:
            return f"the {dataset} half on no seed"
        if met == all_seeds:
            return f"the {dataset} half on every seed ({c.seeds(met)})"
        return f"the {dataset} half on seed{'s' if len(met) > 1 else ''} {c.seeds(met)} only"

    ring_only = [
        n
        for n, p in sorted(v["per"].items())
        if n != v["closest"] and p["met"].get("ring8") == p["seeds"].get("ring8") and p["met"].get("ring8")
    ]
    others = c.listing([f"`{n}` {c.fixed(v['per'][n]['hq']['grid25'])} %" for n in ring_only])
    text = (
        f"The goal: {goal}. {head} The closest is `{v['closest']}`: {on('ring8', close)}, "
        f"{on('grid25', close)} (mean {c.fixed(close['modes']['grid25'])} grid25 modes at "
        f"{c.fixed(close['hq']['grid25'])} % HQ)."
    )
    if ring_only:
        text += f" Also meeting ring8 on every seed but short on grid25 HQ (mean): {others}."
    return text + "\n"


def build(root: Path) -> str:
    scores = goal_check.final_scores(Path(root) / RECORDS)
    rows = goal_check.rows(scores)
    iters = c.listing(sorted({c.count(cf["train"]["iters"]) for cf in c.configs(root, RECORDS)}), "or")
    sweep_scores = goal_check.final_scores(Path(root) / SWEEPS)
    sweep_rows = goal_check.rows(sweep_scores)
    sweep_full = verdict(sweep_rows)["full"]
    return "".join(
        [
            f"`python -m studies.goal_check {RECORDS}`: final scores of every recorded seed of the "
            "label-free variants (not `cgan`, not `guided-latent`) under the headline protocol "
            "([headline.md](headline.md)); a seed meets a dataset's half when both its modes and its "
            "high-quality share reach the goal at the final evaluation.\n\n",
            prose(rows, iters),
            "\n",
            goal_check.markdown(rows),
            "\n## Sweeps\n\n",
            f"`python -m studies.goal_check {SWEEPS}`: one setting changed per row (the tag names it), "
            "seed 0 unless the seeds column says more. ",
            (
                f"Meeting both halves on every seed: {c.listing([f'`{n}`' for n in sweep_full])}.\n\n"
                if sweep_full
                else "None meets both halves on every seed.\n\n"
            ),
            goal_check.markdown(sweep_rows),
        ]
    )


PAGE = c.Page(
    name="goal",
    title="Goal check: a label-free variant that covers ring8 and grid25 on every seed",
    records=(RECORDS, SWEEPS),
    summary="which label-free variant meets the coverage-and-quality goal on every seed, and the sweeps",
    build=build,
)
