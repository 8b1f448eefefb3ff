"""Published numbers to print beside ours, with their protocol and source (see shared PROTOCOLS.md).

Only rows whose protocol matches ours are shown: the VEEGAN protocol for ring8 and grid25, and the
VEEGAN/PacGAN stacked-MNIST protocol (26,000 samples, modes with at least one sample, KL against
uniform). Keys are our (dataset, variant) names; values are the published means and their source;
``None`` where the paper gives no such number.
"""

from __future__ import annotations

VEEGAN_T1 = "VEEGAN arXiv 1705.07761 T1"
GDPP_T1 = "GDPP arXiv 1812.00068 T1"
VEEGAN_T2 = "VEEGAN arXiv 1705.07761 T2"
GDPP_T3 = "GDPP arXiv 1812.00068 T3, stronger architecture"
PACGAN_T2 = "PacGAN arXiv 1712.04086 T2, as PROTOCOLS.md gives it (marked to check)"

Published = tuple[float, float | None, float | None, str]  # modes, high-quality %, KL(gen||true), source

# (dataset, variant) -> published numbers of that variant
PUBLISHED: dict[tuple[str, str], Published] = {
    ("ring8", "gan"): (1.0, 99.3, None, VEEGAN_T1),
    ("grid25", "gan"): (3.3, 0.5, None, VEEGAN_T1),
    ("ring8", "unrolled"): (7.6, 35.6, None, VEEGAN_T1),
    ("grid25", "unrolled"): (23.6, 16.0, None, VEEGAN_T1),
    ("ring8", "wgan-gp"): (6.8, 59.6, None, GDPP_T1),
    ("grid25", "wgan-gp"): (24.2, 28.7, None, GDPP_T1),
    ("stacked-mnist", "gan"): (99.0, None, 3.4, VEEGAN_T2),  # DCGAN
    ("stacked-mnist", "unrolled"): (48.7, None, 4.32, VEEGAN_T2),
    ("stacked-mnist", "pacgan"): (1000.0, None, 0.06, PACGAN_T2),  # PacDCGAN2
    ("stacked-mnist", "wgan-gp"): (995.0, None, 0.148, GDPP_T3),
}

# Reference points from other methods we do not implement, for context.
OTHER: dict[tuple[str, str], Published] = {
    ("ring8", "VEEGAN"): (8.0, 52.9, None, VEEGAN_T1),
    ("grid25", "VEEGAN"): (24.6, 40.0, None, VEEGAN_T1),
    ("ring8", "GDPP"): (8.0, 71.7, None, GDPP_T1),
    ("grid25", "GDPP"): (24.8, 68.5, None, GDPP_T1),
    ("stacked-mnist", "VEEGAN"): (150.0, None, 2.95, VEEGAN_T2),
    ("stacked-mnist", "GDPP"): (1000.0, None, 0.135, GDPP_T3),
}
