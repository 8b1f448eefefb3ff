"""Training logs as people have them: printed DCGAN / PyTorch-GAN / key-value logs, Lightning's CSVLogger
metrics.csv, column aliases and user mappings, one-line errors, and the format named in the report."""

import json

import numpy as np
import pytest

from benchmark import cli
from benchmark.diagnose.text import render_text
from diagnostics import HistoryError, load_history
from diagnostics.history import read_history

# pytorch/examples dcgan/main.py: the arguments, the seed, then one line per iteration
EXAMPLES_DCGAN = """\
Namespace(dataset='cifar10', dataroot='./data', workers=2, batchSize=64, imageSize=64, nz=100, ngf=64, \
ndf=64, niter=25, lr=0.0002, beta1=0.5, cuda=False, dry_run=False, ngpu=1, netG='', netD='', outf='.', \
manualSeed=None, classes='bedroom', mps=False)
Random Seed:  4242
Files already downloaded and verified
[0/25][0/782] Loss_D: 1.6124 Loss_G: 4.5530 D(x): 0.5541 D(G(z)): 0.5456 / 0.0132
[0/25][1/782] Loss_D: 1.1008 Loss_G: 5.4413 D(x): 0.7318 D(G(z)): 0.4379 / 0.0058
/site-packages/torch/nn/modules/loss.py:535: UserWarning: Using a target size that is different

[1/25][0/782] Loss_D: nan Loss_G: 0.0000 D(x): 0.9000 D(G(z)): 0.1000 / 0.2000
"""

# the PyTorch DCGAN tutorial: tab separated, every 50 iterations
TUTORIAL_DCGAN = (
    "Random Seed:  999\nStarting Training Loop...\n"
    "[0/5][0/1583]\tLoss_D: 1.9744\tLoss_G: 5.7441\tD(x): 0.5657\tD(G(z)): 0.6439 / 0.0052\n"
    "[0/5][50/1583]\tLoss_D: 0.0757\tLoss_G: 28.1105\tD(x): 0.9603\tD(G(z)): 0.0000 / 0.0000\n"
    "100%|##########| 1583/1583 [01:02<00:00]\r[1/5][0/1583]\tLoss_D: 0.5\tLoss_G: 2.0\tD(x): 0.7\t"
    "D(G(z)): 0.3 / 0.2\n"
)

