"""``mcbench diagnose``: verdicts on known cases, every input form, and one-line errors for bad input."""

import json
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from benchmark import cli
from benchmark.data.registry import get_dataset
from benchmark.diagnose.inputs import to_samples


def ring8(n, seed):
    x, y = get_dataset("ring8").sample_labeled(n, torch.Generator().manual_seed(seed))
    return x.numpy(), y.numpy()


def diagnose(capsys, tmp_path, *argv):
    """Run the command with --json; return (exit code, report, stderr)."""
    out = tmp_path / "report.json"
    rc = cli.main(["diagnose", *map(str, argv), "--out", str(out), "--json"])
    captured = capsys.readouterr()
    if rc != 0:
        return rc, None, captured.err
    report = json.loads(captured.out)
    assert json.loads(out.read_text()) == report  # the file holds the same report
    return rc, report, captured.err


@pytest.fixture
def ring_files(tmp_path):
    real, _ = ring8(800, 0)
    fake, labels = ring8(800, 1)
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake)
    np.save(tmp_path / "dropped.npy", fake[labels != 2])  # mode 2 is at 90 degrees
    np.save(tmp_path / "repeated.npy", np.repeat(fake[:5], 60, axis=0))
    return tmp_path


def test_real_data_against_itself_is_healthy_and_the_report_has_its_keys(ring_files, capsys):
    real = ring_files / "real.npy"
    rc, report, _ = diagnose(capsys, ring_files, "--real", real, "--fake", real, "--dataset", "ring8")
    assert rc == 0 and report["verdict"] == "healthy"
    assert set(report) >= {"verdict", "evidence", "inputs", "modes", "metrics", "unavailable", "notes"}
    assert report["modes"]["captured"] == report["modes"]["covered_by_real"] == 8
    raw = report["metrics"]["raw"]
    assert raw["frechet_distance"] == pytest.approx(0, abs=1e-9) and raw["recall_score"] == 1.0
    assert raw["ndb"] == 0 and raw["dup_rate_fake"] == raw["dup_rate_real"]
    assert "vectors" in report["unavailable"]["inception-v3-compat"]
    assert report["inputs"]["real"] == {
        "path": str(real),
        "source": ".npy array",
        "n": 800,
        "kind": "vectors",
        "shape": [2],
        "pixel_range": None,
    }


def test_text_output_starts_with_the_verdict(ring_files, capsys):
    out = ring_files / "r.json"
    argv = ["diagnose", "--real", str(ring_files / "real.npy"), "--fake", str(ring_files / "fake.npy")]
    assert cli.main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("verdict: healthy\n")
    assert "Frechet distance" in text and "inception-v3-compat column empty" in text
    assert json.loads(out.read_text())["verdict"] == "healthy"


def test_a_few_repeated_samples_are_collapsed(ring_files, capsys):
    rc, report, _ = diagnose(
        capsys, ring_files, "--real", ring_files / "real.npy", "--fake", ring_files / "repeated.npy"
    )
    assert rc == 0 and report["verdict"] == "collapsed"
    assert any("near-duplicate pairs" in line for line in report["evidence"])
    assert report["metrics"]["raw"]["dup_rate_fake"] > 0.1


def test_a_removed_mixture_mode_is_named(ring_files, capsys):
    rc, report, _ = diagnose(
        capsys, ring_files, "--real", ring_files / "real.npy", "--fake", ring_files / "dropped.npy",
        "--dataset", "ring8",
    )  # fmt: skip
    assert rc == 0 and report["verdict"] == "partially collapsed"
    assert [m["name"] for m in report["modes"]["missing"]] == ["90deg"]
    assert "90deg" in report["evidence"][0]
    assert report["modes"]["numbers"]["modes_captured"] == 7


