"""The readiness-profile estimator (scikit-learn contract) and its bootstrap stability check.

Regions are clustered (k-means) on their aspect and dimension scores, standardised so that each score counts
equally. The number of profiles is chosen from a range by the mean silhouette; stability is checked by bootstrap
resampling (adjusted Rand index between the full-data labels and those of a model refitted on a resample).
Labels are deterministic and ordered by mean readiness (profile 1 = most ready).

Each k-means fit runs on one thread: on a few hundred regions OpenMP's threads cost far more than they save
(a k search took 5.7 s on two threads and 0.2 s on one, on a busy two-core machine), and one thread makes the
sums inside k-means, so the centroids to the last digit, independent of the machine's core count. What runs
in parallel instead are whole fits (the k values of the search, the bootstrap resamples) through joblib.

A round of more than :data:`LARGE_ROUND_UNITS` units (village-level rounds, not the 514 kab/kota) scores each k
by the silhouette of a seeded sample of :data:`SILHOUETTE_SAMPLE_SIZE` units: the exact silhouette compares
every pair of units, so its cost grows with the square of their number. Every kab/kota round is far below the
threshold and keeps the exact silhouette, to the last digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from smartcity_analysis.index.engine import decision_key

# Above this many units a round is scored by a sampled silhouette. Ten times the 514 kab/kota, so that no round
# of kab/kota (nor of provinces) ever leaves the exact method; at 5,000 units the exact silhouette costs about
# a second per k, at 100,000 units several minutes.
LARGE_ROUND_UNITS = 5_000
# Units in the seeded silhouette sample of a large round (the same sample for every k, so the k are compared
# on the same units). The standard error of a mean silhouette over 5,000 units is about 0.003, well below the
# differences between the silhouettes of neighbouring k.
SILHOUETTE_SAMPLE_SIZE = 5_000


class ReadinessProfiles(ClusterMixin, BaseEstimator):
    """K-means readiness profiles with the number of profiles chosen by silhouette.

    Parameters
    ----------
    k_min, k_max : int
        The range of profile counts tried (inclusive).
    n_init : int
        K-means restarts per k (the best inertia is kept).
    readiness_columns : sequence of str, optional
        Columns whose mean orders the profiles (profile 1 has the highest centroid mean over them); default all
        features.
    random_state : int
        Seed of k-means; the same seed gives the same labels.
    n_jobs : int, optional
        Parallel fits of the k search (joblib; ``None`` is joblib's default, one unless a
        ``joblib.parallel_config`` says otherwise). The result does not depend on it.
    large_round_units : int
        Above this many fitted rows the silhouette is that of a seeded sample (:data:`LARGE_ROUND_UNITS`).
    silhouette_sample_size : int
        Rows in that sample (:data:`SILHOUETTE_SAMPLE_SIZE`), drawn with ``random_state``.

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray
        The feature columns seen in ``fit``.
    scaler_ : sklearn.preprocessing.StandardScaler
        Standardisation learned on the fitted data.
    silhouette_by_k_ : pandas.Series
        Mean silhouette for each k tried (index ``k``).
    silhouette_sample_size_ : int or None
        Rows the silhouettes were computed on when sampled (a large round); ``None`` when exact (all rows).
    n_profiles_ : int
        The chosen k: the highest silhouette; ties go to the smaller k.
    kmeans_ : sklearn.cluster.KMeans
        The k-means model at the chosen k.
    label_map_ : numpy.ndarray
        ``label_map_[kmeans_label]`` is the profile id (1 = most ready).
    labels_ : numpy.ndarray
        Profile id of each fitted row.
    cluster_centers_ : pandas.DataFrame
        Centroids in the features' original units, indexed by ``profile_id``.
    """

    def __init__(self, k_min: int = 2, k_max: int = 8, n_init: int = 20,
                 readiness_columns: Sequence[str] | None = None, random_state: int = 0,
                 n_jobs: int | None = None, large_round_units: int = LARGE_ROUND_UNITS,
                 silhouette_sample_size: int = SILHOUETTE_SAMPLE_SIZE):
        self.k_min = k_min
        self.k_max = k_max
        self.n_init = n_init
        self.readiness_columns = readiness_columns
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.large_round_units = large_round_units
        self.silhouette_sample_size = silhouette_sample_size

    def fit(self, X: pd.DataFrame, y: Any = None) -> ReadinessProfiles:  # noqa: N803 - scikit-learn naming
        """Choose k by silhouette, fit k-means and order the profiles by readiness.

        Parameters
        ----------
        X : pandas.DataFrame
            One row per region, one column per feature; no missing values.
        y : ignored

        Returns
        -------
        ReadinessProfiles
            The fitted estimator.
        """
        frame = _check_features(X)
        k_values = _k_range(self.k_min, self.k_max, len(frame))
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.scaler_ = StandardScaler().fit(frame.to_numpy())
        scaled = self.scaler_.transform(frame.to_numpy())
        self.silhouette_sample_size_ = silhouette_sample(len(frame), self.large_round_units,
                                                         self.silhouette_sample_size)
        searched = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_and_score)(scaled, k, self.n_init, self.random_state, self.silhouette_sample_size_)
            for k in k_values)
        fits = {k: fitted for k, (fitted, _) in zip(k_values, searched, strict=True)}
        self.silhouette_by_k_ = pd.Series(
            {k: score for k, (_, score) in zip(k_values, searched, strict=True)}, name="silhouette"
        ).rename_axis("k")
        # Compared at the decision precision: the first (smallest) k of equal silhouettes wins on any machine.
        self.n_profiles_ = int(decision_key(self.silhouette_by_k_).idxmax())
        self.kmeans_ = fits[self.n_profiles_]
        centers = pd.DataFrame(self.scaler_.inverse_transform(self.kmeans_.cluster_centers_),
                               columns=frame.columns)
        self.label_map_ = _readiness_order(centers, self.readiness_columns)
        self.labels_ = self.label_map_[self.kmeans_.labels_]
        centers.index = pd.Index(self.label_map_, name="profile_id")
        self.cluster_centers_ = centers.sort_index()
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803 - scikit-learn naming
        """Return the profile id (1 = most ready) of each row."""
        return self.label_map_[self.kmeans_.predict(self._scaled(X))]

    def transform(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803 - scikit-learn naming
        """Return the distance of each row to each profile's centroid (standardised units; column j = profile j+1)."""
        distances = self.kmeans_.transform(self._scaled(X))
        order = np.argsort(self.label_map_)
        return distances[:, order]

    def _scaled(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        frame = _check_features(X)[list(self.feature_names_in_)]
        return self.scaler_.transform(frame.to_numpy())



def _fit_kmeans(scaled: np.ndarray, k: int, n_init: int, random_state: int) -> KMeans:
    """Fit k-means on one thread (see the module's note)."""
    with threadpool_limits(limits=1):
        return KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(scaled)


def silhouette_sample(n_rows: int, large_round_units: int = LARGE_ROUND_UNITS,
                      sample_size: int = SILHOUETTE_SAMPLE_SIZE) -> int | None:
    """Return how many rows the silhouette of an ``n_rows`` round is computed on: ``None`` (all) up to the threshold.

    Parameters
    ----------
    n_rows : int
        Rows (units) fitted.
    large_round_units : int
        Rounds of more rows than this are large (:data:`LARGE_ROUND_UNITS`).
    sample_size : int
        The sample of a large round (:data:`SILHOUETTE_SAMPLE_SIZE`), at most ``n_rows``.
    """
    if n_rows <= large_round_units:
        return None
    return min(int(sample_size), n_rows)


def _fit_and_score(scaled: np.ndarray, k: int, n_init: int, random_state: int,
                   sample_size: int | None = None) -> tuple[KMeans, float]:
    """Fit k-means at ``k`` and return it with its mean silhouette (of a seeded sample when ``sample_size``)."""
    fitted = _fit_kmeans(scaled, k, n_init, random_state)
    with threadpool_limits(limits=1):
        if sample_size is None:
            return fitted, float(silhouette_score(scaled, fitted.labels_))
        return fitted, float(silhouette_score(scaled, fitted.labels_, sample_size=sample_size,
                                              random_state=random_state))


@dataclass(frozen=True)
class StabilityResult:
    """Bootstrap stability of a profile solution.

    Attributes
    ----------
    ari : numpy.ndarray
        Adjusted Rand index of each bootstrap refit against the full-data labels (on all regions).
    n_profiles : int
        The k held fixed in the refits.
    random_state : int
        Seed of the resampling.
    """

    ari: np.ndarray
    n_profiles: int
    random_state: int

    @property
    def summary(self) -> pd.Series:
        """Mean, median, 5th and 95th percentile of the ARI, and the number of resamples."""
        return pd.Series({
            "n_bootstrap": len(self.ari), "n_profiles": self.n_profiles,
            "ari_mean": float(np.mean(self.ari)), "ari_median": float(np.median(self.ari)),
            "ari_p05": float(np.quantile(self.ari, 0.05)), "ari_p95": float(np.quantile(self.ari, 0.95)),
        })


def bootstrap_stability(model: ReadinessProfiles, X: pd.DataFrame, n_bootstrap: int = 200,
                        random_state: int = 0, n_jobs: int | None = None) -> StabilityResult:
    """Refit at the chosen k on bootstrap resamples and compare with the full-data labels.

    Parameters
    ----------
    model : ReadinessProfiles
        A fitted estimator.
    X : pandas.DataFrame
        The data it was fitted on.
    n_bootstrap : int
        Number of resamples.
    random_state : int
        Seed of the resampling (the refits reuse the model's own seed).
    n_jobs : int, optional
        Parallel refits (joblib); defaults to the model's ``n_jobs``. The result does not depend on it: the
        resamples are drawn one after another from the seeded generator before any refit runs.

    Returns
    -------
    StabilityResult
        One adjusted Rand index per resample; 1 means the same partition of all regions.

    Notes
    -----
    A refit is what ``ReadinessProfiles(k_min=k, k_max=k).fit(resample).predict(X)`` computes (standardise on
    the resample, k-means at k with the model's restarts and seed, assign every region), without the
    silhouette of its single k, which chooses nothing, and without ordering its profiles, which the adjusted
    Rand index does not see.
    """
    rng = np.random.default_rng(random_state)
    k = model.n_profiles_
    values = _check_features(X)[list(model.feature_names_in_)].to_numpy()
    resamples = [rng.integers(0, len(X), len(X)) for _ in range(n_bootstrap)]
    ari = Parallel(n_jobs=model.n_jobs if n_jobs is None else n_jobs)(
        delayed(_resample_ari)(values, rows, model.labels_, k, model.n_init, model.random_state)
        for rows in resamples)
    return StabilityResult(ari=np.asarray(ari, dtype=float).reshape(n_bootstrap), n_profiles=k,
                           random_state=random_state)


def _resample_ari(values: np.ndarray, rows: np.ndarray, labels: np.ndarray, k: int, n_init: int,
                  random_state: int) -> float:
    """Refit on ``values[rows]`` and return the adjusted Rand index of its labels of all rows vs ``labels``."""
    scaler = StandardScaler().fit(values[rows])
    fitted = _fit_kmeans(scaler.transform(values[rows]), k, n_init, random_state)
    with threadpool_limits(limits=1):
        predicted = fitted.predict(scaler.transform(values))
    return float(adjusted_rand_score(labels, predicted))


def _check_features(X: Any) -> pd.DataFrame:  # noqa: N803
    frame = pd.DataFrame(X)
    if frame.isna().any().any():
        bad = frame.index[frame.isna().any(axis=1)].tolist()[:5]
        raise ValueError(f"profile features are missing for region(s) {bad}; the index should impute them")
    return frame.astype(float)


def _k_range(k_min: int, k_max: int, n_rows: int) -> list[int]:
    upper = min(int(k_max), n_rows - 1)
    if int(k_min) < 2 or upper < int(k_min):
        raise ValueError(f"cannot try {k_min}..{k_max} profiles on {n_rows} regions (need 2 <= k < regions)")
    return list(range(int(k_min), upper + 1))


def _readiness_order(centers: pd.DataFrame, readiness_columns: Sequence[str] | None) -> np.ndarray:
    columns = list(readiness_columns) if readiness_columns is not None else list(centers.columns)
    readiness = decision_key(centers[columns].mean(axis=1).to_numpy())
    # Highest readiness first; ties (at the decision precision) fall back to the full centroid, so the order never
    # depends on k-means' label numbers, nor on the last bits of a centroid.
    keys = [*(-decision_key(centers[c].to_numpy()) for c in reversed(centers.columns)), -readiness]
    order = np.lexsort(keys)
    label_map = np.empty(len(centers), dtype=int)
    label_map[order] = np.arange(1, len(centers) + 1)
    return label_map

