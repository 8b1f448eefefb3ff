"""Learning curves over seeds (benchmark.reports.curves): known means and t intervals, seed alignment on
shared steps, run filtering, HQ in %, and the figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmark.data import plots
from benchmark.reports import curves as C

T2 = 4.302652729749462  # t_{0.975} with 2 degrees of freedom
T1 = 12.706204736174694  # t_{0.975} with 1 degree of freedom
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run(
    root: Path,
    dataset: str,
    folder: str,
    seed: int,
    evals: list[tuple[int, float, float]] | None,
    status: str = "ok",
    summary: dict | None = None,
    write_summary: bool = True,
) -> None:
    """One run folder; ``evals`` = (step, modes, hq fraction) records, with training lines between."""
    d = root / dataset / folder / f"seed{seed}"
    d.mkdir(parents=True)
    if write_summary:
        variant = folder.split("-")[0]
        s = {"dataset": dataset, "variant": variant, "seed": seed, "status": status, **(summary or {})}
        (d / "summary.json").write_text(json.dumps(s), encoding="utf-8")
    if evals is not None:
        lines = []
        for step, modes, hq in evals:
            lines.append(json.dumps({"step": step, "loss/d": 0.5, "loss/g": 1.0}))
            lines.append(
                json.dumps(
                    {
                        "step": step,
                        "eval/modes_captured": modes,
                        "eval/high_quality_score": hq,
                        "eval/captured": [0, 1],
                    }
                )
            )
        lines.append('{"step": 999, "eval/modes_cap')  # torn last line of a killed process
        (d / "metrics.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "runs"
    # ring/gan: modes = (seed+1)*step/100, hq = 0.1*(seed+1); seed 0 runs to 400, seed 1 to 300,
    # seed 2 diverged after 200; seed 3 failed without metrics.
    last = {0: 400, 1: 300, 2: 200}
    for seed, end in last.items():
        evals = [(s, (seed + 1) * s / 100, 0.1 * (seed + 1)) for s in range(100, end + 1, 100)]
        _run(r, "ring", "gan", seed, evals, status="diverged" if seed == 2 else "ok", summary={"tag": ""})
    _run(r, "ring", "gan", 3, None, status="failed")
    _run(r, "ring", "pacgan", 0, None, status="failed")  # only a failed run: no curve at all
    _run(r, "ring", "wgan", 0, [(100, 3, 0.5)], write_summary=False)  # still training
    # grid/gan: constant 5 modes, 0.25 HQ (tag "" once, missing twice); grid/wgan-lr2: 7, 8, 9 at step 50.
    for seed in range(3):
        tag = {"tag": ""} if seed == 0 else {}
        _run(r, "grid", "gan", seed, [(100, 5, 0.25), (200, 5, 0.25)], summary=tag)
        _run(r, "grid", "wgan-lr2", seed, [(50, 7 + seed, 0.5)], summary={"tag": "lr2"})
    return r


def test_modes_mean_band_and_seed_alignment(root: Path):
    got = C.curves(root, "modes")
    assert sorted(got) == ["grid", "ring"]
    assert sorted(got["ring"]) == ["gan", "wgan"]  # pacgan (failed, no metrics) contributes nothing
    c = got["ring"]["gan"]
    np.testing.assert_array_equal(c.steps, [100, 200, 300, 400])
    np.testing.assert_array_equal(c.n, [3, 3, 2, 1])  # the failed seed 3 is not counted
    np.testing.assert_allclose(c.mean, [2.0, 4.0, 4.5, 4.0])
    half = np.array([T2 * 1 / math.sqrt(3), T2 * 2 / math.sqrt(3), T1 * math.sqrt(4.5) / math.sqrt(2), 0.0])
    np.testing.assert_allclose(half[:2], [2.48414, 4.96828], rtol=1e-5)  # the worked numbers
    np.testing.assert_allclose(c.lo, c.mean - half, rtol=1e-9)
    np.testing.assert_allclose(c.hi, c.mean + half, rtol=1e-9)
    assert c.lo[3] == c.hi[3] == c.mean[3] == 4.0  # a single seed: no band
    w = got["ring"]["wgan"]
    np.testing.assert_array_equal(w.steps, [100])
    np.testing.assert_array_equal(w.n, [1])
    # A zero-variance curve has a zero-width band; a tagged variant gets its "-tag" label.
    g = got["grid"]["gan"]
    np.testing.assert_array_equal(g.n, [3, 3])
    np.testing.assert_allclose(g.lo, [5, 5])
    np.testing.assert_allclose(g.hi, [5, 5])
    assert sorted(got["grid"]) == ["gan", "wgan-lr2"]
    t = got["grid"]["wgan-lr2"]
    np.testing.assert_allclose([t.mean[0], t.hi[0] - t.mean[0]], [8.0, T2 / math.sqrt(3)])


def test_hq_is_scaled_to_percent(root: Path):
    c = C.curves(root, "hq")["ring"]["gan"]
    np.testing.assert_allclose(c.mean, [20.0, 20.0, 15.0, 10.0])
    np.testing.assert_allclose(c.hi - c.mean, [T2 * 10 / math.sqrt(3)] * 2 + [T1 * 5.0, 0.0])
    np.testing.assert_allclose(C.curves(root, "hq")["grid"]["gan"].mean, [25.0, 25.0])


def test_curve_stats_is_frozen(root: Path):
    c = C.curves(root, "modes")["ring"]["gan"]
    with pytest.raises(AttributeError):
        c.mean = np.zeros(4)  # type: ignore[misc]


def test_unknown_metric(root: Path):
    with pytest.raises(ValueError, match="'kl'.*valid choices: hq, modes"):
        C.curves(root, "kl")


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000


def test_plot_contents(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    figs = []
    real_save = plots._save

    def capture(fig, path):
        axes = fig.axes
        figs.append(
            {
                "suptitle": fig._suptitle.get_text(),
                "titles": [ax.get_title() for ax in axes],
                "lines": [
                    {ln.get_label(): (ln.get_ydata(), ln.get_linestyle()) for ln in ax.get_lines()}
                    for ax in axes
                ],
                "legend": [t.get_text() for t in fig.legends[0].get_texts()],
            }
        )
        real_save(fig, path)

    monkeypatch.setattr(plots, "_save", capture)
    out = tmp_path / "fig" / "ring.png"
    C.learning_curve_plot(root, "ring", out, n_modes=8)
    _check_png(out)
    (f,) = figs
    assert len(f["titles"]) == 2 and all("ring" in t for t in f["titles"])
    assert "ring" in f["suptitle"] and "mean over seeds, 95 % t band" in f["suptitle"]
    modes, hq = f["lines"]
    np.testing.assert_allclose(modes["gan"][0], [2.0, 4.0, 4.5, 4.0])
    np.testing.assert_allclose(hq["gan"][0], [20.0, 20.0, 15.0, 10.0])
    target = [v for k, v in modes.items() if k not in ("gan", "wgan")]
    assert len(target) == 1 and np.allclose(target[0][0], 8) and target[0][1] == "--"
    assert set(hq) == {"gan", "wgan"}  # no n_modes line in the HQ panel
    assert {"gan", "wgan"} <= set(f["legend"])
    with pytest.raises(ValueError, match="nowhere"):
        C.learning_curve_plot(root, "nowhere", tmp_path / "x.png")


def test_learning_curve_plots_writes_one_png_per_dataset(root: Path, tmp_path: Path):
    out_dir = tmp_path / "figs"
    paths = C.learning_curve_plots(root, out_dir, n_modes={"ring": 8})
    assert paths == {d: out_dir / f"learning_curves_{d}.png" for d in ("grid", "ring")}
    for p in paths.values():
        _check_png(p)


def test_twelve_variants_are_distinguishable():
    styles = [C._style(i) for i in range(20)]
    assert len(set(styles)) == 20
    rgb = np.array([color[:3] for color, _ in styles[:12]])
    gaps = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1) + 9 * np.eye(12)
    assert gaps.min() > 0.2  # 12 clearly different colours, not light/dark shades of one hue
    assert all(styles[i][1] != styles[i + 1][1] for i in range(19))  # neighbours differ in line style
