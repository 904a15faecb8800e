"""The panel test uses the classes that have enough regions and is skipped with its reason otherwise."""

import json

import pandas as pd
import pytest

from smartcity_analysis.notes import NotApplicable, run_optional
from smartcity_analysis.selection.panel import PanelParams, panel_test, write_panel_effect
from tests.selection.test_panel import synthetic_panel

PARAMS = PanelParams(n_permutations=200, random_state=4)


def test_small_classes_are_left_out_of_the_test():
    data = synthetic_panel({"A": 0.4, "B": 0.0, "C": -0.4}, n_per_class=12)
    tiny = synthetic_panel({"D": 2.0}, n_per_class=2, seed=5).assign(region_code=["9901", "9902"])
    result = panel_test(pd.concat([data, tiny], ignore_index=True), PARAMS)
    assert result.classes_left_out == ("D",)
    assert set(result.effects["assessment_class"]) == {"A", "B", "C"}
    assert result.n_regions == 36


@pytest.mark.parametrize("classes, n_per_class, reason", [({"A": 0.0}, 20, "too_few_classes"),
                                                           ({"A": 0.0, "B": 0.0}, 2, "too_few_classes")])
def test_with_fewer_than_two_usable_classes_the_test_is_skipped(classes, n_per_class, reason):
    with pytest.raises(NotApplicable) as skipped:
        panel_test(synthetic_panel(classes, n_per_class=n_per_class), PARAMS)
    assert skipped.value.reason_code == reason and skipped.value.message_id


def test_a_skipped_test_writes_why_not_an_earlier_result(tmp_path):
    data = synthetic_panel({"A": 0.0}, n_per_class=20)
    result, notes = run_optional("04_rank_and_select", "panel_effect", panel_test, data.iloc[:0], PARAMS)
    assert result is None and notes[0].reason_code == "no_assessor_scores"
    payload = json.loads(write_panel_effect(None, tmp_path, notes).read_text(encoding="utf-8"))
    assert payload["test"] == "skipped" and payload["summary_en"] == notes[0].message_en
    assert payload["effects"] == []