def write_clusters(folder, n, seed, skip=None, size=8, k=5):
    """n tiny grey PNGs in k well-separated clusters, named c{cluster}_{i}.png; cluster `skip` left out."""
    prototypes = np.random.default_rng(123).integers(0, 256, size=(k, size, size))
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for i in range(n):
        c = i % k
        if c == skip:
            continue
        image = np.clip(prototypes[c] + rng.normal(0, 8, (size, size)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(folder / f"c{c}_{i:04d}.png")
    return folder


def test_image_folders_without_a_dataset_name_the_missing_cluster(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no Inception weights in the hub cache
    real = write_clusters(tmp_path / "real", 300, 0)
    fake = write_clusters(tmp_path / "fake", 300, 1, skip=3)
    rc, report, _ = diagnose(capsys, tmp_path, "--real", real, "--fake", real)
    assert rc == 0 and report["verdict"] == "healthy"
    assert report["inputs"]["real"]["shape"] == [1, 8, 8]

    rc, report, _ = diagnose(capsys, tmp_path, "--real", real, "--fake", fake)
    assert rc == 0 and report["verdict"] == "partially collapsed"
    missing = report["modes"]["missing"]
    assert missing and all("nearest REAL sample c3_" in m["name"] for m in missing)
    assert report["modes"]["kind"] == "bins"
    assert any("c3_" in line for line in report["evidence"])
    reason = report["unavailable"]["inception-v3-compat"]
    assert "--inception-weights" in reason and "nothing is downloaded" in reason


class RingGenerator(nn.Module):
    """z (n, 3) -> a ring8 sample: the mode from Phi(z0), uniform over 8; noise 0.01 from z1, z2."""

    def __init__(self, collapsed: bool = False):
        super().__init__()
        self.collapsed = collapsed

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        u = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2.0)))
        k = torch.clamp(torch.floor(u * 8), max=7.0)
        if self.collapsed:
            k = torch.zeros_like(k)
        angle = k * (2 * math.pi / 8)
        return torch.stack([torch.cos(angle), torch.sin(angle)], 1) + 0.01 * z[:, 1:3]


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize(("collapsed", "verdict"), [(False, "healthy"), (True, "collapsed")])
def test_torchscript_generator_against_the_dataset(tmp_path, capsys, collapsed, verdict):
    path = tmp_path / "g.pt"
    torch.jit.script(RingGenerator(collapsed)).save(str(path))
    rc, report, _ = diagnose(
        capsys, tmp_path, "--fake", path, "--z-dim", 3, "--num-samples", 800, "--dataset", "ring8"
    )  # REAL is drawn from the dataset
    assert rc == 0 and report["verdict"] == verdict
    assert report["inputs"]["fake"]["n"] == 800 and "TorchScript" in report["inputs"]["fake"]["source"]
    assert report["modes"]["captured"] == (1 if collapsed else 8)


def test_training_log_events_are_evidence(ring_files, capsys):
    log = ring_files / "log.csv"
    rows = ["step,d_loss,g_loss"] + [
        f"{s},{1.2 if s < 150 else 1e-4},{0.8 if s < 150 else 9.0}" for s in range(400)
    ]
    log.write_text("\n".join(rows) + "\n")
    real = ring_files / "real.npy"
    rc, report, _ = diagnose(capsys, ring_files, "--real", real, "--fake", real, "--log", log)
    assert rc == 0 and report["verdict"] == "healthy"  # the samples decide; the log is evidence
    assert any(line.startswith("training log: D loss fell") for line in report["evidence"])
    assert report["history"]["events"][0]["kind"] == "d_loss_to_zero"


@pytest.mark.parametrize(
    ("shape", "layout"),
    [
        ((12, 8, 8, 3), (3, 8, 8)),
        ((12, 3, 8, 8), (3, 8, 8)),
        ((12, 3, 8, 3), (3, 8, 3)),
        ((12, 8, 8), (1, 8, 8)),
    ],
)
def test_image_layouts(shape, layout):
    s = to_samples(np.zeros(shape, dtype=np.uint8), "REAL", "x.npy", ".npy")
    assert s.data.shape[1:] == layout and s.data.dtype == np.uint8


@pytest.mark.parametrize(
    ("low", "high", "read_as"), [(-1.0, 1.0, "signed"), (0.0, 1.0, "unit"), (0, 255.0, "byte")]
)
def test_float_pixel_ranges_are_detected(low, high, read_as):
    x = np.linspace(low, high, 12 * 16, dtype=np.float32).reshape(12, 1, 4, 4)
    s = to_samples(x, "FAKE", "x.npy", ".npy")
    assert s.pixel_range == read_as
    assert s.data.min() == 0 and s.data.max() == 255


