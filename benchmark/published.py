"""Published numbers to print beside ours, with their protocol and source (see shared PROTOCOLS.md).

Only rows whose protocol matches ours are shown: the VEEGAN protocol for ring8 and grid25.
Keys are our (dataset, variant) names; values are the published means.
"""

from __future__ import annotations

VEEGAN_T1 = "VEEGAN arXiv 1705.07761 T1"
GDPP_T1 = "GDPP arXiv 1812.00068 T1"

# (dataset, variant) -> (modes captured, high-quality %, source)
PUBLISHED: dict[tuple[str, str], tuple[float, float, str]] = {
    ("ring8", "gan"): (1.0, 99.3, VEEGAN_T1),
    ("grid25", "gan"): (3.3, 0.5, VEEGAN_T1),
    ("ring8", "unrolled"): (7.6, 35.6, VEEGAN_T1),
    ("grid25", "unrolled"): (23.6, 16.0, VEEGAN_T1),
    ("ring8", "wgan-gp"): (6.8, 59.6, GDPP_T1),
    ("grid25", "wgan-gp"): (24.2, 28.7, GDPP_T1),
}

# Reference points from other methods we do not implement, for context.
OTHER: dict[tuple[str, str], tuple[float, float, str]] = {
    ("ring8", "VEEGAN"): (8.0, 52.9, VEEGAN_T1),
    ("grid25", "VEEGAN"): (24.6, 40.0, VEEGAN_T1),
    ("ring8", "GDPP"): (8.0, 71.7, GDPP_T1),
    ("grid25", "GDPP"): (24.8, 68.5, GDPP_T1),
}
