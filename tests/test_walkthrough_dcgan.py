"""docs/walkthrough-dcgan.md at a unit test's size: the PyTorch DCGAN example's own outputs (its printed
log, its 3x64x64 samples in [-1, 1], its generator exported with torch.export) and the user's 28x28
grey training folder go to ``mcbench diagnose`` exactly as they come, and the verdict is right.

The DCGAN of ``tests/dcgan_example.py`` trains 30 batches at widths 8; its samples are then nearly one
blob, far from every digit and from each other alike, which is what the verdict must say."""

from __future__ import annotations

import json
import subprocess
import sys


def diagnose(folder, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmark", "diagnose", "--real", "digits", *args, "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def test_samples_and_printed_log_as_they_come(dcgan_user_files):
    report = diagnose(dcgan_user_files, "--fake", "fake_samples.npy", "--log", "train.log")
    assert report["verdict"] == "collapsed"
    assert report["inputs"]["fake"]["shape"] == report["inputs"]["real"]["shape"] == [1, 28, 28]
    (conversion,) = report["inputs"]["conversions"]
    assert conversion.startswith("FAKE: 3x64x64 -> 1x28x28") and "luma" in conversion
    assert report["history"]["format"] == "dcgan-print"
    assert report["history"]["rows"] == 30  # 3 epochs of 10 batches, one printed line each
    assert {"d_loss", "g_loss", "d_real", "d_fake", "step"} <= set(report["history"]["columns"])
    m = report["metrics"][report["primary_space"]]
    assert m["dup_rate_fake"] > 0.5 and m["dup_rate_real"] < 0.01  # one blob against varied digits
    assert report["modes"]["captured"] <= 2


def test_exported_generator_as_it_comes(dcgan_user_files):
    report = diagnose(dcgan_user_files, "--fake", "netG.pt2", "--num-samples", "600")
    assert report["verdict"] == "collapsed"
    assert report["inputs"]["fake"]["n"] == 600
    assert "latents (n, 100, 1, 1)" in report["inputs"]["fake"]["source"]


def test_no_resize_refuses_in_one_line(dcgan_user_files):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmark", "diagnose", "--real", "digits", "--fake", "fake_samples.npy",
         "--no-resize"],
        cwd=dcgan_user_files,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "--no-resize" in proc.stderr
