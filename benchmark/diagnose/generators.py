"""Running a saved generator for ``mcbench diagnose``: torch.export programs and TorchScript archives.

The generator is run on CPU on ``n`` standard normal latents drawn with ``seed`` (the same seed gives
the same samples), in batches, under ``torch.no_grad()``; it must return one tensor with one sample per
latent. The source line of the report names the format, the latent shape and the batches used.

* **torch.export program**, saved with ``torch.export.save(ep, "G.pt2")`` and run as ``ep.module()(z)``:
  recognised by the ``.pt2`` suffix or by the layout torch writes (a zip whose root folder holds
  ``archive_format`` and ``models/``). The latent shape is read from the program's one user input
  (its placeholder's ``meta["val"]``): ``(n, z)`` or ``(n, z, 1, 1)`` (the DCGAN generator's), so
  ``z_dim`` is optional and, when given, must equal z. A static batch size B gives batches of exactly
  B (the last one trimmed); a dynamic one (``torch.export.Dim``) batches of up to 500 within its range.
* **TorchScript archive** (``torch.jit.save``; torch deprecates TorchScript): a zip holding ``code/`` and
  ``constants.pkl``. ``z_dim`` is required. Latents are ``(n, z)``; a generator that fails on those is
  tried once on ``(n, z, 1, 1)``, which is then used.

**Nothing the file brings runs as Python.** TorchScript archives are read by TorchScript's own unpickler,
which builds tensors and TorchScript classes only, and their code is TorchScript. ``torch.export.load``
is *not* safe by itself on a file from someone else. Read in torch 2.14 (``torch/export/__init__.py``,
``torch/export/pt2_archive/_package.py``, ``torch/_export/serde/serialize.py``, ``torch/export/_unlift.py``),
it unpickles with ``weights_only=False`` the weights and constants flagged ``use_pickle``, legacy weight
files, and sample inputs that fail ``weights_only=True``; it ``pickle.loads`` "opaque" constants; it loads
AOTInductor shared libraries; it parses shape expressions with ``sympy.sympify``, which calls ``eval``;
``ExportedProgram.module()`` ``exec``s the program's ``guards_code``; and a node may call any callable
reachable from ``torch`` (``torch.os.system`` among them). So the bytes are checked before
``torch.export.load`` reads them (the same bytes, from memory), and refused unless: every entry is one
torch.export.save writes for a program (no AOTInductor, ExecuTorch or other payloads); every pickle
loads with ``weights_only=True``; no custom or opaque objects; no guard code; shape expressions hold only
symbols, numbers, arithmetic and sympy class names; no string holds a carriage return (which would end
the comment that FX's generated code puts a stack trace in). After loading, every node must call a
torch operator (``torch.ops``) or shape arithmetic. These checks follow torch 2.14's loader: a later
torch may load in ways they do not know, which is why they admit only the layout torch 2.14 writes.
"""

from __future__ import annotations

import io
import json
import logging
import math
import operator
import re
import tokenize
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 500  # latents per call when the generator leaves its batch size open
# The entries torch.export.save writes (relative to the archive's root folder).
EXPORT_ENTRY = re.compile(
    r"archive_format|archive_version|byteorder|\.data/[\w.]+|models/\w+\.json|extra/[^/]+"
    r"|data/(weights|constants)/[\w.]+|data/sample_inputs/\w+\.pt"
)
SYMBOL = re.compile(r"[a-z]+\d+", re.ASCII)  # shape symbols: s0, s68, u3
CLASS = re.compile(r"[A-Z]\w*", re.ASCII)  # sympy classes (Symbol, Integer, FloorDiv, Max, ...)
ASSUMPTIONS = {"positive", "negative", "nonnegative", "nonpositive", "integer", "real", "finite", "zero"}
OPERATORS = {"+", "-", "*", "/", "**", "//", "%", "(", ")", ",", "=", "<", ">", "<=", ">=", "==", "!="}


class GeneratorError(ValueError):
    """A generator file that cannot be run; the message is the problem (the caller names the file)."""


def last_line(exc: BaseException, most: int = 300) -> str:
    """The last non-blank line of an error message, cut at ``most`` characters (torch's export verifier
    lists every allowed function in one line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    line = lines[-1] if lines else type(exc).__name__
    return line if len(line) <= most else line[: most - 4] + " ..."


def is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    return any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)


def is_export_archive(path: Path) -> bool:
    """The layout torch.export.save writes: ROOT/archive_format and ROOT/models/ in a zip."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    return any(n.count("/") == 1 and n.endswith("/archive_format") for n in names) and any(
        "/models/" in n for n in names
    )


def run_generator(path: Path, z_dim: int | None, n: int, seed: int) -> tuple[np.ndarray, str]:
    """``n`` samples of the generator at ``path`` (module docstring) and the report's source line."""
    if is_torchscript(path):
        return _run_torchscript(path, z_dim, n, seed)
    return _run_export(path, z_dim, n, seed)


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) if isinstance(d, int) else "n" for d in shape) + ")"


