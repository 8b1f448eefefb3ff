"""vectors:PATH, the user's own vectors: modes from labels or K-means cells, known answers and bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from baselines.errors import ConfigError
from benchmark.data.registry import get_dataset
from benchmark.data.vectors import VectorDataset, vectors
from diagnostics import mixture_coverage


def blobs(n=600, seed=0, weights=(0.5, 0.3, 0.2)):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [20.0, 0.0, 5.0], [0.0, 30.0, -5.0]])
    y = rng.choice(3, size=n, p=weights)
    return centres[y] + rng.normal(0, 1.0, (n, 3)), y


def write_csv(path, x, y=None, header=True):
    with open(path, "w") as f:
        if header:
            f.write(",".join(["a", "b", "c"][: x.shape[1]] + (["kind"] if y is not None else [])) + "\n")
        for i, row in enumerate(x):
            f.write(",".join(f"{v:.6f}" for v in row) + (f",m{y[i]}" if y is not None else "") + "\n")
    return path


def test_labels_column_gives_the_label_means_and_shares(tmp_path):
    x, y = blobs()
    ds = vectors(str(write_csv(tmp_path / "d.csv", x, y)), labels="kind")
    assert isinstance(ds, VectorDataset) and ds.mode_names == ("m0", "m1", "m2")
    x6 = np.round(x, 6)
    for j in range(3):
        np.testing.assert_allclose(ds.to_report_units(ds.centres[j]), x6[y == j].mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(ds.weights, np.bincount(y) / len(y))
    assert "3 labels (column 'kind')" in ds.source


def test_kmeans_pseudo_modes_find_separated_blobs_and_hold_99_percent_of_real(tmp_path):
    x, y = blobs()
    np.save(tmp_path / "d.npy", x)
    ds = vectors(str(tmp_path / "d.npy"), pseudo_modes=3)
    assert ds.n_modes == 3 and "3 K-means pseudo-modes" in ds.source
    np.testing.assert_allclose(np.sort(ds.weights), np.sort(np.bincount(y) / len(y)))
    # Each blob lies in one cell (K-means on clearly separated blobs recovers them).
    members = ds.members
    assert all(len(np.unique(members[y == j])) == 1 for j in range(3))
    # sigma is a third of the 99 % radius: about 99 % of the real rows are "high quality".
    real = ds.sample(20000, torch.Generator().manual_seed(0)).numpy()
    hq = mixture_coverage(None, real, **ds.modes())["high_quality_score"]
    assert 0.975 <= hq <= 1.0


def test_default_is_ten_cells_and_the_stream_is_seeded(tmp_path):
    x, _ = blobs()
    np.savez(tmp_path / "d.npz", x=x)
    ds = get_dataset(f"vectors:{tmp_path / 'd.npz'}")
    assert ds.n_modes == 10
    a = ds.sample(50, torch.Generator().manual_seed(3))
    b = ds.sample(50, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    rows = {tuple(r) for r in np.round(ds.data, 5)}
    assert all(tuple(r) in rows for r in np.round(a.numpy(), 5))  # real rows, not new points


def test_npz_labels_and_one_column_npy(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "l.npz", x=x, labels=y)
    assert vectors(str(tmp_path / "l.npz")).n_modes == 3
    np.save(tmp_path / "t.npy", np.concatenate([np.full(50, -27.0), np.full(450, 36.0)]) + np.arange(500) % 7)
    one = vectors(str(tmp_path / "t.npy"), pseudo_modes=2)
    assert one.dim == 1 and sorted(np.round(one.weights, 2)) == [0.1, 0.9]


def test_labels_file(tmp_path):
    x, y = blobs()
    np.save(tmp_path / "d.npy", x)
    (tmp_path / "y.txt").write_text("\n".join(f"k{v}" for v in y))
    assert vectors(str(tmp_path / "d.npy"), labels=str(tmp_path / "y.txt")).mode_names == ("k0", "k1", "k2")


@pytest.mark.parametrize(
    "make,options,expected",
    [
        (lambda p: p.write_text(""), {}, "is empty"),
        (lambda p: p.write_text("a,b\n1,2\n"), {}, "at least 20 rows"),
        (lambda p: write_csv(p, np.full((30, 2), np.nan)), {}, "60 NaN or infinite"),
        (lambda p: write_csv(p, *blobs(40)), {}, "give it with --labels COLUMN"),
        (lambda p: write_csv(p, *blobs(40)), {"labels": "colour"}, "no column 'colour'"),
        (lambda p: write_csv(p, blobs(40)[0]), {"labels": "ys.txt"}, "labels file ys.txt: no such file"),
        (lambda p: write_csv(p, *blobs(40)), {"labels": "kind", "pseudo_modes": 4}, "applies only without"),
        (lambda p: write_csv(p, blobs(40)[0]), {"pseudo_modes": 1}, "pseudo_modes 1: must be >= 2"),
        (lambda p: write_csv(p, blobs(40)[0]), {"pseudo_modes": 30}, "too few for 30"),
    ],
)
def test_bad_input_is_one_line(tmp_path, make, options, expected):
    path = tmp_path / "d.csv"
    make(path)
    with pytest.raises(ConfigError) as err:
        vectors(str(path), **options)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_labels_file_of_the_wrong_length(tmp_path):
    x, y = blobs(40)
    np.save(tmp_path / "d.npy", x)
    (tmp_path / "y.txt").write_text("\n".join(str(v) for v in y[:-3]))
    with pytest.raises(ConfigError, match="37 labels for 40 rows"):
        vectors(str(tmp_path / "d.npy"), labels=str(tmp_path / "y.txt"))


def test_cli_trains_on_vectors_and_refuses_bad_ones_in_one_line(tmp_path):
    x, y = blobs(200)
    write_csv(tmp_path / "d.csv", x, y)
    base = [sys.executable, "-m", "benchmark", "run", "--variant", "gan", "--out", str(tmp_path / "runs")]
    ok = subprocess.run(
        [*base, "--dataset", f"vectors:{tmp_path / 'd.csv'}", "--labels", "kind", "--iters", "20",
         "--log-every", "10", "--eval-every", "10"],
        capture_output=True, text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "runs" / "vectors-d.csv" / "gan" / "seed0" / "summary.json").exists()
    missing = f"vectors:{tmp_path / 'none.csv'}"
    bad = subprocess.run([*base, "--dataset", missing], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "no such file" in bad.stderr