class Unpickled:
    """Unpickling this creates `marker` (a stand-in for code a malicious file would run)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def bad_inputs(tmp_path):
    """(argv, file named in the message, text in the message) for each kind of bad input."""
    real, _ = ring8(100, 0)
    np.save(tmp_path / "real.npy", real)
    r = str(tmp_path / "real.npy")
    np.save(tmp_path / "nan.npy", np.where(np.arange(200).reshape(100, 2) == 7, np.nan, real))
    np.save(tmp_path / "bool.npy", np.ones((100, 2), dtype=bool))
    np.save(tmp_path / "shape5.npy", np.zeros((100, 2, 2, 2, 2), dtype=np.float32))
    np.save(tmp_path / "channels.npy", np.zeros((100, 5, 5, 5), dtype=np.uint8))
    np.save(tmp_path / "few.npy", real[:4])
    np.save(
        tmp_path / "pickled.npy", np.array([Unpickled(tmp_path / "ran")], dtype=object), allow_pickle=True
    )
    torch.save({"x": Unpickled(tmp_path / "ran")}, tmp_path / "pickled.pt")
    (tmp_path / "pickle.pkl").write_bytes(pickle.dumps(Unpickled(tmp_path / "ran")))
    np.savez(tmp_path / "two.npz", a=real, b=real)
    images = write_clusters(tmp_path / "images", 20, 0)
    small = tmp_path / "small"
    small.mkdir()
    for i in range(20):
        Image.fromarray(np.zeros((6, 6), dtype=np.uint8)).save(small / f"{i}.png")
    broken = write_clusters(tmp_path / "broken", 20, 0)
    (broken / "c0_0005.png").write_bytes(b"not a png")
    mixed = write_clusters(tmp_path / "mixed", 20, 0)
    Image.fromarray(np.zeros((6, 6), dtype=np.uint8)).save(mixed / "c9_odd.png")
    (tmp_path / "nolosses.csv").write_text("step,lr\n1,0.1\n2,0.1\n")
    ts = tmp_path / "g.pt"
    with pytest.warns(FutureWarning):
        torch.jit.script(RingGenerator()).save(str(ts))
    return [
        (["--real", r, "--fake", str(tmp_path / "nope")], "nope", "no such file or folder"),
        (["--real", r, "--fake", str(tmp_path / "nan.npy")], "nan.npy", "NaN"),
        (["--real", r, "--fake", str(tmp_path / "bool.npy")], "bool.npy", "dtype bool"),
        (["--real", r, "--fake", str(tmp_path / "shape5.npy")], "shape5.npy", "shape"),
        (["--real", r, "--fake", str(tmp_path / "channels.npy")], "channels.npy", "1 or 3 channels"),
        (["--real", r, "--fake", str(tmp_path / "few.npy")], "few.npy", "at least 10"),
        (["--real", r, "--fake", str(tmp_path / "pickled.npy")], "pickled.npy", "refused"),
        (["--real", r, "--fake", str(tmp_path / "pickled.pt")], "pickled.pt", "refused"),
        (["--real", r, "--fake", str(tmp_path / "pickle.pkl")], "pickle.pkl", "refused (Unsupported operand"),
        (["--real", r, "--fake", str(tmp_path / "two.npz")], "two.npz", "name one of them"),
        (["--real", str(images), "--fake", str(small), "--no-resize"], "small", "as --no-resize (resize"),
        (["--real", str(images), "--fake", str(broken)], "c0_0005.png", "cannot be read as an image"),
        (["--real", str(images), "--fake", str(mixed)], "c9_odd.png", "6x6"),
        (
            ["--real", r, "--fake", r, "--log", str(tmp_path / "nolosses.csv")],
            "nolosses.csv",
            "no D or G loss",
        ),
        (["--real", r, "--fake", str(ts)], "g.pt", "--z-dim"),
        (["--real", r, "--fake", r, "--dataset", "grid25x"], "grid25x", "unknown dataset"),
        (["--real", str(images), "--fake", r], "real.npy", "vectors"),
        (
            ["--real", str(images), "--fake", str(images), "--inception-weights", str(tmp_path / "w.pth")],
            "w.pth",
            "no such",
        ),
    ]


def test_every_bad_input_is_one_line_naming_the_file_with_exit_code_2(tmp_path, capsys):
    cases = bad_inputs(tmp_path)
    for argv, named, text in cases:
        rc = cli.main(["diagnose", *argv, "--out", str(tmp_path / "r.json")])
        err = capsys.readouterr().err.strip()
        assert rc == 2, (argv, err)
        assert "\n" not in err and named in err and text in err, err
    assert not (tmp_path / "ran").exists()  # nothing was unpickled
    assert not (tmp_path / "r.json").exists()


def test_exit_code_2_from_the_shell(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmark",
            "diagnose",
            "--real",
            str(tmp_path / "a"),
            "--fake",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "REAL" in proc.stderr and "no such file" in proc.stderr


class ToyClassifier(nn.Module):
    """Mode classifier of write_clusters' images: logits are minus the distance to each prototype."""

    def __init__(self, prototypes):
        super().__init__()
        self.register_buffer("p", torch.as_tensor(prototypes, dtype=torch.float32).flatten(1) / 127.5 - 1)
        self.held_out_accuracy = 1.0
        self.n_classes = len(prototypes)

    def features(self, x):
        return -torch.cdist(x.flatten(1), self.p)

    def forward(self, x):
        return 10 * self.features(x)