def _generate(call: Callable, latent: tuple[int, ...], n: int, seed: int, lo: int = 1, hi: int = BATCH):
    """Samples for ``n`` latents of shape ``latent``, in calls of ``lo`` to ``hi`` latents."""
    import torch

    rng = torch.Generator().manual_seed(seed)
    parts = []
    with torch.no_grad():
        for start in range(0, n, hi):
            want = min(hi, n - start)
            z = torch.randn(max(want, lo), *latent, generator=rng)
            try:
                out = call(z)
            except Exception as exc:  # noqa: BLE001 - whatever the user's generator raises is bad input
                problem = f"failed on latents of shape {tuple(z.shape)}: {last_line(exc)}"
                raise GeneratorError(problem) from None
            if not isinstance(out, torch.Tensor):
                raise GeneratorError(f"returned {type(out).__name__}, not a tensor of samples")
            if out.ndim == 0 or out.shape[0] != len(z):
                got = f"returned shape {tuple(out.shape)} for {len(z)} latents"
                raise GeneratorError(f"{got}; expected one sample per latent")
            parts.append(out[:want].detach().float().cpu())
    return torch.cat(parts).numpy()


# -------------------------------------------------------------------------------------------- TorchScript


def _run_torchscript(path: Path, z_dim: int | None, n: int, seed: int) -> tuple[np.ndarray, str]:
    import torch

    if z_dim is None or z_dim < 1:
        raise GeneratorError("is a TorchScript generator; give its latent size with --z-dim")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # the deprecation of TorchScript: it still loads
            generator = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001
        raise GeneratorError(f"cannot be loaded as TorchScript ({last_line(exc)})") from None
    generator.eval()
    errors = []
    for latent in ((z_dim,), (z_dim, 1, 1)):  # (n, z), else DCGAN's (n, z, 1, 1): try two latents first
        try:
            with torch.no_grad():
                generator(torch.randn(2, *latent, generator=torch.Generator().manual_seed(seed)))
            break
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{_shape((None, *latent))}: {last_line(exc)}")
    else:
        raise GeneratorError(f"failed on latents {' and on '.join(errors)} (is --z-dim {z_dim} right?)")
    out = _generate(generator, latent, n, seed)
    return out, f"TorchScript generator ({n} samples, seed {seed}, latents {_shape((None, *latent))})"


# ---------------------------------------------------------------------------------------- torch.export


def _run_export(path: Path, z_dim: int | None, n: int, seed: int) -> tuple[np.ndarray, str]:
    data = path.read_bytes()
    _check_archive(data)
    ep = _load_export(data)
    _check_graph(ep)
    latent, lo, hi, batches = _export_latent(ep)
    shape = _shape((None, *latent))
    if z_dim is not None and z_dim != latent[0]:
        raise GeneratorError(
            f"--z-dim {z_dim} does not match the program's latent input {shape}; give {latent[0]} or leave "
            "--z-dim out (it is read from the program)"
        )
    out = _generate(ep.module(), latent, n, seed, lo, hi)
    return out, f"torch.export program ({n} samples, seed {seed}, latents {shape}, {batches})"


def _not_export(why: str) -> GeneratorError:
    return GeneratorError(f"is not a torch.export program ({why}; save one with torch.export.save(ep, PATH))")


def _weights_only(raw: bytes, what: str) -> None:
    import torch

    try:
        torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        problem = f"holds {what} that needs pickled code to load; refused ({last_line(exc)})"
        raise GeneratorError(problem) from None