PYTORCH_GAN = """\
Namespace(n_epochs=200, batch_size=64, lr=0.0002)
[Epoch 0/200] [Batch 0/938] [D loss: 0.693147] [G loss: 0.712345]
[Epoch 0/200] [Batch 1/938] [D loss: 0.688000, acc: 50%] [G loss: 0.720000, adv: 0.500000] ETA: 0:01:02
[Epoch 1/200] [Batch 0/938] [D loss: 0.500000] [G loss: 1.000000]
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_examples_dcgan_log(tmp_path):
    h, fmt = read_history(write(tmp_path, "train.log", EXAMPLES_DCGAN))
    assert fmt == "dcgan-print"
    assert list(h["step"]) == [0, 1, 782]  # epoch * N + i
    np.testing.assert_array_equal(h["d_loss"], [1.6124, 1.1008, np.nan])
    assert list(h["g_loss"]) == [4.5530, 5.4413, 0.0]
    assert list(h["d_real"]) == [0.5541, 0.7318, 0.9]
    assert list(h["d_fake"]) == [0.5456, 0.4379, 0.1]  # D's output on fakes before D's update
    assert list(h["d_fake_after_d_step"]) == [0.0132, 0.0058, 0.2]
    assert list(h["epoch"]) == [0, 0, 1]


def test_tutorial_dcgan_log(tmp_path):
    h, fmt = read_history(write(tmp_path, "out.txt", TUTORIAL_DCGAN))
    assert fmt == "dcgan-print"
    assert list(h["step"]) == [0, 50, 1583]
    assert list(h["d_loss"]) == [1.9744, 0.0757, 0.5]
    assert list(h["g_loss"]) == [5.7441, 28.1105, 2.0]
    assert list(h["d_fake"]) == [0.6439, 0.0, 0.3] and list(h["d_fake_after_d_step"]) == [0.0052, 0.0, 0.2]


def test_pytorch_gan_log(tmp_path):
    h, fmt = read_history(write(tmp_path, "gan.log", PYTORCH_GAN))
    assert fmt == "pytorch-gan-print"
    assert list(h["step"]) == [0, 1, 938]
    assert list(h["d_loss"]) == [0.693147, 0.688, 0.5] and list(h["g_loss"]) == [0.712345, 0.72, 1.0]
    np.testing.assert_array_equal(h["acc"], [np.nan, 50.0, np.nan])
    np.testing.assert_array_equal(h["adv"], [np.nan, 0.5, np.nan])


def test_key_value_printed_log(tmp_path):
    text = (
        "Using device cpu\n"
        "Epoch [1/200], Step [200/600], d_loss: 0.1342, g_loss: 2.3111, D(x): 0.93, D(G(z)): 0.07\n"
        "Epoch [1/200], Step [400/600], d_loss: 0.2000, g_loss: 2.4000, D(x): 0.91, D(G(z)): 0.08\n"
        "Epoch [2/200], Step [200/600], d_loss: 0.3000, g_loss: 2.5000, D(x): 0.90, D(G(z)): 0.09\n"
    )
    h, fmt = read_history(write(tmp_path, "yunjey.log", text))
    assert fmt == "key-value-print"
    assert list(h["step"]) == [800, 1000, 1400]
    assert list(h["d_loss"]) == [0.1342, 0.2, 0.3] and list(h["d_fake"]) == [0.07, 0.08, 0.09]


def test_printed_log_after_a_json_config_line(tmp_path):
    text = json.dumps({"lr": 0.0002, "niter": 2}) + "\n" + TUTORIAL_DCGAN
    assert read_history(write(tmp_path, "out.log", text))[1] == "dcgan-print"


def lightning_metrics(tmp_path, calls):
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(str(tmp_path), name="gan")
    for metrics, step in calls:
        logger.log_metrics(metrics, step=step)
    logger.save()
    return tmp_path / "gan" / "version_0"


def test_lightning_csv_logger_sparse_rows(tmp_path):
    # what a LightningModule logging d_loss / g_loss with on_step and on_epoch writes: one row per call
    run = lightning_metrics(
        tmp_path,
        [
            ({"train/g_loss_step": 1.5, "epoch": 0}, 0),
            ({"train/d_loss_step": 0.75, "epoch": 0}, 0),
            ({"train/g_loss_step": 1.25, "epoch": 0}, 1),
            ({"train/d_loss_step": 0.5, "epoch": 0}, 1),
            ({"train/d_loss_epoch": 0.625, "train/g_loss_epoch": 1.375, "epoch": 0}, 1),
            ({"train/g_loss_step": 1.0, "epoch": 1}, 2),
        ],
    )
    for where in (run, run / "metrics.csv"):
        h, fmt = read_history(where)
        assert fmt == "lightning-csv"
        assert list(h["step"]) == [0, 1, 2]  # rows of one step merged
        np.testing.assert_array_equal(h["d_loss"], [0.75, 0.5, np.nan])  # per-step; nothing invented
        np.testing.assert_array_equal(h["g_loss"], [1.5, 1.25, 1.0])
        np.testing.assert_array_equal(h["train/d_loss_epoch"], [np.nan, 0.625, np.nan])
        assert list(h["epoch"]) == [0, 0, 1]


def test_lightning_plain_names_and_epoch_only_fallback(tmp_path):
    # Lightning's GAN template logs d_loss and g_loss; here G logs per step, D only per epoch
    run = lightning_metrics(
        tmp_path, [({"g_loss": 2.0}, 0), ({"g_loss": 1.5}, 1), ({"d_loss_epoch": 0.5, "g_loss": 1.0}, 1)]
    )
    h, fmt = read_history(run)
    assert fmt == "lightning-csv" and list(h["step"]) == [0, 1]
    assert list(h["g_loss"]) == [2.0, 1.0]  # a later value of the same step wins
    np.testing.assert_array_equal(h["d_loss"], [np.nan, 0.5])  # only the aggregate was logged


@pytest.mark.parametrize(
    ("d_name", "g_name"),
    [
        ("Loss_D", "Loss_G"),
        ("errD", "errG"),
        ("loss_D", "loss_G"),
        ("Loss/D", "Loss/G"),
        ("loss/d", "loss/g"),
        ("train/d_loss", "train/g_loss"),
        ("d_loss_step", "g_loss_step"),
        ("discriminator_loss", "generator_loss"),
        ("lossD", "lossG"),
        ("D loss", "G loss"),
    ],
)
def test_column_aliases(tmp_path, d_name, g_name):
    path = write(tmp_path, "h.csv", f"step,{d_name},{g_name}\n5,0.25,0.75\n")
    h = load_history(path)
    assert set(h) == {"step", "d_loss", "g_loss"} and h["d_loss"][0] == 0.25 and h["g_loss"][0] == 0.75


def test_per_step_beats_per_epoch_and_plain_beats_prefixed(tmp_path):
    path = write(tmp_path, "h.csv", "step,d_loss_epoch,d_loss_step,train/g_loss,g_loss\n1,9,1,8,2\n")
    h = load_history(path)
    assert h["d_loss"][0] == 1 and h["d_loss_epoch"][0] == 9
    assert h["g_loss"][0] == 2 and h["train/g_loss"][0] == 8


def test_user_column_mapping(tmp_path):
    path = write(tmp_path, "h.csv", "iter_no,my_disc,MY_GEN,d_loss\n0,0.5,1.5,7\n1,0.25,1.25,7\n")
    h = load_history(path, columns={"step": "iter_no", "d_loss": "my_disc", "g_loss": "my_gen"})
    assert list(h["step"]) == [0, 1] and list(h["d_loss"]) == [0.5, 0.25] and list(h["g_loss"]) == [1.5, 1.25]
    assert set(h) == {"step", "d_loss", "g_loss"}  # the file's own d_loss gives way to the mapping
    same = load_history(path, columns=["step=iter_no", "d_loss = my_disc", "g_loss=my_gen"])  # as the CLI
    assert {k: list(v) for k, v in same.items()} == {k: list(v) for k, v in h.items()}


def one_line(exc_info, *parts):
    message = str(exc_info.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, (part, message)
    return message


def test_mapping_errors(tmp_path):
    path = write(tmp_path, "h.csv", "step,a,b\n0,1,2\n")
    with pytest.raises(HistoryError) as e:
        load_history(path, columns={"dloss": "a"})
    one_line(e, str(path), "'dloss'", "valid: step, d_loss, g_loss, d_real, d_fake")
    with pytest.raises(HistoryError) as e:
        load_history(path, columns={"d_loss": "nope"})
    one_line(e, str(path), "'nope'", "found: step, a, b")
    with pytest.raises(HistoryError) as e:
        load_history(path, log_format="excel")
    one_line(e, "'excel'", "valid: auto, csv, jsonl, dcgan-print")


def test_unknown_log_is_one_line_naming_the_formats(tmp_path):
    path = write(tmp_path, "train.log", "Namespace(a=1, b=2, c=3)\nhello\nworld, again\n")
    with pytest.raises(HistoryError) as e:
        load_history(path)
    one_line(
        e,
        f"{path}: not a training log in any known format (CSV, JSON Lines, PyTorch DCGAN printed log, "
        "PyTorch-GAN printed log, printed 'key: value' log, Lightning CSVLogger metrics.csv, "
        "TensorBoard event file)",
    )
    binary = tmp_path / "g.pt"
    binary.write_bytes(b"PK\x03\x04\x00\xff\xfe" * 20)
    with pytest.raises(HistoryError) as e:
        load_history(binary)
    one_line(e, "not a training log in any known format", "binary")


def test_forced_format(tmp_path):
    csv_path = write(tmp_path, "h.csv", "step,d_loss\n0,1\n")
    with pytest.raises(HistoryError) as e:
        read_history(csv_path, log_format="dcgan-print")
    one_line(e, str(csv_path), "no line of a PyTorch DCGAN printed log")
    assert read_history(csv_path, log_format="csv")[1] == "csv"
    # a DCGAN log whose steps the detector would not guess: forced, it is read as asked
    assert (
        read_history(write(tmp_path, "x.log", TUTORIAL_DCGAN), log_format="dcgan-print")[1] == "dcgan-print"
    )


# ------------------------------------------------------------------------------------ the command


@pytest.fixture
def samples(tmp_path):
    rng = np.random.default_rng(0)
    angles = rng.integers(0, 8, 400) * np.pi / 4
    points = np.c_[np.cos(angles), np.sin(angles)] * 2 + 0.02 * rng.standard_normal((400, 2))
    np.save(tmp_path / "real.npy", points.astype(np.float32))
    return tmp_path / "real.npy"


def run(capsys, *argv):
    try:
        rc = cli.main(["diagnose", *map(str, argv)])
    except SystemExit as exc:  # a flag argparse refuses: one line, exit code 2, as the CLI's parser does
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err.strip()


def test_command_reports_the_format_and_takes_column_flags(tmp_path, samples, capsys):
    log = write(tmp_path, "mine.csv", "global_iter,disc,gen\n" + "".join(f"{i},1.3,0.7\n" for i in range(50)))
    common = ["--real", samples, "--fake", samples, "--log", log]
    rc, out, _ = run(
        capsys, *common, "--log-column", "d_loss=disc", "--log-column", "g_loss=gen",
        "--log-column", "step=global_iter", "--json",
    )  # fmt: skip
    assert rc == 0
    report = json.loads(out)
    assert report["history"]["format"] == "csv" and report["history"]["rows"] == 50
    assert {"step", "d_loss", "g_loss"} <= set(report["history"]["columns"])
    assert "training log " + str(log) + " (read as CSV): 50 rows" in render_text(report)

    for flags, named in (
        (
            ["--log-column", "dloss=disc"],
            [str(log), "'dloss'", "valid: step, d_loss, g_loss, d_real, d_fake"],
        ),
        (["--log-column", "d_loss"], [str(log), "'d_loss' is not CANONICAL=NAME"]),
        (["--log-column", "d_loss=nope"], [str(log), "'nope'", "found: global_iter, disc, gen"]),
        (["--log-format", "dcgan-print"], [str(log), "PyTorch DCGAN printed log"]),
        (["--log-format", "excel"], ["'excel'", "dcgan-print"]),
    ):
        rc, _, err = run(capsys, *common, *flags)
        assert rc == 2 and "\n" not in err, (flags, err)
        for part in named:
            assert part in err, (flags, part, err)


def test_command_reads_a_dcgan_log(tmp_path, samples, capsys):
    log = write(tmp_path, "train.log", EXAMPLES_DCGAN)
    rc, out, _ = run(capsys, "--real", samples, "--fake", samples, "--log", log, "--json")
    assert rc == 0
    history = json.loads(out)["history"]
    assert history["format"] == "dcgan-print" and history["rows"] == 3
    assert "d_fake_after_d_step" in history["columns"]
