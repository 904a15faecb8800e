"""Tests of the readiness profiles (``smartcity_analysis.profiles``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from smartcity_analysis.profiles.estimator import ReadinessProfiles
from smartcity_analysis.profiles.stage import (
    fit_profiles,
    name_profiles,
    profile_feature_codes,
    profile_features,
    write_profiles,
)

ASPECTS = ["aspect_struktur", "aspect_infrastruktur", "aspect_suprastruktur"]
DIMENSIONS = ["dimension_governance", "dimension_branding", "dimension_economy", "dimension_living",
              "dimension_society", "dimension_environment"]
# Planted profiles: (aspect centres, dimension centre). 0: ready; 1: strong infrastructure, lagging regulation;
# 2: early stage.
PLANTED = [((80, 80, 80), 75), ((60, 85, 25), 50), ((25, 20, 25), 25)]


def planted_features(n_per_profile: int = 40, noise: float = 5.0, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for label, (aspects, dimension) in enumerate(PLANTED):
        centre = np.array([*aspects, *[dimension] * len(DIMENSIONS)], dtype=float)
        rows.append(centre + rng.normal(0, noise, size=(n_per_profile, len(centre))))
        truth += [label] * n_per_profile
    order = rng.permutation(len(truth))
    features = pd.DataFrame(np.vstack(rows)[order], columns=ASPECTS + DIMENSIONS)
    features.index = pd.Index([f"{1101 + i:04d}" for i in range(len(features))], name="region_code")
    return features, np.asarray(truth)[order]


def test_feature_codes_come_from_the_framework(framework):
    assert profile_feature_codes(framework) == ASPECTS + DIMENSIONS


def test_profile_features_reads_scores_and_rejects_missing_columns(framework):
    features, _ = planted_features(5)
    scores = features.reset_index().assign(readiness_index=1.0)
    assert list(profile_features(scores, framework).columns) == ASPECTS + DIMENSIONS
    with pytest.raises(ValueError, match="dimension_society"):
        profile_features(scores.drop(columns="dimension_society"), framework)


def test_clustering_recovers_planted_profiles():
    features, truth = planted_features()
    model = ReadinessProfiles(k_min=2, k_max=6, random_state=0).fit(features)
    assert model.n_profiles_ == 3
    assert adjusted_rand_score(truth, model.labels_) >= 0.9
    assert list(model.silhouette_by_k_.index) == [2, 3, 4, 5, 6]


def test_profiles_are_ordered_by_readiness_and_predict_matches_fit():
    features, truth = planted_features()
    model = ReadinessProfiles(k_min=3, k_max=3, readiness_columns=ASPECTS, random_state=0).fit(features)
    readiness = model.cluster_centers_[ASPECTS].mean(axis=1)
    assert readiness.is_monotonic_decreasing
    assert list(model.cluster_centers_.index) == [1, 2, 3]
    np.testing.assert_array_equal(model.predict(features), model.labels_)
    # Planted profile 0 (the ready one) becomes profile 1; the early-stage one profile 3.
    assert set(model.labels_[truth == 0]) == {1}
    assert set(model.labels_[truth == 2]) == {3}
    distances = model.transform(features)
    np.testing.assert_array_equal(distances.argmin(axis=1) + 1, model.labels_)


def test_estimator_contract():
    model = ReadinessProfiles(k_min=2, k_max=4, random_state=3)
    assert model.get_params()["random_state"] == 3
    assert not [k for k in vars(model) if k.endswith("_")]  # nothing learned before fit
    fitted = model.fit(planted_features(10)[0])
    assert fitted is model
    assert clone(model).get_params() == model.get_params()


def test_names_are_derived_from_centroids_by_the_framework_rules(framework):
    features, _ = planted_features()
    result = fit_profiles(features, framework, k_min=3, k_max=3, n_bootstrap=5, random_state=0)
    names = result.centroids.set_index("profile_id")
    assert names.loc[1, "profile_name_id"] == "Siap melaju"
    assert names.loc[1, "profile_name_en"] == "Ready to accelerate"
    assert names.loc[2, "profile_name_id"] == "Infrastruktur kuat, regulasi tertinggal"
    assert names.loc[2, "profile_name_en"] == "Strong infrastructure, lagging regulation"
    assert names.loc[3, "profile_name_en"] == "Needs the foundations"
    assert names["n_regions"].sum() == len(features)


def test_duplicate_names_are_disambiguated_in_profile_order(framework):
    features, _ = planted_features()
    centers = pd.DataFrame([[90, 90, 90], [85, 85, 85], [20, 20, 20]], columns=ASPECTS,
                           index=pd.Index([1, 2, 3], name="profile_id"))
    names = name_profiles(centers, features, framework.profiles)
    assert names["profile_name_id"].tolist() == ["Siap melaju (kelompok 1)", "Siap melaju (kelompok 2)",
                                                 "Perlu fondasi dasar"]
    assert names["profile_name_en"].is_unique


def test_stability_is_high_for_well_separated_profiles(framework):
    features, _ = planted_features()
    result = fit_profiles(features, framework, k_min=2, k_max=5, n_bootstrap=20, random_state=1)
    assert result.stability.summary["ari_median"] >= 0.9
    assert len(result.stability.ari) == 20


def test_same_seed_gives_identical_files(framework, tmp_path):
    features, _ = planted_features(noise=12.0)
    for folder in ("a", "b"):
        result = fit_profiles(features, framework, n_bootstrap=5, random_state=11)
        write_profiles(result, tmp_path / folder)
    for name in ("profiles.csv", "profile_centroids.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    written = pd.read_csv(tmp_path / "a" / "profiles.csv", dtype={"region_code": str})
    assert list(written.columns) == ["region_code", "profile_id", "profile_name_id", "profile_name_en",
                                     "distance_to_centroid"]


def test_too_few_regions_for_the_k_range_is_an_error():
    with pytest.raises(ValueError, match="need 2 <= k"):
        ReadinessProfiles(k_min=5, k_max=8).fit(planted_features(1)[0])
