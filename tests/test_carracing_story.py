"""The CarRacing story's per-variant table: known answers for the aggregation and the markdown."""

import pytest

from studies.carracing_story import aggregate, main, markdown


def _run(variant, seed, clips, dup):
    return {
        "variant": variant,
        "seed": seed,
        "verdict": "healthy" if clips == 10 else "collapsed",
        "clips": clips,
        "high_quality": 0.5,
        "kl_gen_true": 0.1,
        "dup_rate_fake": dup,
        "dup_rate_real": 0.0001,
        "frechet_classifier": 20.0,
        "recall": 0.8,
    }


def test_mean_and_t_interval_per_variant_clipped_to_the_range():
    runs = [_run("gan", 0, 2, 0.2), _run("gan", 1, 4, 0.4), _run("feature-matching", 0, 10, 0.001)]
    table = aggregate(runs)
    assert list(table) == ["gan", "feature-matching"]
    clips = table["gan"]["clips"]
    assert clips["mean"] == pytest.approx(3.0) and clips["n"] == 2
    # t(0.975, 1) = 12.706; s = sqrt(2); half-width 12.706 * sqrt(2) / sqrt(2) = 12.706, clipped to [0, 10]
    assert clips["lo"] == 0.0 and clips["hi"] == 10.0
    assert table["gan"]["verdicts"] == ["collapsed", "collapsed"]
    single = table["feature-matching"]["clips"]
    assert single == {"mean": 10.0, "lo": 10.0, "hi": 10.0, "n": 1}


def test_markdown_shows_percentages_and_no_interval_for_one_seed():
    text = markdown(aggregate([_run("gan", 0, 3, 0.25), _run("gan", 1, 3, 0.25)]))
    row = text.splitlines()[2]
    assert row.startswith("| gan | 2 | 3.0 [3.0, 3.0] | 50.0 [50.0, 50.0] |")
    assert "25.000 [25.000, 25.000]" in row and "0.010 [0.010, 0.010]" in row
    single = markdown(aggregate([_run("gan", 0, 3, 0.25)])).splitlines()[2]
    assert "| 3.0 |" in single and "[" not in single


def test_no_finished_runs_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--runs", str(tmp_path), "--out", str(tmp_path / "o.json"), "--table", str(tmp_path / "t.md")])
    assert exc.value.code == 2
    assert "no finished CarRacing runs" in capsys.readouterr().err


def test_fractions_are_clipped_at_one_before_they_are_shown_as_percentages():
    runs = [_run("gan", 0, 10, 0.001), _run("gan", 1, 10, 0.001)]
    runs[0]["high_quality"], runs[1]["high_quality"] = 0.9, 1.0
    hq = aggregate(runs)["gan"]["high_quality"]
    # t(0.975, 1) = 12.706, s = 0.0707: half-width 0.635, so 0.315 to 1.585, clipped to 1
    assert hq["mean"] == pytest.approx(0.95) and hq["hi"] == 1.0
    assert hq["lo"] == pytest.approx(0.3147, abs=1e-3)


def test_sample_figure_draws_real_frames_and_each_variants_lowest_seed(tmp_path, monkeypatch):
    import numpy as np

    import benchmark.data.registry as registry
    from benchmark.data import frames as frame_data
    from studies.carracing_story import sample_figure

    tiny = frame_data.carracing(clips=2, frames_per_clip=3, size=16, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(registry, "get_dataset", lambda name, **kw: tiny)
    runs, folders = [], {}
    for variant, seed in (("gan", 1), ("gan", 0), ("feature-matching", 0)):
        folder = tmp_path / variant / f"seed{seed}"
        folder.mkdir(parents=True)
        np.save(folder / "samples.npy", np.full((8, 3, 16, 16), 7 * seed, dtype=np.uint8))
        runs.append(_run(variant, seed, 10, 0.01))
        folders[(variant, seed)] = folder
    # only seed 0 of gan is drawn: seed 1's file is made unreadable to prove it is never opened
    (folders[("gan", 1)] / "samples.npy").write_text("not an array")
    path = tmp_path / "fig.png"
    sample_figure(runs, folders, path, n=8)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
