"""The human-readable text of a ``mcbench diagnose`` report (:func:`benchmark.diagnose.command.diagnose`):
the verdict line first, then its evidence, the inputs, a numbers table and notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diagnostics import registry as diagnostics_registry
from diagnostics.log_formats import FORMATS


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %" if x >= 0.001 or x == 0 else f"{100 * x:.2g} %"


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _support(batch: float | None, most: float) -> str:
    return f"> {most**2:,.0f}" if batch is None else f"{batch**2:,.0f}"


def render_text(report: dict[str, Any], out: str | Path | None = None) -> str:
    """The human-readable report: verdict line, evidence, inputs, a numbers table and notes."""
    lines = [f"verdict: {report['verdict']}"]
    lines += [f"  - {e}" for e in report["evidence"]]
    for role in ("real", "fake"):
        s = report["inputs"][role]
        shape = "x".join(str(d) for d in s["shape"])
        rng = f", pixels read as {s['pixel_range']}" if s["pixel_range"] else ""
        lines.append(
            f"{role.upper()}: {s['n']:,} {s['kind']} of shape {shape} from {s['path']} ({s['source']}{rng})"
        )
    rows: list[tuple[str, str, str, str]] = []
    m = report["modes"]
    unit = m["kind"]
    rows.append(
        (
            f"{unit} captured / covered",
            unit,
            f"{m['captured']} / {m['total']}",
            f"{m['covered_by_real']} / {m['total']}",
        )
    )
    # the coverage outputs beside the mode count, labelled as the tables label them
    for metric in diagnostics_registry.outputs():
        if metric.key != "modes_captured" and metric.key in m["numbers"]:
            value = m["numbers"][metric.key]
            rows.append((metric.label, unit, _fmt(None if value is None else value * metric.scale), ""))
    for space, values in report["metrics"].items():
        rows.append(("Frechet distance", space, _fmt(values["frechet_distance"]), ""))
        rows.append(
            ("KID (mean +- std)", space, f"{_fmt(values['kid_mean'])} +- {_fmt(values['kid_std'])}", "")
        )
    for space in report["unavailable"]:
        rows.append(("Frechet distance, KID", space, "-", "(see notes)"))
    p = report["metrics"][report["primary_space"]]
    space = report["primary_space"]
    for key, label in (
        ("precision_score", "precision"),
        ("recall_score", "recall"),
        ("density", "density"),
        ("coverage_score", "coverage"),
    ):
        rows.append((label, space, _fmt(p[key]), ""))
    rows.append(("NDB (of K bins)", space, f"{p['ndb']:.0f} of {p['ndb_bins']:.0f}", ""))
    rows.append(("NDB JS divergence", space, _fmt(p["ndb_jsd"]), ""))
    rows.append(("near-duplicate pairs", space, _pct(p["dup_rate_fake"]), _pct(p["dup_rate_real"])))
    most = p["birthday_max_batch"]
    rows.append(
        (
            "birthday support",
            space,
            _support(p["birthday_batch"], most),
            _support(p["birthday_batch_real"], most),
        )
    )
    widths = [max(len(r[i]) for r in [("metric", "space", "FAKE", "REAL"), *rows]) for i in range(4)]
    for row in [("metric", "space", "FAKE", "REAL"), *rows]:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    notes = [f"{space} column {reason}" for space, reason in report["unavailable"].items()]
    notes += report["notes"]
    if report["history"]:
        h = report["history"]
        # reports written before the format was recorded have no "format"
        read_as = f" (read as {FORMATS.get(h['format'], h['format'])})" if h.get("format") else ""
        notes.append(
            f"training log {h['path']}{read_as}: {h['rows']} rows, {len(h['events'])} detector event(s)"
        )
        notes += h["warnings"]
    lines += ["notes:", *[f"  - {n}" for n in notes]]
    if out is not None:
        lines.append(f"report: {out}")
    return "\n".join(lines)
