"""The TensorBoard event-file reader: CRC-32C, TFRecord framing and the Event fields, on bytes built here
(no tensorboard needed) and cross-checked on files written by torch's SummaryWriter when tensorboard is
installed; then ``read_history`` on event files and folders."""

import math
import struct
import subprocess
import sys

import numpy as np
import pytest

from diagnostics import HistoryError
from diagnostics.history import read_history
from diagnostics.tensorboard_events import (
    EventFileError,
    Scalar,
    crc32c,
    looks_like_event_file,
    masked_crc32c,
    parse_event,
    read_scalars,
)

# ------------------------------------------------------------------ protocol buffer and TFRecord writers


def varint(n):
    n &= (1 << 64) - 1  # negative int64 as ten bytes, as protobuf does
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload  # fixed 32 / 64 bits, already packed


def metadata(plugin):
    return field(9, 2, field(1, 2, field(1, 2, plugin.encode())))


def simple(tag, value):
    return field(1, 2, tag.encode()) + field(2, 5, struct.pack("<f", value))


def tensor(tag, dtype, body, plugin="scalars"):
    value = field(1, 2, tag.encode()) + field(8, 2, field(1, 0, dtype) + body)
    return value + (metadata(plugin) if plugin else b"")


def event(step, *values, wall_time=1700000000.5):
    summary = b"".join(field(1, 2, v) for v in values)
    return field(1, 1, struct.pack("<d", wall_time)) + field(2, 0, step) + field(5, 2, summary)


def record(data):
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


FILE_VERSION = field(1, 1, struct.pack("<d", 1.0)) + field(3, 2, b"brain.Event:2")


def hand_written_events():
    """An event file as writers make it: a version record, then scalars in every encoding and non-scalars."""
    records = [
        FILE_VERSION,
        event(0, simple("Loss/D", 1.25), simple("Loss/G", 0.75)),
        event(1, tensor("Loss/D", 1, field(5, 2, struct.pack("<f", 0.5)))),  # packed float_val
        event(1, tensor("Loss/G", 2, field(4, 2, struct.pack("<d", 2.5)))),  # tensor_content, double
        event(2, tensor("D(x)", 19, field(13, 2, varint(0x3800)))),  # half 0.5 in half_val
        event(2, tensor("lr", 1, field(5, 5, struct.pack("<f", 0.25)), plugin="")),  # unpacked, no plugin
        event(2, tensor("hist", 1, field(2, 2, field(2, 2, field(1, 0, 2))) + field(5, 2, b"\0" * 8))),
        event(2, tensor("note", 7, field(8, 2, b"hello"), plugin="text")),
        event(3, tensor("Loss/D", 1, field(5, 2, struct.pack("<f", 3.0)), plugin="histograms")),
        event(-1, simple("neg", -2.0)),
    ]
    return b"".join(record(r) for r in records)


EXPECTED = [
    (0, "Loss/D", 1.25),
    (0, "Loss/G", 0.75),
    (1, "Loss/D", 0.5),
    (1, "Loss/G", 2.5),
    (2, "D(x)", 0.5),
    (2, "lr", 0.25),
    (-1, "neg", -2.0),
]


# ------------------------------------------------------------------------------------------- tests


def test_crc32c_known_answers():
    assert crc32c(b"123456789") == 0xE3069283  # the check value of CRC-32C
    assert crc32c(b"") == 0
    # a real SummaryWriter file starts with the length 72 and this masked CRC of it
    assert masked_crc32c(struct.pack("<Q", 72)) == 0x9D4892FE


def test_hand_written_file_gives_exactly_its_scalars(tmp_path):
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(hand_written_events())
    assert looks_like_event_file(path.read_bytes()[:12])
    scalars, complete = read_scalars(path)
    assert complete
    assert [(s.step, s.tag, s.value) for s in scalars] == EXPECTED
    assert scalars[0].wall_time == 1700000000.5


def test_a_tags_plugin_is_remembered_from_its_first_value():
    plugins = {}
    histogram = tensor("h", 1, field(5, 2, struct.pack("<f", 1.0)), plugin="histograms")
    assert parse_event(event(0, histogram), plugins) == []
    later = tensor("h", 1, field(5, 2, struct.pack("<f", 2.0)), plugin="")  # metadata sent once only
    assert parse_event(event(1, later), plugins) == []
    assert parse_event(event(1, later), {}) == [Scalar(1, 1700000000.5, "h", 2.0)]


def test_truncated_file_keeps_its_complete_records(tmp_path):
    data = hand_written_events()
    path = tmp_path / "events.out.tfevents.2.host"
    path.write_bytes(data[:-7])  # the last record cut short: a writer still running
    scalars, complete = read_scalars(path)
    assert not complete and [(s.step, s.tag, s.value) for s in scalars] == EXPECTED[:-1]


def test_corruption_is_an_error_naming_the_record(tmp_path):
    data = bytearray(hand_written_events())
    first = 12 + len(FILE_VERSION) + 4  # the second record, which holds scalars
    bad = bytearray(data)
    bad[first + 12 + 5] ^= 0xFF  # a byte inside its data
    path = tmp_path / "events.out.tfevents.3.host"
    path.write_bytes(bytes(bad))
    with pytest.raises(EventFileError, match=f"record at byte {first}: the data's checksum does not match"):
        read_scalars(path)
    bad = bytearray(data)
    bad[first] ^= 0x01  # its length
    path.write_bytes(bytes(bad))
    with pytest.raises(EventFileError, match=f"record at byte {first}: the length's checksum"):
        read_scalars(path)


