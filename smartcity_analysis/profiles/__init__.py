"""Stage 03, readiness profiles: which kinds of region a round is looking at, so that guidance fits each kind.

- :mod:`~smartcity_analysis.profiles.estimator`: the k-means estimator and its bootstrap stability;
- :mod:`~smartcity_analysis.profiles.stage`: features, fitting, naming and the contract files;
- :mod:`~smartcity_analysis.profiles.charts`: the stage notebook's charts.
"""

from smartcity_analysis.profiles.estimator import ReadinessProfiles, StabilityResult, bootstrap_stability
from smartcity_analysis.profiles.stage import (
    STAGE,
    ProfileResult,
    feature_labels,
    fit_profiles,
    load_features,
    load_region_info,
    load_round_features,
    pca_coordinates,
    profile_features,
    profile_round,
    profile_sizes,
    round_features,
    write_profiles,
)

__all__ = ["STAGE", "ProfileResult", "ReadinessProfiles", "StabilityResult", "bootstrap_stability",
           "feature_labels", "fit_profiles", "load_features", "load_region_info", "load_round_features",
           "pca_coordinates", "profile_features", "profile_round", "profile_sizes", "round_features",
           "write_profiles"]