def _toy_image_set(tmp_path, monkeypatch, accuracy=1.0):
    """A 5-cluster 8x8 image dataset "toy" with a prototype classifier of the given held-out
    accuracy; returns folders of real images and of fakes that miss cluster d."""
    from benchmark.data import classifiers
    from benchmark.data import registry as datasets
    from benchmark.data.images import ImageDataset

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    prototypes = np.random.default_rng(123).integers(0, 256, size=(5, 8, 8))  # as in write_clusters
    images = np.clip(
        prototypes[np.arange(200) % 5] + np.random.default_rng(2).normal(0, 8, (200, 8, 8)), 0, 255
    )
    toy = ImageDataset(
        name="toy",
        description="5 clusters",
        images=torch.as_tensor(images, dtype=torch.uint8)[:, None],
        labels=torch.arange(200) % 5,
        mode_names=("a", "b", "c", "d", "e"),
        source="test",
    )
    classifier = ToyClassifier(prototypes)
    classifier.held_out_accuracy = accuracy
    monkeypatch.setattr(datasets, "get_dataset", lambda name, **options: toy)
    monkeypatch.setattr(classifiers, "classifier_for", lambda *args, **kwargs: classifier)
    return write_clusters(tmp_path / "real", 300, 0), write_clusters(tmp_path / "fake", 300, 1, skip=3)


def test_image_dataset_names_the_missing_mode_with_its_classifier(tmp_path, capsys, monkeypatch):
    real, fake = _toy_image_set(tmp_path, monkeypatch)
    rc, report, _ = diagnose(capsys, tmp_path, "--real", real, "--fake", fake, "--dataset", "toy")
    assert rc == 0 and report["verdict"] == "partially collapsed"
    assert [m["name"] for m in report["modes"]["missing"]] == ["d"]
    assert report["primary_space"] == "classifier" and {"raw", "classifier"} <= set(report["metrics"])
    assert report["modes"]["numbers"]["modes_captured"] == 4


def rgb_upscaled(folder, size):
    """The folder's grey images as a DCGAN would write them: RGB, ``size`` pixels, floats in [-1, 1]
    (n, H, W, C)."""
    out = []
    for f in sorted(folder.glob("*.png")):
        with Image.open(f) as im:
            out.append(np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)))
    return np.stack(out).astype(np.float32) / 127.5 - 1