def _strings(obj: Any) -> Iterator[tuple[str | None, str]]:
    """Every (key, string) of a parsed JSON document."""
    stack: list[tuple[str | None, Any]] = [(None, obj)]
    while stack:
        key, value = stack.pop()
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, dict):
            stack.extend((k, v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((key, v) for v in value)


def _plain_expression(text: str) -> bool:
    """A sympy expression that ``sympify`` (``eval``) can read without reaching anything but sympy classes:
    symbols, numbers, arithmetic, capitalised names (Symbol, FloorDiv, ...), and strings that are symbols."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    for tok in tokens:
        s = tok.string
        if tok.type in (tokenize.NUMBER, tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        if tok.type == tokenize.NAME and (SYMBOL.fullmatch(s) or s in ASSUMPTIONS or CLASS.fullmatch(s)):
            if "__" not in s:
                continue
        elif tok.type == tokenize.STRING and s[:1] == s[-1:] == "'" and SYMBOL.fullmatch(s[1:-1]):
            continue
        elif tok.type == tokenize.OP and s in OPERATORS:
            continue
        return False
    return True


def _check_archive(data: bytes) -> None:
    """Refuse what torch.export.load would run as code (module docstring), before it reads the bytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _not_export("not a zip archive") from None
    names = [name for name in archive.namelist() if not name.endswith("/")]
    root = names[0].split("/", 1)[0] + "/" if names and "/" in names[0] else ""
    if not root or any(not name.startswith(root) for name in names) or root + "archive_format" not in names:
        raise _not_export("no ROOT/archive_format entry")
    files = {name[len(root) :]: name for name in names}

    def read(entry: str) -> bytes:
        return archive.read(files[entry])

    if read("archive_format").strip() != b"pt2":
        raise _not_export(f"archive_format is {read('archive_format')[:20]!r}, not b'pt2'")
    odd = sorted(entry for entry in files if not EXPORT_ENTRY.fullmatch(entry))
    if odd:
        raise GeneratorError(f"holds {odd[0]}, which torch.export.save does not write for a program; refused")
    models = [entry[len("models/") : -len(".json")] for entry in files if entry.startswith("models/")]
    if "model" not in models:
        raise _not_export("no models/model.json")
    for entry in files:  # legacy weight/constant files and sample inputs are unpickled
        if entry.endswith(".pt"):
            _weights_only(read(entry), entry)
    for model in models:
        for kind in ("weights", "constants"):
            config = f"data/{kind}/{model}_{kind}_config.json"
            payloads = json.loads(read(config)).get("config", {}) if config in files else {}
            for fqn, meta in payloads.items():
                path_name = str(meta.get("path_name", ""))
                if path_name.startswith(("custom_obj_", "opaque_obj_")):
                    raise GeneratorError(f"holds a pickled object ({fqn}); refused (tensors only)")
                if meta.get("use_pickle") and f"data/{kind}/{path_name}" in files:
                    _weights_only(read(f"data/{kind}/{path_name}"), f"{kind[:-1]} {fqn}")
        program = json.loads(read(f"models/{model}.json"))
        if program.get("guards_code"):
            raise GeneratorError("carries guard code (Python that ExportedProgram.module() runs); refused")
        for key, text in _strings(program):
            if "\r" in text:
                raise GeneratorError("holds a carriage return in its program text; refused")
            if key == "expr_str" and not _plain_expression(text):
                shown = text[:60]
                raise GeneratorError(
                    f"holds a shape expression that is not plain arithmetic ({shown!r}); refused"
                )


def _load_export(data: bytes) -> Any:
    import torch

    loggers = [logging.getLogger(name) for name in ("torch.export", "torch._export")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:  # its warnings (with tracebacks) would print beside our one-line error
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.export.load(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise GeneratorError(f"cannot be loaded as a torch.export program ({last_line(exc)})") from None
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _shape_functions() -> set[Any]:
    """What a node may call besides torch operators: the arithmetic of dynamic shapes and the grad mode
    (the part of torch 2.14's own export verifier list that cannot reach anything else)."""
    import torch

    names = ("getitem", "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "neg", "pos", "abs")
    names += ("eq", "ne", "lt", "le", "gt", "ge", "and_", "or_", "not_", "lshift", "rshift")
    sym = ("sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_ite", "sym_sum", "_sym_sqrt")
    functions = {getattr(operator, name) for name in names} | {math.trunc, math.floor, math.ceil, round}
    functions |= {getattr(torch, name) for name in sym if hasattr(torch, name)}
    return functions | {torch._C._set_grad_enabled, torch.autograd.grad_mode.set_grad_enabled}


def _check_graph(ep: Any) -> None:
    import torch

    allowed = _shape_functions()
    for module in ep.graph_module.modules():
        graph = getattr(module, "graph", None)
        for node in graph.nodes if isinstance(graph, torch.fx.Graph) else ():
            if node.op in ("placeholder", "output", "get_attr"):
                continue
            target = node.target
            operator_call = isinstance(target, torch._ops.OpOverload) or target in allowed
            if node.op != "call_function" or not operator_call:
                name = getattr(target, "__qualname__", None) or str(target)
                raise GeneratorError(f"calls {name} ({node.op}), not a torch operator; refused")


def _bound(value: Any, default: int) -> int:
    return int(value) if getattr(value, "is_Integer", False) else default


def _export_latent(ep: Any) -> tuple[tuple[int, ...], int, int, str]:
    """(latent shape without the batch, least and most latents per call, the batches in words)."""
    import torch

    inputs = list(ep.graph_signature.user_inputs)
    if len(inputs) != 1:
        names = ", ".join(map(str, inputs))
        raise GeneratorError(f"takes {len(inputs)} inputs ({names}); a generator takes one latent tensor")
    node = next(nd for nd in ep.graph.nodes if nd.op == "placeholder" and nd.name == inputs[0])
    value = node.meta.get("val")
    if not isinstance(value, torch.Tensor):
        raise GeneratorError(f"takes {type(value).__name__} {inputs[0]!r}; a generator takes a latent tensor")
    batch, *latent = tuple(value.shape)
    if (
        len(latent) not in (1, 3)
        or not all(isinstance(d, int) for d in latent)
        or tuple(latent[1:]) not in ((), (1, 1))
    ):
        raise GeneratorError(
            f"takes input of shape {_shape(tuple(value.shape))}; a generator's latent is (n, z) or "
            "(n, z, 1, 1)"
        )
    if isinstance(batch, int):
        return tuple(latent), batch, batch, f"batches of {batch}, fixed by the program"
    limits = ep.range_constraints.get(batch.node.expr)
    lo = max(1, _bound(getattr(limits, "lower", None), 1))
    hi = max(lo, min(BATCH, _bound(getattr(limits, "upper", None), BATCH)))
    return tuple(latent), lo, hi, f"dynamic batch, {hi} per call"
