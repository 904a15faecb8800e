"""Profiles of large (village-level) rounds: the sampled silhouette above the threshold, the exact one below."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score

from smartcity_analysis.profiles.estimator import (
    LARGE_ROUND_UNITS,
    SILHOUETTE_SAMPLE_SIZE,
    ReadinessProfiles,
    silhouette_sample,
)
from tests.profiles.test_profiles import planted_features


def _exact_silhouettes(model: ReadinessProfiles, features: pd.DataFrame, **sample) -> pd.Series:
    """Refit each k the search tried and score it with scikit-learn directly."""
    scaled = model.scaler_.transform(features.to_numpy())
    scores = {}
    for k in model.silhouette_by_k_.index:
        labels = ReadinessProfiles(k_min=k, k_max=k, n_init=model.n_init,
                                   random_state=model.random_state).fit(features).kmeans_.labels_
        scores[k] = float(silhouette_score(scaled, labels, **sample))
    return pd.Series(scores, name="silhouette").rename_axis("k")


def test_every_kab_kota_round_is_far_below_the_threshold():
    assert LARGE_ROUND_UNITS >= 5_000 > 514
    assert silhouette_sample(514) is None
    assert silhouette_sample(LARGE_ROUND_UNITS) is None
    assert silhouette_sample(LARGE_ROUND_UNITS + 1) == SILHOUETTE_SAMPLE_SIZE
    assert silhouette_sample(40, large_round_units=30, sample_size=100) == 40  # never more than the rows


def test_below_the_threshold_the_silhouette_is_exact():
    features, _ = planted_features(n_per_profile=30, noise=12.0)
    model = ReadinessProfiles(k_min=2, k_max=5, n_init=3, random_state=4).fit(features)
    assert model.silhouette_sample_size_ is None
    pd.testing.assert_series_equal(model.silhouette_by_k_, _exact_silhouettes(model, features), rtol=0, atol=0)
    at_threshold = ReadinessProfiles(k_min=2, k_max=5, n_init=3, random_state=4,
                                     large_round_units=len(features)).fit(features)
    pd.testing.assert_series_equal(at_threshold.silhouette_by_k_, model.silhouette_by_k_, rtol=0, atol=0)


def test_above_the_threshold_the_silhouette_is_that_of_a_seeded_sample():
    features, _ = planted_features(n_per_profile=30, noise=12.0)  # 90 regions
    exact = ReadinessProfiles(k_min=2, k_max=5, n_init=3, random_state=4).fit(features)
    large = ReadinessProfiles(k_min=2, k_max=5, n_init=3, random_state=4, large_round_units=50,
                              silhouette_sample_size=60).fit(features)
    assert large.silhouette_sample_size_ == 60
    sampled = _exact_silhouettes(large, features, sample_size=60, random_state=4)
    pd.testing.assert_series_equal(large.silhouette_by_k_, sampled, rtol=0, atol=0)
    assert not np.array_equal(large.silhouette_by_k_.to_numpy(), exact.silhouette_by_k_.to_numpy())
    # Only the scoring of the k differs: the k-means fits are the exact ones.
    assert large.n_profiles_ == exact.n_profiles_
    np.testing.assert_array_equal(large.labels_, exact.labels_)
    pd.testing.assert_frame_equal(large.cluster_centers_, exact.cluster_centers_, rtol=0, atol=0)


def test_the_large_round_path_is_reproducible():
    features, _ = planted_features(n_per_profile=30, noise=12.0)
    fits = [ReadinessProfiles(k_min=2, k_max=5, n_init=3, random_state=9, large_round_units=50,
                              silhouette_sample_size=60).fit(features) for _ in range(2)]
    pd.testing.assert_series_equal(fits[0].silhouette_by_k_, fits[1].silhouette_by_k_, rtol=0, atol=0)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    other_seed = ReadinessProfiles(k_min=2, k_max=5, n_init=3, random_state=10, large_round_units=50,
                                   silhouette_sample_size=60).fit(features)
    assert not np.array_equal(other_seed.silhouette_by_k_.to_numpy(), fits[0].silhouette_by_k_.to_numpy())
