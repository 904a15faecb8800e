"""Tests of the panel-adjusted selection (``selection.adjusted``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.notes import NotApplicable
from smartcity_analysis.selection import adjusted
from smartcity_analysis.selection.ranking import SelectionParams, candidate_table, select
from tests.selection.test_gap import clean_round, engine_round

PARAMS = SelectionParams(quota=8)


@pytest.fixture(scope="module")
def round_(framework):
    clean = clean_round(framework, n=24, seed=7)
    indicators, data, table, scores = engine_round(framework, clean)
    stats = pd.DataFrame({"region_code": indicators.index, "indicator_coverage": 1.0})
    candidates = candidate_table(scores, clean.assign(official_name="Daerah", province_name="Jawa Barat"), stats)
    return data, table, candidates


def test_assessor_indicators_are_the_likert_values(framework):
    codes = adjusted.assessor_indicators(framework)
    assert {"leadership_score", "governance_score", "infrastructure_score", "regulation_score"} <= set(codes)
    assert "hdi" not in codes and "spbe_index" not in codes


def test_no_class_effect_gives_the_nominal_index_and_selection(round_, framework):
    data, table, candidates = round_
    result = adjusted.adjusted_selection(data, table, candidates, framework, {"Kelas A": 0.0, "Kelas B": 0.0},
                                         detected=True, selection_params=PARAMS)
    assert result.applied
    np.testing.assert_allclose(result.table["readiness_index_adjusted"], result.table["readiness_index"],
                               atol=1e-12, rtol=0)
    assert (result.table["selected"] == result.table["selected_adjusted"]).all()
    assert (result.table["rank"] == result.table["rank_adjusted"]).all()
    assert result.counts[["entered", "left"]].sum() == 0


def test_effect_not_detected_leaves_the_nominal_selection(round_, framework):
    data, table, candidates = round_
    result = adjusted.adjusted_selection(data, table, candidates, framework, {"Kelas A": -0.4, "Kelas B": 0.4},
                                         detected=False, selection_params=PARAMS)
    assert not result.applied and not result.table["adjustment_applied"].any()
    assert (result.table["class_effect"] == 0).all() and (result.table["index_change"] == 0).all()
    nominal = select(candidates, PARAMS).table.set_index("region_code")["selected"]
    assert (result.table.set_index("region_code")["selected_adjusted"] == nominal).all()


def test_removing_an_effect_moves_each_class_its_own_way(round_, framework):
    data, table, candidates = round_
    # Kelas B scored a point high, Kelas A a point low: removing it can only lower Kelas B regions'
    # assessor scores (clipped at 1) and raise Kelas A's (clipped at 5); bounds stay 1-5, objective data fixed.
    result = adjusted.adjusted_selection(data, table, candidates, framework, {"Kelas A": -1.0, "Kelas B": 1.0},
                                         detected=True, selection_params=PARAMS)
    by_class = result.table.groupby("assessment_class")["index_change"]
    assert (by_class.get_group("Kelas A") >= -1e-12).all() and (by_class.get_group("Kelas B") <= 1e-12).all()
    assert by_class.get_group("Kelas B").min() < 0
    assert result.counts["entered"] == result.counts["left"] > 0
    entered = result.table[result.table["change"] == "entered"]
    assert (entered["rank_adjusted"] <= PARAMS.quota).all()
    assert result.n_clipped > 0


def test_remove_class_effects_by_hand():
    data = pd.DataFrame({"region_code": ["1101", "1102", "1103"], "score": [5.0, 1.2, np.nan], "other": 1.0})
    classes = pd.Series(["A", "B", "A"], index=["1101", "1102", "1103"])
    out, clipped = adjusted.remove_class_effects(data, classes, {"A": -0.2, "B": 0.5}, ["score"],
                                                 {"score": (1.0, 5.0)})
    assert out["score"].tolist()[:2] == [5.0, 1.0] and np.isnan(out["score"].iloc[2])
    assert clipped == 2 and (out["other"] == 1.0).all()
    assert data["score"].tolist()[:2] == [5.0, 1.2]  # the input is not modified
    unclipped, none = adjusted.remove_class_effects(data, classes, {"A": -0.2, "B": 0.5}, ["score"])
    assert unclipped["score"].tolist()[:2] == pytest.approx([5.2, 0.7]) and none == 0


def test_skipped_panel_test_is_not_applicable(round_, framework):
    data, table, candidates = round_
    with pytest.raises(NotApplicable) as raised:
        adjusted.panel_adjusted_selection(data, table, candidates, framework, None, PARAMS)
    assert raised.value.reason_code == "panel_test_skipped"
    assert "efek panel" in raised.value.message_id and "panel-effect" in raised.value.message_en


def test_written_file_has_the_contract_columns(round_, framework, tmp_path):
    data, table, candidates = round_
    result = adjusted.adjusted_selection(data, table, candidates, framework, {"Kelas A": -1.0, "Kelas B": 1.0},
                                         detected=True, selection_params=PARAMS)
    written = pd.read_csv(adjusted.write_panel_adjusted(result, tmp_path), dtype={"region_code": str})
    assert list(written.columns) == adjusted.ADJUSTED_COLUMNS and len(written) == len(candidates)
    adjusted.remove_stale(tmp_path)
    assert not (tmp_path / "panel_adjusted.csv").exists()


def test_round_summary_shows_who_enters_and_leaves(round_, framework, tmp_path):
    from smartcity_analysis.notes import Note, write_notes
    from smartcity_analysis.reports import summary_context
    from smartcity_analysis.reports.sections import render_summary_sections
    from smartcity_analysis.synthetic.processed import write_synthetic_processed

    write_synthetic_processed(tmp_path, n_regions=6)
    missing = render_summary_sections(summary_context(tmp_path, "en"), ["panel_adjusted"])
    assert "not available" in missing
    data, table, candidates = round_
    result = adjusted.adjusted_selection(data, table, candidates, framework, {"Kelas A": -1.0, "Kelas B": 1.0},
                                         detected=True, selection_params=PARAMS)
    adjusted.write_panel_adjusted(result, tmp_path)
    text = render_summary_sections(summary_context(tmp_path, "id"), ["panel_adjusted"])
    entered = result.table[result.table["change"] == "entered"]
    assert len(entered) > 0
    assert "Seleksi tanpa efek panel" in text and "Seleksi resmi tetap seleksi nominal" in text
    assert all(code in text for code in entered["region_code"])
    adjusted.remove_stale(tmp_path)
    write_notes(tmp_path, "04_rank_and_select", [Note("04_rank_and_select", "panel_adjusted", "skipped",
                                                      "panel_test_skipped", "Tidak dihitung.", "Not computed.")])
    assert "Not computed." in render_summary_sections(summary_context(tmp_path, "en"), ["panel_adjusted"])
