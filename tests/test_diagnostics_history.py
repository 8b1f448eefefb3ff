"""Reading training histories (CSV / JSON Lines, aliased column names) and running all detectors on them."""

import json
import math

import numpy as np
import pytest

from diagnostics import HistoryError, load_history, run_detectors
from diagnostics.history import HistoryWarning


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def collapsing_rows(n=200, every=50, eval_every=10):
    """A run whose D wins from row 100 on, with coverage evaluated every `eval_every` rows."""
    rng = np.random.default_rng(0)
    hops = [{0}, {3}, {5}, {1}, {6}, {2}, {4}, {7}]
    rows = []
    for i in range(n):
        late = i >= 100
        row = {
            "step": (i + 1) * every,
            "d_loss": 0.002 if late else 1.3 + 0.05 * rng.standard_normal(),
            "g_loss": 0.8 + 0.05 * rng.standard_normal(),
            "d_real": 0.99 if late else 0.5,
            "d_fake": 0.01 if late else 0.5,
        }
        if i % eval_every == eval_every - 1:
            row["eval/captured"] = sorted(hops[(i // eval_every) % len(hops)])
            row["eval/modes_captured"] = 1.0
        rows.append(row)
    return rows


def test_jsonl_canonical_columns(tmp_path):
    h = load_history(write_jsonl(tmp_path / "metrics.jsonl", collapsing_rows()))
    assert list(h)[0] == "step"
    assert h["step"][0] == 50 and h["step"].dtype == np.float64 and len(h["step"]) == 200
    assert {"d_loss", "g_loss", "d_real", "d_fake", "eval/captured", "eval/modes_captured"} <= set(h)
    captured = h["eval/captured"]
    assert captured[0] is None and captured[9] == frozenset({0}) and captured[19] == frozenset({3})
    assert math.isnan(h["eval/modes_captured"][0]) and h["eval/modes_captured"][9] == 1.0


def test_run_folder_is_accepted(tmp_path):
    write_jsonl(tmp_path / "metrics.jsonl", collapsing_rows())
    assert len(load_history(tmp_path)["step"]) == 200


def test_csv_with_alias_names(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(
        "iteration,errD,errG,D_x,D_G_z,note\n"
        "0,1.38,0.70,0.51,0.49,start\n"
        "10,1.37,0.71,0.52,0.48,\n"
        "20,,0.72,0.52,0.47,x\n",
        encoding="utf-8",
    )
    h = load_history(path)
    assert set(h) == {"step", "d_loss", "g_loss", "d_real", "d_fake"}  # the text column is dropped
    np.testing.assert_array_equal(h["step"], [0, 10, 20])
    np.testing.assert_allclose(h["d_fake"], [0.49, 0.48, 0.47])
    assert math.isnan(h["d_loss"][2])


@pytest.mark.parametrize(
    "header",
    ["step,d_loss,g_loss", "iter,loss_d,loss_g", "Iteration,D_loss,G_loss", "step;errD;errG"],
)
def test_loss_aliases(tmp_path, header):
    sep = ";" if ";" in header else ","
    path = tmp_path / "h.csv"
    path.write_text(header + "\n" + sep.join(["1", "0.5", "0.9"]) + "\n", encoding="utf-8")
    h = load_history(path)
    assert h["step"][0] == 1 and h["d_loss"][0] == 0.5 and h["g_loss"][0] == 0.9


def test_csv_captured_column(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text('step,g_loss,captured\n1,0.7,"[0, 3]"\n2,0.7,\n3,0.7,5;6\n4,0.7,[]\n', encoding="utf-8")
    got = list(load_history(path)["eval/captured"])
    assert got == [frozenset({0, 3}), None, frozenset({5, 6}), frozenset()]


def test_no_step_column_uses_row_number(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("d_loss,g_loss\n1.3,0.7\n1.2,0.8\n", encoding="utf-8")
    with pytest.warns(HistoryWarning, match="no step column.*row number"):
        h = load_history(path)
    np.testing.assert_array_equal(h["step"], [0, 1])


def one_line(exc_info, path):
    message = str(exc_info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(HistoryError) as e:
        load_history(path)
    assert "no such file" in one_line(e, path)


@pytest.mark.parametrize("text", ["", "  \n\n"])
def test_empty_file(tmp_path, text):
    path = tmp_path / "h.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HistoryError) as e:
        load_history(path)
    assert "empty" in one_line(e, path)


def test_header_only_csv(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("step,d_loss\n", encoding="utf-8")
    with pytest.raises(HistoryError) as e:
        load_history(path)
    assert "no data rows" in one_line(e, path)


def test_bad_jsonl_row_names_line(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text('{"step": 1, "d_loss": 1.0}\n\n{"step": 2, "d_lo\n', encoding="utf-8")
    with pytest.raises(HistoryError) as e:
        load_history(path)
    assert "line 3" in one_line(e, path)


def test_bad_csv_rows_name_line(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("step,d_loss\n1,1.0\n2,1.0,7\n", encoding="utf-8")
    with pytest.raises(HistoryError) as e:
        load_history(path)
    assert "line 3" in one_line(e, path)
    path.write_text("step,d_loss\n1,1.0\n2,abc\n", encoding="utf-8")
    with pytest.raises(HistoryError) as e:
        load_history(path)
    message = one_line(e, path)
    assert "line 3" in message and "'abc'" in message


def test_no_loss_column_lists_columns(tmp_path):
    path = write_jsonl(tmp_path / "h.jsonl", [{"step": 1, "lr": 0.1, "acc": 0.5}])
    with pytest.raises(HistoryError) as e:
        load_history(path)
    assert "no D or G loss column; found: step, lr, acc" in one_line(e, path)


def test_steps_going_backwards_refused(tmp_path):
    path = write_jsonl(tmp_path / "h.jsonl", [{"step": s, "d_loss": 1.0} for s in (10, 20, 15)])
    with pytest.raises(HistoryError) as e:
        load_history(path)
    assert "line 3" in one_line(e, path) and "backwards" in str(e.value)


def test_history_error_is_value_error():
    assert issubclass(HistoryError, ValueError)


def test_run_detectors_on_collapsing_run(tmp_path):
    path = write_jsonl(tmp_path / "metrics.jsonl", collapsing_rows())
    events = run_detectors(load_history(path), n_modes=8)
    kinds = {e.kind for e in events}
    assert {"d_loss_to_zero", "d_saturation", "mode_hopping"} <= kinds
    assert [e.step for e in events] == sorted(e.step for e in events)
    (zero,) = [e for e in events if e.kind == "d_loss_to_zero"]
    assert abs(zero.step - 101 * 50) <= 250
    # Without n_modes mode hopping cannot be judged; a Wasserstein critic skips the D-output tests.
    assert "mode_hopping" not in {e.kind for e in run_detectors(path, n_modes=None)}
    wasserstein = {e.kind for e in run_detectors(path, n_modes=8, d_loss_kind="wasserstein")}
    assert "d_loss_to_zero" not in wasserstein and "d_saturation" not in wasserstein


def test_g_loss_rising_is_judged_for_bounded_losses_only(tmp_path):
    rng = np.random.default_rng(5)
    g = np.r_[np.full(60, 0.7), np.linspace(0.7, 3.0, 20), np.full(40, 3.0)] + 0.02 * rng.standard_normal(120)
    path = write_jsonl(tmp_path / "m.jsonl", [{"step": 50 * i, "g_loss": float(v)} for i, v in enumerate(g)])
    assert "g_loss_rising" in {e.kind for e in run_detectors(path)}
    # Against a critic G's loss is -E[D(G(z))]: no zero to rise from, its level drifts with the critic.
    assert "g_loss_rising" not in {e.kind for e in run_detectors(path, d_loss_kind="wasserstein")}


def test_run_detectors_healthy_and_partial_columns(tmp_path):
    rng = np.random.default_rng(3)
    rows = [{"step": 50 * i, "g_loss": 0.8 + 0.1 * rng.standard_normal()} for i in range(100)]
    for i, row in enumerate(rows):
        if i % 10 == 9:
            row["eval/captured"] = list(range(8))
    assert run_detectors(load_history(write_jsonl(tmp_path / "h.jsonl", rows)), n_modes=8) == []


def test_run_detectors_rejects_unknown_loss_kind():
    with pytest.raises(ValueError, match="wasserstein"):
        run_detectors({"step": np.arange(3), "d_loss": np.ones(3)}, d_loss_kind="wgan")
