"""The CarRacing story: does a small DCGAN draw the same frame again and again, and does feature
matching fix it (``carracing-story`` records, ``results/carracing_story.json``), and does the clip
classifier hold on held-out time (``results/carracing_holdout.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.reports import tables
from benchmark.reports.stats import t_interval
from studies import carracing_story as story
from studies.pages import common as c

RECORDS = "results/records/carracing-story"
STORY = "results/carracing_story.json"
HOLDOUT = "results/carracing_holdout.json"


def _iv(table: dict[str, Any], variant: str, key: str, digits: int = 2) -> str:
    return story._cell(table[variant][key], 1.0, digits)


def overlap(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return bool(a and b and a["lo"] <= b["hi"] and b["lo"] <= a["hi"])


def kl_true_gen(root: Path) -> dict[str, dict[str, Any]]:
    """Per variant: KL(true||gen) of the runs' summaries, with its 95 % t interval."""
    values: dict[str, list[float]] = {}
    for _, s in c.summaries(root, RECORDS):
        values.setdefault(s["variant"], []).append(s["metrics"]["kl_true_gen_distance"])
    out = {}
    for variant, v in values.items():
        iv = t_interval(v, lower=0.0)
        out[variant] = {"mean": iv.mean, "lo": iv.lo, "hi": iv.hi, "n": iv.n}
    return out


def story_prose(root: Path, report: dict[str, Any], n_clips: int) -> str:
    table, runs = report["table"], report["runs"]
    gan = table["gan"]
    gan_clips = [r["clips"] for r in runs if r["variant"] == "gan"]
    dup_fake = max(r["dup_rate_fake"] for r in runs)
    dup_real = max(r["dup_rate_real"] for r in runs)
    ktg = kl_true_gen(root)
    fm = [v for v in table if v != "gan"]
    fds = c.listing([f"{c.fixed(table[v]['frechet_classifier']['mean'])} (`{v}`)" for v in fm])
    keys = ("kl_gen_true", "frechet_classifier")
    all_overlap = all(overlap(table[v][k], gan[k]) for v in fm for k in keys) and all(
        overlap(ktg[v], ktg["gan"]) for v in fm
    )
    verdicts = [r["verdict"] for r in runs]
    events = sum(1 for _, s in c.summaries(root, RECORDS) if s.get("failure_events"))
    reproduces = dup_fake > 10 * dup_real or gan["clips"]["mean"] <= 1
    dups = (
        "no run has a single near-duplicate pair among its samples"
        if dup_fake == 0
        else f"the largest share of near-duplicate pairs among any run's samples is {c.pct(dup_fake, 3)}"
    )
    kl_fm = c.listing([f"{_iv(table, v, 'kl_gen_true')} (`{v}`)" for v in fm])
    ktg_fm = c.listing([f"{story._cell(ktg[v], 1.0, 2)} (`{v}`)" for v in fm])
    head = (
        "The post's claim reproduces here." if reproduces else "**The post's claim does not reproduce here.**"
    )
    same = len(set(verdicts)) == 1
    verdict_text = f'all "{verdicts[0]}"' if same else c.listing(sorted(set(verdicts)))
    return (
        f"{head} The plain GAN covers {c.fixed(gan['clips']['mean'])} of {n_clips} clips (per seed: "
        f"{', '.join(c.count(x) for x in gan_clips)}), and {dups} (the real frames: {c.pct(dup_real, 3)} of "
        "pairs). Feature matching "
        f"is better on the distribution numbers, not on the collapse numbers: KL(gen||true) "
        f"{kl_fm} against "
        f"{_iv(table, 'gan', 'kl_gen_true')}, KL(true||gen) "
        f"{ktg_fm} against "
        f"{story._cell(ktg['gan'], 1.0, 2)}, FD in the classifier's space {fds} against "
        f"{c.fixed(gan['frechet_classifier']['mean'])}, "
        f"{'all with overlapping intervals' if all_overlap else 'not all intervals overlapping'} at "
        f"{len(gan_clips)} seeds. The verdicts of the {len(verdicts)} runs are "
        f"{verdict_text}: a fidelity failure, not "
        f"mode collapse (recall in the classifier space {_iv(table, 'gan', 'recall')} for `gan`; the samples "
        f"are noisy frames in the right colours, below), and D wins for long stretches: the "
        f"D-loss-to-zero detector fires in {events} of {len(verdicts)} runs.\n"
    )


