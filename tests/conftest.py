import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Tests are small; one thread keeps them fast and deterministic on 2-core CI machines.
    torch.set_num_threads(1)
    yield


@pytest.fixture
def float64():
    """float64 as the default dtype inside the test (for checks that must not see float32 rounding)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def tiny_train():
    """A training config small enough for a unit test (seconds)."""
    return {
        "iters": 40,
        "batch_size": 64,
        "z_dim": 8,
        "log_every": 10,
        "eval_every": 20,
        "ckpt_every": 20,
        "eval_samples": 200,
        "net": {"hidden": 16, "conv_width": 4},
    }


@pytest.fixture(autouse=True)
def _no_plugins(monkeypatch):
    # `mcbench --plugin` sets MCBENCH_PLUGINS for the process and its workers; no test leaks it.
    monkeypatch.setenv("MCBENCH_PLUGINS", "")
    yield


TINY_GATE = """
description = "a tiny gate: one check of VARIANT, 3 calibration seeds, 2 gate seeds"
alpha = 0.3
seeds = 2
calibration_seeds = 3
[train]
batch_size = 64
z_dim = 8
log_every = 25
eval_every = 200
eval_samples = 500
[train.net]
hidden = 32
[[check]]
variant = "VARIANT"
dataset = "bimodal-temperature"
iters = 400
passes = ["modes_captured >= 2"]
why = "both modes, one per label (a cGAN finds both in 400 iterations at this size)"
"""


@pytest.fixture
def tiny_gate():
    """The text of a gate file with one check of the given variant (seconds per run)."""
    return lambda variant: TINY_GATE.replace("VARIANT", variant)


@pytest.fixture(scope="session")
def dcgan_user_files(tmp_path_factory):
    """What a user of the PyTorch DCGAN example hands to ``mcbench diagnose``, made by that example's
    code (tests/dcgan_example.py): ``digits/`` (their 28x28 grey training folder), ``train.log`` (what
    the script printed), ``fake_samples.npy`` (500 samples, 3x64x64 in [-1, 1]) and ``netG.pt2`` (the
    generator exported with torch.export). 3 epochs of 10 batches at widths 8: about 20 s on one core."""
    import dcgan_example as example
    import numpy as np

    folder = tmp_path_factory.mktemp("dcgan-user")
    example.write_digits(folder / "digits", n=640)
    torch.set_num_threads(1)
    netG, log = example.train(folder / "digits", niter=3)
    (folder / "train.log").write_text(log)
    np.save(folder / "fake_samples.npy", example.samples(netG, 500))
    example.export(netG, folder / "netG.pt2")
    return folder
