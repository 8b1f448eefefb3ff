"""Generators given to ``mcbench diagnose``: torch.export programs and TorchScript archives, (n, z) and
DCGAN's (n, z, 1, 1) latents, static and dynamic batches; one-line errors; and archives crafted to run
code when torch.export.load reads them, refused unread."""

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from benchmark import cli
from benchmark.diagnose.generators import BATCH, is_export_archive
from benchmark.diagnose.inputs import load_samples, to_samples

Z = 4


class MLP(nn.Module):
    """(n, 4) -> grey 4x4 images in [-1, 1]."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(Z, 16), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(-1, 1, 4, 4)


class DCGAN(nn.Module):
    """DCGAN's generator, small: (n, 4, 1, 1) -> RGB 8x8 images in [-1, 1]."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.main = nn.Sequential(
            nn.ConvTranspose2d(Z, 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(True),
            nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


def export(module, path, latent, batch=8, dynamic=False):
    shapes = ({0: torch.export.Dim("batch", min=1, max=64)},) if dynamic else None
    ep = torch.export.export(module.eval(), (torch.randn(batch, *latent),), dynamic_shapes=shapes)
    torch.export.save(ep, str(path))
    return path


def script(module, path):
    with pytest.warns(FutureWarning):  # torch deprecates TorchScript; users still have such files
        torch.jit.script(module.eval()).save(str(path))
    return path


def expected(module, latent, n, seed, batch, fixed=False):
    """The documented draw: one seeded generator, calls of up to ``batch`` latents (exactly ``batch`` when
    the program fixes it, the last call's samples then trimmed)."""
    rng = torch.Generator().manual_seed(seed)
    sizes = [batch if fixed else min(batch, n - start) for start in range(0, n, batch)]
    with torch.no_grad():
        out = [module(torch.randn(k, *latent, generator=rng)) for k in sizes]
    return to_samples(torch.cat(out)[:n].numpy(), "FAKE", "x", "x", pixel_range="signed").data


@pytest.mark.parametrize(
    ("make", "latent", "dynamic", "batch"),
    [
        (MLP, (Z,), False, 8),  # 25 samples: 4 calls of exactly 8, the last trimmed to 1
        (MLP, (Z,), True, BATCH),
        (DCGAN, (Z, 1, 1), False, 8),
        (DCGAN, (Z, 1, 1), True, BATCH),
    ],
    ids=["mlp-static", "mlp-dynamic", "dcgan-static", "dcgan-dynamic"],
)
def test_an_exported_generator_gives_the_documented_samples(tmp_path, make, latent, dynamic, batch):
    module = make()
    path = export(module, tmp_path / "g.pt2", latent, dynamic=dynamic)
    s = load_samples(path, "FAKE", num_samples=25, seed=3)  # no --z-dim: read from the program
    channels, size = (1, 4) if make is MLP else (3, 8)
    assert s.data.shape == (25, channels, size, size) and s.data.dtype == np.uint8
    assert np.array_equal(s.data, expected(module, latent, 25, 3, batch, fixed=not dynamic))
    assert s.pixel_range == "signed"
    shape = "(n, 4)" if make is MLP else "(n, 4, 1, 1)"
    assert s.source.startswith(f"torch.export program (25 samples, seed 3, latents {shape}, ")
    assert ("batches of 8, fixed by the program" in s.source) != dynamic
    assert np.array_equal(load_samples(path, "FAKE", num_samples=25, seed=3, z_dim=Z).data, s.data)
    assert not np.array_equal(load_samples(path, "FAKE", num_samples=25, seed=4).data, s.data)


@pytest.mark.parametrize(("make", "latent"), [(MLP, (Z,)), (DCGAN, (Z, 1, 1))], ids=["mlp", "dcgan"])
def test_a_torchscript_generator_with_either_latent_shape(tmp_path, make, latent):
    module = make()
    path = script(module, tmp_path / "g.pt")
    s = load_samples(path, "FAKE", z_dim=Z, num_samples=12, seed=5)
    assert np.array_equal(s.data, expected(module, latent, 12, 5, BATCH))
    shape = ", ".join(map(str, ("n", *latent)))
    assert s.source == f"TorchScript generator (12 samples, seed 5, latents ({shape}))"
    assert np.array_equal(load_samples(path, "FAKE", z_dim=Z, num_samples=12, seed=5).data, s.data)


def test_formats_are_known_by_their_layout_not_their_name(tmp_path):
    module = DCGAN()
    program = export(module, tmp_path / "g.pt2", (Z, 1, 1))
    renamed = tmp_path / "generator.bin"
    renamed.write_bytes(program.read_bytes())
    assert is_export_archive(renamed)
    assert load_samples(renamed, "FAKE", num_samples=10).source.startswith("torch.export program")
    scripted = script(module, tmp_path / "ts.pt2")  # TorchScript under the export suffix
    assert load_samples(scripted, "FAKE", z_dim=Z, num_samples=10).source.startswith("TorchScript")


def test_the_dcgan_case_end_to_end_rgb_64_like_samples_against_grey_real(tmp_path, capsys):
    """The DCGAN example's RGB samples against a grey REAL set: converted, reported, in the notes."""
    program = export(DCGAN(), tmp_path / "g.pt2", (Z, 1, 1))
    real = tmp_path / "real.npy"
    np.save(real, np.random.default_rng(0).integers(0, 256, (60, 4, 4), dtype=np.uint8))
    out = tmp_path / "r.json"
    argv = ["diagnose", "--real", str(real), "--fake", str(program), "--num-samples", "60", "--out", str(out)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    line = "FAKE: 3x8x8 -> 1x4x4 (RGB to grey by ITU-R 601 luma, resized 8x8 -> 4x4 with Lanczos)"
    assert f"  - {line}\n" in text
    report = json.loads(out.read_text())
    assert report["inputs"]["conversions"] == [line] and line in report["notes"]
    assert report["inputs"]["fake"]["shape"] == [1, 4, 4]
    assert cli.main([*argv[:-2], "--no-resize"]) == 2
    assert "not converted, as --no-resize" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------- bad input


class TwoInputs(nn.Module):
    def forward(self, z, y):
        return z + y


def rewrite(src, dst, edit):
    """Copy the zip ``src`` to ``dst`` with ``edit(name, bytes) -> bytes or None`` (None drops it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = edit(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
    return dst


class Unpickled:
    """Unpickling this creates ``marker`` (a stand-in for code a malicious file would run)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def crafted(tmp_path):
    """(file, text of the refusal) for archives that would run code in torch.export.load or module()."""
    marker = tmp_path / "ran"
    dynamic = export(MLP(), tmp_path / "dyn.pt2", (Z,), dynamic=True)
    code = f"open({str(marker)!r}, 'w')"
    payload = "exec(" + "+".join(f"chr({ord(c)})" for c in code) + ")"  # no quotes, dots or underscores

    def expression(name, data):  # sympy.sympify (eval) reads shape expressions
        return (
            data.replace(b"Symbol('s", payload.encode() + b" + Symbol('s", 1) if "models/" in name else data
        )

    pickled = io.BytesIO()
    torch.save(((Unpickled(marker),), {}), pickled)

    def inputs(name, data):  # torch falls back to weights_only=False for sample inputs
        return pickled.getvalue() if "sample_inputs" in name else data

    def guards(name, data):  # ExportedProgram.module() exec()s guards_code
        return data.replace(b'"guards_code": []', b'"guards_code": ["True"]') if "models/" in name else data

    files = [
        (
            rewrite(dynamic, tmp_path / "expr.pt2", expression),
            "shape expression that is not plain arithmetic",
        ),
        (rewrite(dynamic, tmp_path / "inputs.pt2", inputs), "needs pickled code to load; refused"),
        (rewrite(dynamic, tmp_path / "guards.pt2", guards), "carries guard code"),
    ]
    with zipfile.ZipFile(tmp_path / "aoti.pt2", "w") as z:  # an AOTInductor payload: a shared library
        with zipfile.ZipFile(dynamic) as src:
            for name in src.namelist():
                z.writestr(name, src.read(name))
        z.writestr("dyn/data/aotinductor/model/model.so", b"\x7fELF")
    files.append((tmp_path / "aoti.pt2", "data/aotinductor/model/model.so, which torch.export.save does not"))
    return files, marker


def test_archives_that_would_run_code_are_refused_unread(tmp_path, capsys):
    real = tmp_path / "real.npy"
    np.save(real, np.zeros((20, 1, 4, 4), np.uint8))
    files, marker = crafted(tmp_path)
    for path, message in files:
        assert cli.main(["diagnose", "--real", str(real), "--fake", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"FAKE {path}: " in err and message in err, err
    assert not marker.exists()  # nothing ran


def bad_generators(tmp_path):
    """(extra argv, file named, text of the message) for generators that cannot be used."""
    program = export(DCGAN(), tmp_path / "g.pt2", (Z, 1, 1))
    ts = script(MLP(), tmp_path / "g.pt")
    (tmp_path / "text.pt2").write_text("not an archive")
    torch.save(torch.zeros(20, 2), tmp_path / "tensor.pt2")
    ep = torch.export.export(TwoInputs(), (torch.randn(8, Z), torch.randn(8, Z)))
    torch.export.save(ep, str(tmp_path / "two.pt2"))
    export(nn.Identity(), tmp_path / "square.pt2", (Z, 2, 2))
    return [
        (
            ["--fake", str(program), "--z-dim", "5"],
            "g.pt2",
            "--z-dim 5 does not match the program's latent input (n, 4, 1, 1); give 4 or leave --z-dim out",
        ),
        (["--fake", str(ts)], "g.pt", "is a TorchScript generator; give its latent size with --z-dim"),
        (["--fake", str(ts), "--z-dim", "3"], "g.pt", "failed on latents (n, 3): "),
        (
            ["--fake", str(tmp_path / "text.pt2")],
            "text.pt2",
            "is not a torch.export program (not a zip archive",
        ),
        (["--fake", str(tmp_path / "tensor.pt2")], "tensor.pt2", "is not a torch.export program (no ROOT/"),
        (["--fake", str(tmp_path / "two.pt2")], "two.pt2", "takes 2 inputs (z, y); a generator takes one"),
        (
            ["--fake", str(tmp_path / "square.pt2")],
            "square.pt2",
            "takes input of shape (8, 4, 2, 2); a generator",
        ),
    ]


def test_bad_generators_are_one_line_naming_the_file(tmp_path, capsys):
    real = tmp_path / "real.npy"
    np.save(real, np.zeros((20, 1, 4, 4), np.uint8))
    for argv, named, message in bad_generators(tmp_path):
        assert cli.main(["diagnose", "--real", str(real), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("mcbench: error: FAKE ") and named in err, err
        assert message in err, err


def test_a_node_may_call_torch_operators_and_shape_arithmetic_only():
    """The second check, after loading (torch's own verifier is the first): no other callable runs."""
    import operator
    from types import SimpleNamespace

    from benchmark.diagnose.generators import GeneratorError, _check_graph

    def program(target):
        graph = torch.fx.Graph()
        z = graph.placeholder("z")
        graph.output(graph.call_function(target, (z, 0) if target is operator.getitem else (z,)))
        return SimpleNamespace(graph_module=torch.fx.GraphModule(nn.Module(), graph))

    for fine in (torch.ops.aten.tanh.default, operator.getitem, torch.sym_max):
        _check_graph(program(fine))
    for bad in (print, torch.tanh, eval):
        with pytest.raises(GeneratorError, match=f"calls {bad.__qualname__} .*not a torch operator; refused"):
            _check_graph(program(bad))