def holdout_prose(h: dict[str, Any]) -> str:
    blocks = h["time_blocks"]
    later = h["later_frames"]
    ranges = c.listing([f"{b['frames_of_each_clip'][0]}-{b['frames_of_each_clip'][1]}" for b in blocks])
    return (
        f"The classifier's held-out frames lie between training frames, so `make carracing-holdout` "
        f"(`python -m studies.carracing_holdout`) also holds out time: retrained {len(blocks)} times, each "
        f"time with one contiguous block of frames of every clip held out (frames {ranges}; "
        f"{c.span([b['train_seconds'] for b in blocks], 0)} s a retraining), it scores "
        f"{c.same_or_each([c.pct(b['accuracy']) for b in blocks], 'on every held-out block')} (worst clip "
        f"{c.pct(min(b['worst_clip_accuracy'] for b in blocks))}); with the stratified split of the suite "
        f"it scores {c.pct(h['interleaved_20pct_accuracy'])}. The suite's classifier scores "
        f"{c.pct(later['accuracy'])} on {later['frames_per_clip']} frames of each episode rendered past the "
        f"built-in {h['frames'] // h['clips']} (worst clip {c.pct(min(later['per_clip_accuracy']))}); the "
        "first frames rendered again are "
        f"{'identical' if later['first_frames_identical'] else 'not identical'} "
        "to the built-in ones. Whole clips cannot be held out: each clip is its own mode.\n"
    )


def build(root: Path) -> str:
    report, holdout = c.read_json(root, STORY), c.read_json(root, HOLDOUT)
    cfgs = c.configs(root, RECORDS)
    sums = c.summaries(root, RECORDS)
    per = {}
    for _, s in sums:
        per.setdefault(s["variant"], []).append(s["wall_time_s"])
    n_clips = int(cfgs[0]["dataset_info"]["modes"])
    costs = c.listing([f"`{v}` {c.span(t, 0)} s" for v, t in sorted(per.items())])
    return "".join(
        [
            'Does a DCGAN on CarRacing frames "generate the same image again and again", and does feature '
            "matching (Salimans et al. 2016) fix it? Suite `carracing-story`: "
            f"{c.listing([f'`{v}`' for v in sorted(per)])} on the {n_clips} built-in clips (one mode per "
            "clip, see "
            f"[../datasets.md](../datasets.md)), DCGAN base width {cfgs[0]['train']['net']['conv_width']}, "
            f"{c.train_protocol(cfgs)}. Cost: {c.count(c.wall_seconds(sums))} run-seconds, one thread each "
            f"({costs}).\n\n",
            f"## Coverage (`mcbench table {RECORDS}`)\n\n",
            tables.render(Path(root) / RECORDS, "md"),
            "\n## Every run's final samples scored like `mcbench diagnose`\n\n",
            f"`make benchmark-carracing` (`python -m studies.carracing_story`, `{STORY}`): the first "
            f"{c.count(report['runs'][0]['fake_samples'])} final samples of each run; duplicates are pairs "
            "closer than the 1 % quantile of real nearest-neighbour distances in the clip classifier's "
            "feature "
            "space, FD in that space; mean [95 % t interval] over seeds. It needs the samples, which are "
            "not kept "
            "in git; the JSON keeps every number.\n\n",
            story.markdown(report["table"]),
            "\n",
            story_prose(root, report, n_clips),
            "\n",
            c.image("results/figures/carracing-story-samples.png", "CarRacing samples"),
            "\n\n## The clip classifier on held-out time\n\n",
            holdout_prose(holdout),
        ]
    )


PAGE = c.Page(
    name="carracing",
    title="CarRacing: does feature matching stop a DCGAN repeating one frame?",
    records=(RECORDS, STORY, HOLDOUT),
    summary="gan against feature matching on the CarRacing clips, and the clip classifier on held-out time",
    build=build,
)