def test_images_of_another_size_and_colour_are_converted_to_the_datasets(tmp_path, capsys, monkeypatch):
    real, fake = _toy_image_set(tmp_path, monkeypatch)
    np.save(tmp_path / "fake_rgb.npy", rgb_upscaled(fake, 16))
    rc, report, _ = diagnose(
        capsys, tmp_path, "--real", real, "--fake", tmp_path / "fake_rgb.npy", "--dataset", "toy"
    )
    line = "FAKE: 3x16x16 -> 1x8x8 (RGB to grey by ITU-R 601 luma, resized 16x16 -> 8x8 with Lanczos)"
    assert rc == 0 and report["inputs"]["conversions"] == [f"{line} to fit toy"]
    assert f"{line} to fit toy" in report["notes"]
    # The classifier still names the missing mode. (The verdict is "collapsed", not "partially": these
    # clusters are white noise, which a 8 -> 16 -> 8 round trip blurs beyond the toy classifier's spread.)
    assert report["modes"]["captured"] == 4 and [m["name"] for m in report["modes"]["missing"]] == ["d"]
    argv = ["--real", str(real), "--fake", str(tmp_path / "fake_rgb.npy"), "--dataset", "toy", "--no-resize"]
    rc = cli.main(["diagnose", *argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "FAKE" in err and "toy has images (1, 8, 8)" in err and "--no-resize" in err, err


def test_without_a_dataset_the_larger_set_is_brought_to_the_smaller(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    real = write_clusters(tmp_path / "real", 300, 0)
    np.save(tmp_path / "big.npy", rgb_upscaled(write_clusters(tmp_path / "fake", 300, 1), 16))
    rc, report, _ = diagnose(capsys, tmp_path, "--real", real, "--fake", tmp_path / "big.npy")
    assert rc == 0 and report["modes"]["missing"] == []  # the same clusters, once converted
    assert any(n.startswith("resampling smooths images") for n in report["notes"])  # white noise, smoothed
    assert report["inputs"]["conversions"] == [
        "FAKE: 3x16x16 -> 1x8x8 (RGB to grey by ITU-R 601 luma, resized 16x16 -> 8x8 with Lanczos)"
    ]
    assert report["inputs"]["fake"]["shape"] == report["inputs"]["real"]["shape"] == [1, 8, 8]


def test_a_weak_classifier_names_the_option_the_command_accepts(tmp_path, capsys, monkeypatch):
    real, fake = _toy_image_set(tmp_path, monkeypatch, accuracy=0.9)
    rc, report, _ = diagnose(capsys, tmp_path, "--real", real, "--fake", fake, "--dataset", "toy")
    assert rc == 0 and report["modes"]["kind"] == "bins"  # no classifier coverage: bins instead
    note = next(n for n in report["notes"] if "below the required 0.9500" in n)
    assert "--min-accuracy" in note
    rc, report, _ = diagnose(
        capsys, tmp_path, "--real", real, "--fake", fake, "--dataset", "toy", "--min-accuracy", "0.85"
    )
    assert rc == 0 and report["modes"]["numbers"]["modes_captured"] == 4  # the option is accepted
    assert cli.main(["diagnose", "--fake", str(fake), "--min-accuracy", "2"]) == 2
    assert "--min-accuracy must be in [0, 1], got 2.0" in capsys.readouterr().err


def test_nothing_is_written_unless_asked(ring_files, capsys, monkeypatch):
    cwd = ring_files / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    argv = ["diagnose", "--real", str(ring_files / "real.npy"), "--fake", str(ring_files / "fake.npy")]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("verdict: healthy") and "report:" not in text
    assert list(cwd.iterdir()) == []
    assert cli.main([*argv, "--out", "r.json"]) == 0 and (cwd / "r.json").is_file()
    assert "report: r.json" in capsys.readouterr().out


def test_large_images_from_one_distribution_are_healthy_in_the_projected_space(tmp_path, capsys):
    # 3 x 32 x 32 = 3,072 values: above 512 the raw space is a random projection, which must treat
    # REAL and FAKE alike (a PCA fitted on REAL made an independent FAKE draw look collapsed).
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)

    def draw(n):
        return np.clip(prototypes[rng.integers(0, 4, n)] + rng.normal(0, 0.1, (n, 32, 32, 3)), -1, 1)

    np.save(tmp_path / "real.npy", draw(300).astype(np.float32))  # channels-last, float in [-1, 1]
    np.save(tmp_path / "fake.npy", draw(300).astype(np.float32))
    rc, report, _ = diagnose(
        capsys, tmp_path, "--real", tmp_path / "real.npy", "--fake", tmp_path / "fake.npy"
    )
    assert rc == 0 and report["verdict"] == "healthy", report["evidence"]
    assert report["primary_space"] == "raw-rp256" and report["inputs"]["fake"]["pixel_range"] == "signed"
    assert report["inputs"]["fake"]["shape"] == [3, 32, 32]


@pytest.mark.parametrize(
    ("fake", "fail_on", "code"),
    [
        ("fake.npy", "partial", 0),
        ("dropped.npy", "collapsed", 0),
        ("dropped.npy", "partial", 1),
        ("repeated.npy", "collapsed", 1),
        ("repeated.npy", None, 0),
    ],
)
def test_fail_on_gives_scripts_an_exit_code(ring_files, capsys, fake, fail_on, code):
    argv = ["diagnose", "--real", str(ring_files / "real.npy"), "--fake", str(ring_files / fake)]
    argv += ["--dataset", "ring8"] + (["--fail-on", fail_on] if fail_on else [])
    assert cli.main(argv) == code
    assert capsys.readouterr().out.startswith("verdict: ")  # the report is printed either way


def test_fail_on_an_unknown_level_is_exit_code_2(ring_files, capsys):
    argv = ["diagnose", "--fake", str(ring_files / "fake.npy"), "--dataset", "ring8", "--fail-on", "bad"]
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--fail-on: invalid choice: 'bad'" in err and "partial" in err and "collapsed" in err
