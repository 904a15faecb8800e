"""A round's index leaves out what it cannot score, and the weights of what remains rescale."""

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.index import IndexMethod, build_readiness, scores_table
from smartcity_analysis.index.indicators import screen_framework

TABLE = pd.DataFrame({
    "code": ["a1", "a2", "b1", "A", "B", "Index"],
    "level": [1, 1, 1, 2, 2, 3],
    "parent": ["A", "A", "B", "Index", "Index", None],
    "weight": 1.0,
    "direction": [1, 1, 1, np.nan, np.nan, np.nan],
})


def test_indicators_without_data_or_variation_are_left_out_with_their_empty_parents():
    data = pd.DataFrame({"a1": [1.0, 2.0, 3.0], "a2": [np.nan, np.nan, np.nan], "b1": [5.0, 5.0, np.nan]})
    screened = screen_framework(TABLE, data)
    assert screened.table["code"].tolist() == ["a1", "A", "Index"]
    assert dict(zip(screened.left_out["code"], screened.left_out["reason"], strict=True)) == {
        "a2": "no_data", "b1": "no_variation", "B": "no_child"}


def test_nothing_is_left_out_when_everything_varies():
    data = pd.DataFrame({"a1": [1.0, 2.0], "a2": [3.0, 1.0], "b1": [0.0, 1.0]})
    screened = screen_framework(TABLE, data)
    assert screened.table.equals(TABLE.reset_index(drop=True)) and screened.left_out.empty


@pytest.fixture(scope="module")
def clean_sample():
    from smartcity_analysis.cleaning import run_cleaning
    from smartcity_analysis.paths import SAMPLE_SUBMISSIONS_DIR

    def clean(tmp):
        return run_cleaning(SAMPLE_SUBMISSIONS_DIR, tmp).clean
    return clean


def test_an_empty_indicator_leaves_the_index_of_the_others(framework, clean_sample, tmp_path):
    clean = clean_sample(tmp_path)
    full = build_readiness(clean, framework, IndexMethod())
    blanked = build_readiness(clean.assign(spbe_index=np.nan), framework, IndexMethod())
    assert blanked.left_out.query("code == 'spbe_index'")["reason"].tolist() == ["no_data", "no_data"]
    assert [n.analysis for n in blanked.notes] == ["indicator:spbe_index"]
    scores = scores_table(blanked, framework)
    assert scores["readiness_index"].notna().all() and scores["spbe_index"].isna().all()
    # the other indicators of the aspect carry it: its score changes, the other aspects' do not
    before, after = (scores_table(r, framework).set_index("region_code") for r in (full, blanked))
    assert np.allclose(before["aspect_struktur"], after.loc[before.index, "aspect_struktur"])
    assert not np.allclose(before["aspect_suprastruktur"], after.loc[before.index, "aspect_suprastruktur"])
