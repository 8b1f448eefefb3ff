"""A small reader of the scalars in TensorBoard event files, with no dependency beyond the standard library.

An event file (``events.out.tfevents.*``) is a sequence of TFRecords: a little-endian uint64 length, the
masked CRC-32C of those 8 bytes (uint32), the record's bytes, and their masked CRC-32C (uint32). Each
record is a serialized ``tensorflow.Event`` protocol buffer; only the fields that carry scalars are
decoded::

    Event:        wall_time = 1 (double), step = 2 (int64), summary = 5 (Summary)
    Summary:      value = 1 (repeated Value)
    Value:        tag = 1 (string), simple_value = 2 (float), tensor = 8 (TensorProto),
                  metadata = 9 (SummaryMetadata: plugin_data = 1 (PluginData: plugin_name = 1))
    TensorProto:  dtype = 1, tensor_shape = 2 (dim = 2 (size = 1)), tensor_content = 4 (raw bytes),
                  float_val = 5, double_val = 6, int_val = 7, int64_val = 10, half_val = 13

A scalar is a ``simple_value`` (what ``torch.utils.tensorboard.SummaryWriter.add_scalar`` writes by
default) or a one-element numeric tensor (newer writers: ``add_scalar(new_style=True)``, TF2's
``tf.summary.scalar``) whose tag is not claimed by another plugin (histograms, text, ...). The format
is TensorFlow's ``tensorflow/core/lib/io/record_writer.cc`` and ``event.proto`` / ``summary.proto``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

EVENT_FILE_MARK = "tfevents"  # writers name files events.out.tfevents.<time>.<host>...
_HEADER = struct.Struct("<QI")
_MASK_DELTA = 0xA282EAD8
_BAD_DATA = "the data's checksum does not match (corrupt)"
# DataType enum values of tensorflow/core/framework/types.proto -> struct code of one element
_DTYPES = {1: "f", 2: "d", 3: "i", 9: "q", 14: "bfloat16", 19: "e"}


class EventFileError(ValueError):
    """An event file is corrupt or not an event file; the message is one line (naming the file where the
    function raising it was given one: :func:`read_run`; :func:`read_scalars` names the record only)."""


class Scalar(NamedTuple):
    """One logged scalar: the event's step and wall time (seconds since the epoch), its tag and value."""

    step: int
    wall_time: float
    tag: str
    value: float


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)  # Castagnoli polynomial, reflected
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``; ``crc32c(b"123456789") == 0xE3069283``."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The CRC as TFRecord stores it: rotated right by 15 bits plus a constant, so that a CRC of data
    that itself holds CRCs is not degenerate."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def looks_like_event_file(head: bytes) -> bool:
    """Whether ``head`` (the first 12 or more bytes of a file) starts a TFRecord: the masked CRC of the
    first 8 bytes matches the next 4, which text files practically never do (1 in 2**32)."""
    if len(head) < _HEADER.size:
        return False
    length, crc = _HEADER.unpack_from(head)
    return masked_crc32c(head[:8]) == crc and length > 0


def iter_records(stream: BinaryIO) -> Iterator[tuple[int, bytes, int]]:
    """Yield ``(offset, data, stored masked CRC of data)`` for each complete record of ``stream``.

    The length's CRC is verified here (a mismatch loses the framing, so nothing after it can be read);
    the data's CRC is returned for the caller to verify where the data is used, since computing it in
    pure Python over large image or histogram records would dominate the reading time.

    Raises:
        EventFileError: the length's checksum does not match (corrupt or not an event file).
        _Truncated: the stream ends inside a record (a writer still running, or killed).
    """
    offset = 0
    while True:
        header = stream.read(_HEADER.size)
        if not header:
            return
        if len(header) < _HEADER.size:
            raise _Truncated(offset)
        length, length_crc = _HEADER.unpack(header)
        if masked_crc32c(header[:8]) != length_crc:
            raise EventFileError(f"record at byte {offset}: the length's checksum does not match (corrupt)")
        data = stream.read(length)
        footer = stream.read(4)
        if len(data) < length or len(footer) < 4:
            raise _Truncated(offset)
        yield offset, data, struct.unpack("<I", footer)[0]
        offset += _HEADER.size + length + 4


class _Truncated(Exception):  # noqa: N818 (a signal, not an error: the complete records stand)
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


