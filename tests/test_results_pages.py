"""The results pages under docs/results are generated from the committed records: regenerating them gives
the committed bytes, and the numbers in their sentences are counted right (known answers on hand-made
records, and the two counts the old README had wrong, from the real records)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studies.pages import PAGES, gate_power, render_all, small_d
from studies.pages import __main__ as pages_main

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "results"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    assert pages_main.main(["--out", str(out), "--root", str(ROOT)]) == 0
    return out


def test_regenerating_gives_the_committed_pages_byte_for_byte(generated):
    made = sorted(p.name for p in generated.glob("*.md"))
    committed = sorted(p.name for p in COMMITTED.glob("*.md"))
    assert made == committed, "run `make docs` and commit docs/results"
    for name in made:
        assert (generated / name).read_bytes() == (COMMITTED / name).read_bytes(), (
            f"docs/results/{name} differs from what its records give: run `make docs`"
        )


def test_pages_render_in_memory_as_written_and_name_their_command_and_records(generated):
    pages = render_all(ROOT)
    assert set(pages) == {f"{p.name}.md" for p in PAGES} | {"index.md"}
    for name, text in pages.items():
        assert text == (generated / name).read_text(encoding="utf-8")  # the same in a second rendering
    for page in PAGES:
        text = pages[f"{page.name}.md"]
        assert "python -m studies.pages --out docs/results" in text.split("\n\n")[1]
        for record in page.records:
            assert (ROOT / record).exists(), record
            assert f"`{record}`" in text
        assert str(ROOT) not in text  # no absolute paths
        assert f"({page.name}.md)" in pages["index.md"]


# ------------------------------------------------------------------------------ known answers


def _rep(failures: int, fired: bool, seeds: int = 4) -> dict:
    return {"c@d": {"failures": failures, "fired": fired, "seeds": list(range(seeds)), "line": "x"}}


def _mutant(detected: list[bool], failures: list[int]) -> dict:
    return {
        "breaks": "a fault",
        "checks": ["c@d"],
        "detected": sum(detected),
        "reps": len(detected),
        "of": "v",
        "per_rep": [_rep(f, d) for f, d in zip(failures, detected, strict=True)],
    }


TINY_BASE = {
    "alpha": 0.05,
    "checks": {
        "c@d": {
            "failures": 0,
            "calibration": {"passed": [True] * 20},
            "gate_seeds": 4,
            "allowed_failures": 2,
            "failure_rate": 1 / 22,
        }
    },
}


def test_mutant_counts_know_caught_every_time_at_least_once_and_never():
    power = {
        "mutants": {
            "v~always": _mutant([True] * 5, [4] * 5),
            "v~also-always": _mutant([True] * 5, [3] * 5),
            "v~once": _mutant([True, False, False, False, False], [3, 1, 2, 1, 2]),
            "v~never": _mutant([False] * 5, [0] * 5),
        }
    }
    k = gate_power.mutant_counts(power)
    assert (k["total"], len(k["always"]), len(k["once"]), len(k["never"])) == (4, 2, 3, 1)
    assert k["seeds"]["v~once"] == (9, 20)
    text = gate_power.mutant_prose(power, TINY_BASE)
    assert "**2 of 4 mutants caught in 5 of 5 repetitions, 3 at least once**; never caught: 1." in text
    # 9 of 20 seeds fail: p = 0.45; 4 seeds, more than 2 failing: P = 4 p^3 (1 - p) + p^4 = 0.2415
    assert "a seed fails with probability about 0.45" in text
    assert "fire with probability 0.24 at that rate" in text
    assert "caught in 1 of 5; 9 of its 20 seeds fail against 0 of 20 unbroken" in text


def test_seeds_needed_is_the_smallest_check_that_fires_often_enough():
    # p0 = 1/22, alpha 0.05 / 12: 10 seeds fire on a p = 0.45 fault with probability 0.73, 11 with 0.81
    assert gate_power.seeds_needed(0.45, 1 / 22, 0.05 / 12) == 11
    assert gate_power.seeds_needed(1.0, 1 / 22, 0.05 / 12) <= 4


def _probe(steps: dict[int, list[float]]) -> dict:
    return {
        "by_step": {
            "gan": {
                str(step): {
                    "seeds": [0, 1, 2][: len(m)],
                    "modes": sum(m) / len(m),
                    "modes_seeds": m,
                    "hq": 0.5,
                    "hq_modes": 2.0,
                    "hq_seeds": [0.5] * len(m),
                    "hq_modes_seeds": [2.0] * len(m),
                    "kl": 1.0,
                }
                for step, m in steps.items()
            }
        }
    }


def test_small_d_gan_sentence_gives_every_seed_and_the_step_it_leaves_the_bound():
    report = _probe({250: [1, 1, 1], 500: [2, 1, 1], 1000: [200, 250, 320], 2000: [700, 650, 690]})
    table = small_d.steps_table(report)
    assert list(table["gan"]) == [250, 500, 1000, 2000]  # numeric order, not the JSON's string order
    text = small_d.gan_prose(table, 300)
    assert "250: 1.0 (1, 1, 1); 500: 1.3 (2, 1, 1); 1,000: 256.7 (200, 250, 320)" in text
    assert "until iteration 1,000, then spreads" in text
    assert "at 2,000 iterations 50.0 % of its samples are high quality" in text


# ------------------------------------------------------------------ the old README's two drifts


def test_gate_page_counts_mutants_as_the_record_does(generated):
    power = json.loads((ROOT / gate_power.POWER).read_text(encoding="utf-8"))
    every = sum(m["detected"] == m["reps"] for m in power["mutants"].values())
    once = sum(m["detected"] >= 1 for m in power["mutants"].values())
    # the README said "14 of 17 mutants caught in 5 of 5 repetitions": 14 is the at-least-once count
    assert (every, once, len(power["mutants"])) == (12, 14, 17)
    text = (generated / "gate-power.md").read_text(encoding="utf-8")
    assert (
        f"**{every} of {len(power['mutants'])} mutants caught in 5 of 5 repetitions, {once} at least once**"
        in text
    )


def test_small_d_page_gives_gan_seed_0_two_modes_at_500(generated):
    report = json.loads((ROOT / small_d.PROBE).read_text(encoding="utf-8"))
    gan = {
        r["seed"]: {s["step"]: s["modes"] for s in r["snapshots"]}
        for r in report["runs"]
        if r["run"] == "gan"
    }
    # the README said 1 mode at 500 iterations in all three seeds; seed 0 has 2
    assert [gan[s][500] for s in (0, 1, 2)] == [2.0, 1.0, 1.0]
    text = (generated / "small-d-probe.md").read_text(encoding="utf-8")
    assert "500: 1.3 (2, 1, 1)" in text


def test_readme_headline_block_is_generated_from_the_records():
    from studies.pages import readme

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.fill(text, ROOT) == text, "README's headline block is stale: run `make docs`"
    block = text.split(readme.START)[1].split(readme.END)[0]
    assert "| gan |" in block and "cgan (uses labels)" in block
    with pytest.raises(ValueError, match="markers"):
        readme.fill("no markers here", ROOT)
