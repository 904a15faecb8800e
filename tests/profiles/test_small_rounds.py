"""Profiles when the number of regions allows: the k range capped by it, none below the minimum."""

import numpy as np
import pandas as pd

from smartcity_analysis.profiles.stage import profile_round, round_features, write_profiles
from tests.profiles.test_profiles import ASPECTS, DIMENSIONS, planted_features


def test_below_the_minimum_there_are_no_profiles_and_a_note(framework, tmp_path):
    features, _ = planted_features(n_per_profile=2)  # 6 regions
    result, notes = profile_round(features.iloc[:5], framework, n_bootstrap=5)
    assert result is None
    assert [(n.action, n.reason_code) for n in notes] == [("skipped", "too_few_regions")]
    assert "6" in notes[0].message_en and "5" in notes[0].message_en
    write_profiles(None, tmp_path)
    assert pd.read_csv(tmp_path / "profiles.csv").empty and pd.read_csv(tmp_path / "profile_centroids.csv").empty


def test_a_small_round_tries_at_most_half_its_regions(framework):
    features, _ = planted_features(n_per_profile=3)  # 9 regions: k from 3 to 4, not to 8
    result, notes = profile_round(features, framework, n_bootstrap=5, random_state=0)
    assert list(result.model.silhouette_by_k_.index) == [3, 4]
    assert [(n.action, n.reason_code) for n in notes] == [("capped", "few_regions")]
    assert result.assignments["region_code"].tolist() == sorted(features.index)


def test_a_large_round_is_not_capped(framework):
    features, _ = planted_features(n_per_profile=40)
    result, notes = profile_round(features, framework, n_bootstrap=5, random_state=0)
    assert notes == () and list(result.model.silhouette_by_k_.index) == list(range(3, 9))


def test_features_the_round_could_not_score_are_dropped_and_gaps_filled(framework):
    features, _ = planted_features(n_per_profile=4)
    scores = features.reset_index().assign(dimension_environment=np.nan)
    scores.loc[0, "aspect_struktur"] = np.nan
    usable, notes = round_features(scores, framework)
    assert list(usable.columns) == [c for c in ASPECTS + DIMENSIONS if c != "dimension_environment"]
    assert not usable.isna().any().any()
    code = scores.loc[0, "region_code"]
    assert usable.loc[code, "aspect_struktur"] == scores["aspect_struktur"].median()
    assert {(n.analysis, n.region_code) for n in notes} == {("feature:dimension_environment", ""),
                                                            ("features", code)}