# ------------------------------------------------------------------------------------- protobuf wire


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    if pos < len(buf) and buf[pos] < 0x80:  # most keys and lengths are one byte: the fast path
        return buf[pos], pos + 1
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise EventFileError("malformed protocol buffer (bad varint)")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)``: an int for varints, bytes for the other wire types."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
            continue
        if wire == 1:
            size = 8
        elif wire == 5:
            size = 4
        elif wire == 2:
            size, pos = _varint(buf, pos)
        else:  # groups (3, 4) are not used by any message read here
            raise EventFileError(f"malformed protocol buffer (wire type {wire})")
        if pos + size > len(buf):
            raise EventFileError("malformed protocol buffer (field past the end)")
        yield number, wire, buf[pos : pos + size]
        pos += size


def _packed(value: int | bytes, wire: int, code: str) -> list[float]:
    """Values of a repeated numeric field, packed (wire type 2) or one per field."""
    if code in "iq":  # varint-encoded integers
        if wire == 0:
            return [_signed(value)]  # type: ignore[arg-type]
        out, pos = [], 0
        while pos < len(value):  # type: ignore[arg-type]
            v, pos = _varint(value, pos)  # type: ignore[arg-type]
            out.append(_signed(v))
        return out
    if isinstance(value, int) or len(value) % struct.calcsize(code):
        raise EventFileError("malformed protocol buffer (bad packed field)")
    return list(struct.unpack(f"<{len(value) // struct.calcsize(code)}{code}", value))


def _tensor_scalar(buf: bytes) -> float | None:
    """The value of a one-element float / double / half / bfloat16 / int32 / int64 tensor, else None."""
    dtype, size, values, content = 0, 1, [], b""
    for number, wire, value in _fields(buf):
        if number == 1 and wire == 0:
            dtype = value
        elif number == 2 and wire == 2:
            for n, w, dim in _fields(value):
                if n == 2 and w == 2:
                    size *= next((v for k, _, v in _fields(dim) if k == 1), 0)
                elif n == 3:  # unknown_rank
                    return None
        elif number == 4 and wire == 2:
            content = value
        elif number in (5, 6, 7, 10, 13):
            code = {5: "f", 6: "d", 7: "i", 10: "q", 13: "i"}[number]
            values += _packed(value, wire, code)
    code = _DTYPES.get(dtype)  # type: ignore[arg-type]
    if code is None or size != 1:
        return None
    if content:
        if code == "bfloat16":  # the upper half of a float32
            return struct.unpack("<f", b"\x00\x00" + content[:2])[0] if len(content) == 2 else None
        if len(content) != struct.calcsize(code):
            return None
        return float(struct.unpack(f"<{code}", content)[0])
    if len(values) != 1:
        return None
    if dtype == 19:  # half_val holds the 16 bits of the half as an int32
        return float(struct.unpack("<e", struct.pack("<H", int(values[0]) & 0xFFFF))[0])
    if dtype == 14:
        return float(struct.unpack("<f", struct.pack("<I", (int(values[0]) & 0xFFFF) << 16))[0])
    return float(values[0])


def parse_event(record: bytes, plugins: dict[str, str] | None = None) -> list[Scalar]:
    """The scalars of one serialized ``Event`` (empty for the file-version record, graphs, images...).

    ``plugins`` maps tag -> plugin name, filled from the values' metadata; writers send the metadata
    with a tag's first value only, so the caller keeps one dict per file. A tensor whose tag belongs to
    another plugin than ``scalars`` is skipped.

    Raises:
        EventFileError: the record is not a well-formed protocol buffer.
    """
    plugins = {} if plugins is None else plugins
    wall_time, step, summary = 0.0, 0, None
    for number, wire, value in _fields(record):
        if number == 1 and wire == 1:
            wall_time = struct.unpack("<d", value)[0]  # type: ignore[arg-type]
        elif number == 2 and wire == 0:
            step = _signed(value)  # type: ignore[arg-type]
        elif number == 5 and wire == 2:
            summary = value
    if summary is None:
        return []
    out = []
    for number, wire, value in _fields(summary):  # type: ignore[arg-type]
        if number != 1 or wire != 2:
            continue
        tag, simple, tensor = "", None, None
        for n, w, v in _fields(value):  # type: ignore[arg-type]
            if n == 1 and w == 2:
                tag = bytes(v).decode("utf-8", "replace")  # type: ignore[arg-type]
            elif n == 2 and w == 5:
                simple = struct.unpack("<f", v)[0]  # type: ignore[arg-type]
            elif n == 8 and w == 2:
                tensor = v
            elif n == 9 and w == 2:
                for pn, pw, pv in _fields(v):  # type: ignore[arg-type]
                    if pn == 1 and pw == 2:
                        name = next((x for k, _, x in _fields(pv) if k == 1), b"")  # type: ignore[arg-type]
                        plugins[tag] = bytes(name).decode("utf-8", "replace")  # type: ignore[arg-type]
        if simple is not None:
            out.append(Scalar(step, wall_time, tag, float(simple)))
        elif tensor is not None and plugins.get(tag, "scalars") == "scalars":
            scalar = _tensor_scalar(tensor)  # type: ignore[arg-type]
            if scalar is not None:
                out.append(Scalar(step, wall_time, tag, scalar))
    return out


