"""Tests of the panel effect between assessment classes (``smartcity_analysis.selection.panel``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.selection.panel import (
    PanelParams,
    estimate_panel_effect,
    likert_fields,
    objective_indicators,
    panel_data,
    write_panel_effect,
)

PARAMS = PanelParams(n_permutations=500, random_state=4)


def synthetic_panel(class_effects: dict[str, float], n_per_class: int = 22, seed: int = 2021) -> pd.DataFrame:
    """Assessor scores that follow the objective index, plus a planted shift per class."""
    rng = np.random.default_rng(seed)
    classes = np.repeat(list(class_effects), n_per_class)
    objective = rng.uniform(20, 80, len(classes))
    shift = np.array([class_effects[c] for c in classes])
    score = 1.5 + 0.035 * objective + shift + rng.normal(0, 0.3, len(classes))
    return pd.DataFrame({"region_code": [f"{1101 + i:04d}" for i in range(len(classes))],
                         "assessment_class": classes, "assessor_score": score, "objective_index": objective})


def test_detects_a_planted_class_effect():
    planted = {"A": 0.45, "B": 0.0, "C": 0.0, "D": -0.45}
    result = estimate_panel_effect(synthetic_panel(planted), PARAMS)
    assert result.detected
    assert result.p_value < 0.001 and result.p_permutation < 0.01
    effects = result.effects.set_index("assessment_class")
    assert effects["effect"].idxmax() == "A" and effects["effect"].idxmin() == "D"
    for cls, shift in planted.items():  # deviation from the mean of the classes; mean of planted shifts is 0
        assert effects.loc[cls, "ci_low"] <= shift <= effects.loc[cls, "ci_high"]
    assert result.objective_slope == pytest.approx(0.035, abs=0.005)
    assert result.summary_id.startswith("Skor asesor berbeda antar kelas")
    assert "kelas A memberi skor tertinggi" in result.summary_id
    assert "class D lowest" in result.summary_en


@pytest.mark.parametrize("seed", [2021, 7, 99])
def test_does_not_flag_when_there_is_no_class_effect(seed):
    result = estimate_panel_effect(synthetic_panel(dict.fromkeys("ABCD", 0.0), seed=seed), PARAMS)
    assert not result.detected
    assert result.p_permutation > 0.05
    assert result.summary_en.startswith("No evidence")
    assert result.summary_id.startswith("Tidak ada bukti")


def test_objective_differences_alone_are_not_a_panel_effect():
    # Class A holds the most ready regions: raw means differ by class, adjusted ones must not.
    data = synthetic_panel(dict.fromkeys("ABCD", 0.0), seed=11)
    data.loc[data["assessment_class"] == "A", "objective_index"] += 30
    data.loc[data["assessment_class"] == "A", "assessor_score"] += 0.035 * 30
    result = estimate_panel_effect(data, PARAMS)
    assert data.groupby("assessment_class")["assessor_score"].mean().idxmax() == "A"
    assert not result.detected


def test_permutation_test_is_seeded():
    data = synthetic_panel({"A": 0.2, "B": 0.0, "C": 0.0, "D": 0.0})
    assert estimate_panel_effect(data, PARAMS).p_permutation == estimate_panel_effect(data, PARAMS).p_permutation


def test_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        estimate_panel_effect(synthetic_panel({"A": 0.0}), PARAMS)


def test_objective_indicators_exclude_the_assessor_scores(framework):
    likert = likert_fields(framework)
    objective = objective_indicators(framework)
    assert {"leadership_score", "governance_score", "infrastructure_score", "regulation_score"} <= set(likert)
    assert not set(objective) & set(likert)
    assert {"hdi", "spbe_index", "households_internet_pct"} <= set(objective)


def test_panel_data_weights_the_objective_indicators(framework):
    likert = likert_fields(framework)
    scores = pd.DataFrame({"region_code": ["1101", "1102"], "hdi": [20.0, 80.0], "spbe_index": [60.0, np.nan]})
    submissions = pd.DataFrame({"region_code": ["1101", "1102"], "assessment_class": ["A", "B"],
                                **{f: [2.0, 4.0] for f in likert}})
    submissions.loc[0, likert[0]] = np.nan
    data = panel_data(scores, submissions, framework, pd.Series({"hdi": 1.0, "spbe_index": 3.0}))
    assert data["objective_index"].tolist() == [50.0, 80.0]  # 1102 has no spbe_index: weights rescaled
    assert data["assessor_score"].tolist() == [2.0, 4.0]


def test_writes_json_with_the_sentences(tmp_path):
    result = estimate_panel_effect(synthetic_panel({"A": 0.4, "B": 0.0, "C": -0.4}), PARAMS)
    path = write_panel_effect(result, tmp_path)
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["p_value"] == result.p_value
    assert payload["summary_id"] == result.summary_id and payload["summary_en"] == result.summary_en
    assert [e["assessment_class"] for e in payload["effects"]] == ["A", "B", "C"]
    write_panel_effect(result, tmp_path / "again")
    assert path.read_bytes() == (tmp_path / "again" / "panel_effect.json").read_bytes()