def test_read_history_on_event_file_and_folder(tmp_path):
    run = tmp_path / "runs" / "exp1"
    run.mkdir(parents=True)
    records = [
        FILE_VERSION,
        event(0, simple("Loss/D", 1.5), simple("Loss/G", 0.5), simple("D(x)", 0.75)),
        event(10, simple("Loss/D", 1.25)),
        event(10, simple("Loss/G", 0.25)),
    ]
    (run / "events.out.tfevents.100.host.1.0").write_bytes(b"".join(record(r) for r in records))
    # add_scalars("Loss", {"D": ..}) writes tag "Loss" into the subfolder Loss_D
    (run / "Loss_D").mkdir()
    sub = [FILE_VERSION, event(20, simple("Loss", 1.0))]
    (run / "Loss_D" / "events.out.tfevents.100.host.1.1").write_bytes(b"".join(record(r) for r in sub))
    for where in (tmp_path / "runs", run):  # the folder above the run: its only run is the base
        h, fmt = read_history(where)
        assert fmt == "tensorboard"
        np.testing.assert_array_equal(h["step"], [0, 10, 20])
        np.testing.assert_array_equal(h["g_loss"], [0.5, 0.25, np.nan])
        np.testing.assert_array_equal(h["d_real"], [0.75, np.nan, np.nan])
        # Loss_D (alias loss_d) wins over Loss/D (alias loss/d), which keeps its own name
        np.testing.assert_array_equal(h["d_loss"], [np.nan, np.nan, 1.0])
        np.testing.assert_array_equal(h["Loss/D"], [1.5, 1.25, np.nan])
    # a file with no extension-like name is still found by its content
    plain = tmp_path / "tb.bin"
    plain.write_bytes(b"".join(record(r) for r in records))
    h, fmt = read_history(plain)
    assert fmt == "tensorboard" and list(h["d_loss"]) == [1.5, 1.25]


def test_resumed_run_later_file_wins_its_repeated_steps(tmp_path):
    first = [FILE_VERSION, event(0, simple("d_loss", 1.0)), event(1, simple("d_loss", 2.0))]
    second = [FILE_VERSION, event(1, simple("d_loss", 3.0)), event(2, simple("d_loss", 4.0))]
    (tmp_path / "events.out.tfevents.100.h").write_bytes(b"".join(record(r) for r in first))
    (tmp_path / "events.out.tfevents.200.h").write_bytes(b"".join(record(r) for r in second))
    h, _ = read_history(tmp_path)
    assert list(h["step"]) == [0, 1, 2] and list(h["d_loss"]) == [1.0, 3.0, 4.0]


def test_bad_event_files_are_one_line_history_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(HistoryError, match="a folder without metrics.jsonl, metrics.csv or TensorBoard"):
        read_history(empty)
    with pytest.raises(HistoryError, match="no TensorBoard event file .* below this folder"):
        read_history(empty, log_format="tensorboard")
    no_scalars = tmp_path / "events.out.tfevents.1.h"
    no_scalars.write_bytes(record(FILE_VERSION))
    with pytest.raises(HistoryError, match="no scalars in its TensorBoard event file"):
        read_history(no_scalars)
    corrupt = tmp_path / "c" / "events.out.tfevents.1.h"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"\x07" * 40)
    with pytest.raises(HistoryError) as e:
        read_history(corrupt.parent)
    assert str(corrupt) in str(e.value) and "checksum" in str(e.value) and "\n" not in str(e.value)
    truncated = tmp_path / "t" / "events.out.tfevents.1.h"
    truncated.parent.mkdir()
    truncated.write_bytes((record(FILE_VERSION) + record(event(0, simple("d_loss", 1.0))))[:-3])
    with (
        pytest.raises(HistoryError, match="no scalars"),
        pytest.warns(UserWarning, match="ends inside a record"),
    ):
        read_history(truncated)


def test_reader_needs_neither_torch_nor_tensorboard():
    code = (
        "import sys, diagnostics.history, diagnostics.tensorboard_events; "
        "bad = {'torch', 'tensorboard', 'google.protobuf'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_summary_writer_files_cross_check(tmp_path):
    pytest.importorskip("tensorboard")  # the one optional part: a cross-check against the real writer
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "run"))
    for step, (d, g) in enumerate([(1.5, 0.5), (1.25, 0.75), (1.0, 1.0)]):
        writer.add_scalar("Loss/D", d, step * 50)
        writer.add_scalar("Loss/G", g, step * 50, new_style=True)  # a float tensor, as newer writers do
    writer.add_scalar("D(x)", 0.5, 100, new_style=True, double_precision=True)
    writer.add_scalars("pair", {"a": 0.25, "b": 2.0}, 100)
    writer.add_histogram("weights", np.arange(6.0), 50)
    writer.add_text("notes", "not a scalar", 0)
    writer.close()

    h, fmt = read_history(tmp_path / "run")
    assert fmt == "tensorboard"
    assert list(h["step"]) == [0, 50, 100]
    assert list(h["d_loss"]) == [1.5, 1.25, 1.0] and list(h["g_loss"]) == [0.5, 0.75, 1.0]
    np.testing.assert_array_equal(h["d_real"], [np.nan, np.nan, 0.5])
    np.testing.assert_array_equal(h["pair_a"], [np.nan, np.nan, 0.25])
    np.testing.assert_array_equal(h["pair_b"], [np.nan, np.nan, 2.0])
    assert not {"weights", "notes"} & set(h)

    main = next((tmp_path / "run").glob("events.out.tfevents.*"))
    ours, complete = read_scalars(main)
    assert complete
    theirs = EventAccumulator(str(main))
    theirs.Reload()
    for tag in theirs.Tags()["scalars"]:  # the simple_value tags: TensorBoard's own reader agrees
        expected = [(e.step, e.value) for e in theirs.Scalars(tag)]
        assert [(s.step, s.value) for s in ours if s.tag == tag] == expected
    assert all(math.isfinite(s.value) for s in ours)