def read_scalars(path: str | Path) -> tuple[list[Scalar], bool]:
    """All scalars of one event file, in file order, and whether the file ended on a record boundary.

    A file that ends inside a record (its writer still running, or killed) gives the scalars of its
    complete records and ``False``. The data checksum is verified for every record that holds a scalar.

    Raises:
        EventFileError: a checksum does not match or a record is not a well-formed ``Event``; the message
            names the record's byte offset (not the file).
        OSError: the file cannot be opened.
    """
    plugins: dict[str, str] = {}
    scalars: list[Scalar] = []
    with open(path, "rb") as stream:
        try:
            for offset, data, data_crc in iter_records(stream):
                try:
                    found = parse_event(data, plugins)
                except EventFileError as exc:
                    if masked_crc32c(data) != data_crc:  # say corrupt rather than malformed
                        raise EventFileError(f"record at byte {offset}: {_BAD_DATA}") from None
                    raise EventFileError(f"record at byte {offset}: {exc}") from None
                if found and masked_crc32c(data) != data_crc:
                    raise EventFileError(f"record at byte {offset}: {_BAD_DATA}")
                scalars += found
        except _Truncated:
            return scalars, False
    return scalars, True


def find_event_files(path: str | Path) -> list[Path]:
    """Event files at ``path``: the file itself, or every ``*tfevents*`` file below a folder (recursive),
    sorted by folder then name (writers put the creation time in the name, so a resumed run's files
    sort after the first run's)."""
    path = Path(path)
    if path.is_file():
        return [path]
    found = [p for p in path.rglob(f"*{EVENT_FILE_MARK}*") if p.is_file()]
    return sorted(found, key=lambda p: (p.parent.as_posix(), p.name))


def _tag_column(rel: Path, tag: str) -> str:
    """A column name for ``tag`` found in the subfolder ``rel`` of the run: the tag itself at the top;
    under ``add_scalars("Loss", {"D": ...})``'s subfolder ``Loss_D`` (whose tag is ``Loss``) the
    subfolder's name; elsewhere ``subfolder/tag``."""
    if rel == Path("."):
        return tag
    if rel.name.startswith(tag.replace("/", "_") + "_"):
        return rel.as_posix()
    return f"{rel.as_posix()}/{tag}"


def read_run(path: str | Path) -> tuple[dict[int, dict[str, float]], list[Path]]:
    """The scalars of an event file, or of every event file below a folder, as step -> {column: value},
    and the files that end inside a record (their complete records are read).

    Columns are named by tag, relative to the deepest folder above every event file (so a folder holding
    one run gives plain tags; ``add_scalars`` subfolders: see :func:`_tag_column`). Files are read in
    :func:`find_event_files` order, so a resumed run's later file overrides the steps it repeats, and
    within a file a later value of a tag at the same step overrides an earlier one.

    Raises:
        EventFileError: no event file below the folder, a file that cannot be read, or corrupt (the
            message is one line naming the file).
    """
    path = Path(path)
    files = find_event_files(path)
    if not files:
        raise EventFileError(f"{path}: no TensorBoard event file (events.out.tfevents.*) below this folder")
    base = path.parent if path.is_file() else files[0].parent
    for f in files[1:]:
        while not f.parent.is_relative_to(base):
            base = base.parent
    by_step: dict[int, dict[str, float]] = {}
    partial = []
    for f in files:
        try:
            scalars, complete = read_scalars(f)
        except EventFileError as exc:
            raise EventFileError(f"{f}: {exc}") from None
        except OSError as exc:
            raise EventFileError(f"{f}: cannot be read ({exc})") from None
        if not complete:
            partial.append(f)
        rel = f.parent.relative_to(base)
        for s in scalars:
            by_step.setdefault(s.step, {})[_tag_column(rel, s.tag)] = s.value
    return by_step, partial
