"""Readiness profiles: which kinds of region a round is looking at, so that guidance fits each kind.

Regions are clustered (k-means) on their aspect and dimension scores, standardised so that each score counts
equally. The number of profiles is chosen from a range by the mean silhouette; stability is checked by bootstrap
resampling (adjusted Rand index between the full-data labels and those of a model refitted on a resample).
Labels are deterministic and ordered by mean readiness (profile 1 = most ready), and each profile is named in
Indonesian and English from its centroid by the rules in the framework file's ``profiles`` section.

The estimator :class:`ReadinessProfiles` follows the scikit-learn contract; the functions around it are pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from smartcity_analysis.config import Framework

PROFILE_COLUMNS = ["region_code", "profile_id", "profile_name_id", "profile_name_en", "distance_to_centroid"]


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

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray
        The feature columns seen in ``fit``.
    scaler_ : sklearn.preprocessing.StandardScaler
        Standardisation learned on the fitted data.
    silhouette_by_k_ : pandas.Series
        Mean silhouette for each k tried (index ``k``).
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
                 readiness_columns: Sequence[str] | None = None, random_state: int = 0):
        self.k_min = k_min
        self.k_max = k_max
        self.n_init = n_init
        self.readiness_columns = readiness_columns
        self.random_state = random_state

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
        fits = {k: self._kmeans(k).fit(scaled) for k in k_values}
        self.silhouette_by_k_ = pd.Series(
            {k: silhouette_score(scaled, fits[k].labels_) for k in k_values}, name="silhouette"
        ).rename_axis("k")
        self.n_profiles_ = int(self.silhouette_by_k_.idxmax())
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

    def _kmeans(self, k: int) -> KMeans:
        return KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)


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


@dataclass(frozen=True)
class ProfileResult:
    """A fitted profile solution with names, ready to write.

    Attributes
    ----------
    model : ReadinessProfiles
        The fitted estimator.
    features : pandas.DataFrame
        The features it was fitted on, indexed by ``region_code``.
    assignments : pandas.DataFrame
        The ``profiles.csv`` contract.
    centroids : pandas.DataFrame
        The ``profile_centroids.csv`` contract.
    stability : StabilityResult
        Bootstrap stability at the chosen k.
    """

    model: ReadinessProfiles
    features: pd.DataFrame
    assignments: pd.DataFrame
    centroids: pd.DataFrame
    stability: StabilityResult


def profile_feature_codes(framework: Framework) -> list[str]:
    """Return the aspect and dimension codes (the aggregates one level below each view's root), in file order."""
    aggregates = framework.aggregates
    roots = set(aggregates.loc[aggregates["parent"].isna(), "code"])
    return aggregates.loc[aggregates["parent"].isin(roots), "code"].tolist()


def profile_features(scores: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Select the clustering features from ``scores.csv``, indexed by ``region_code`` and sorted by it.

    Raises
    ------
    ValueError
        When a feature column is missing or a region lacks a feature score.
    """
    codes = profile_feature_codes(framework)
    missing = [c for c in codes if c not in scores.columns]
    if missing:
        raise ValueError(f"scores.csv lacks the aspect/dimension column(s) {missing}; re-run notebook 02")
    features = scores.set_index(scores["region_code"].astype(str))[codes].astype(float).sort_index()
    return _check_features(features)


def bootstrap_stability(model: ReadinessProfiles, X: pd.DataFrame, n_bootstrap: int = 200,
                        random_state: int = 0) -> StabilityResult:
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

    Returns
    -------
    StabilityResult
        One adjusted Rand index per resample; 1 means the same partition of all regions.
    """
    rng = np.random.default_rng(random_state)
    k = model.n_profiles_
    refit = clone(model).set_params(k_min=k, k_max=k)
    ari = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        sample = X.iloc[rng.integers(0, len(X), len(X))]
        ari[b] = adjusted_rand_score(model.labels_, clone(refit).fit(sample).predict(X))
    return StabilityResult(ari=ari, n_profiles=k, random_state=random_state)


def name_profiles(centers: pd.DataFrame, features: pd.DataFrame, rules: Mapping[str, Any]) -> pd.DataFrame:
    """Name each profile from its centroid by the framework's rules.

    Parameters
    ----------
    centers : pandas.DataFrame
        Centroids in original units, indexed by ``profile_id``.
    features : pandas.DataFrame
        All regions' features (for the overall mean and standard deviation).
    rules : Mapping
        The framework's ``profiles`` section (``aspects``, ``rules``, ``threshold_sd``, ``spread_sd``,
        ``duplicate_suffix``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``profile_id``: ``profile_name_id``, ``profile_name_en``, ``rule``; names are unique.
    """
    aspects = list(rules["aspects"])
    deviation = (centers[aspects] - features[aspects].mean()) / features[aspects].std(ddof=0).replace(0, 1)
    names = pd.DataFrame(
        [_apply_rules(row, rules) for _, row in deviation.iterrows()], index=centers.index,
        columns=["profile_name_id", "profile_name_en", "rule"],
    )
    return _deduplicate(names, rules["duplicate_suffix"])


def fit_profiles(features: pd.DataFrame, framework: Framework, *, k_min: int | None = None,
                 k_max: int | None = None, n_init: int = 20, n_bootstrap: int = 200,
                 random_state: int = 0) -> ProfileResult:
    """Fit, order, name and check the readiness profiles of a round.

    Parameters
    ----------
    features : pandas.DataFrame
        From :func:`profile_features`.
    framework : Framework
        Supplies the naming rules and, unless given, the k range.
    k_min, k_max : int, optional
        Override the framework's range.
    n_init, n_bootstrap, random_state : int
        K-means restarts, bootstrap resamples, seed.

    Returns
    -------
    ProfileResult
        Model, assignments, named centroids and stability.
    """
    rules = framework.profiles
    model = ReadinessProfiles(
        k_min=int(k_min if k_min is not None else rules["k_min"]),
        k_max=int(k_max if k_max is not None else rules["k_max"]),
        n_init=n_init, readiness_columns=list(rules["aspects"]), random_state=random_state,
    ).fit(features)
    names = name_profiles(model.cluster_centers_, features, rules)
    return ProfileResult(
        model=model, features=features,
        assignments=assignment_table(model, features, names),
        centroids=centroid_table(model, names),
        stability=bootstrap_stability(model, features, n_bootstrap, random_state),
    )


def assignment_table(model: ReadinessProfiles, features: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Return the ``profiles.csv`` contract (distance in standardised units), sorted by ``region_code``."""
    labels = model.predict(features)
    distance = model.transform(features)[np.arange(len(features)), labels - 1]
    table = pd.DataFrame({"region_code": features.index.astype(str), "profile_id": labels,
                          "distance_to_centroid": distance})
    table = table.join(names[["profile_name_id", "profile_name_en"]], on="profile_id")
    return table[PROFILE_COLUMNS].sort_values("region_code", kind="stable").reset_index(drop=True)


def centroid_table(model: ReadinessProfiles, names: pd.DataFrame) -> pd.DataFrame:
    """Return the ``profile_centroids.csv`` contract: names, size and the mean of each feature per profile."""
    sizes = pd.Series(model.labels_).value_counts().rename("n_regions")
    table = names[["profile_name_id", "profile_name_en"]].join(sizes).join(model.cluster_centers_)
    table["n_regions"] = table["n_regions"].fillna(0).astype(int)
    return table.rename_axis("profile_id").reset_index()


def write_profiles(result: ProfileResult, processed_dir: str | Path) -> list[str]:
    """Write ``profiles.csv`` and ``profile_centroids.csv`` (UTF-8, full precision); return the file names."""
    folder = Path(processed_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "profiles.csv", folder / "profile_centroids.csv"]
    result.assignments.to_csv(paths[0], index=False, encoding="utf-8", lineterminator="\n")
    result.centroids.to_csv(paths[1], index=False, encoding="utf-8", lineterminator="\n")
    return [path.name for path in paths]


def profile_sizes(assignments: pd.DataFrame, regions: pd.DataFrame, by: str) -> pd.DataFrame:
    """Count regions per profile and ``by`` (e.g. ``region_type`` or ``province_name``): a cross-table."""
    merged = assignments.merge(regions[["region_code", by]], on="region_code", how="left", validate="1:1")
    return pd.crosstab(merged[by].fillna("(tidak diketahui)"), merged["profile_name_id"])


def pca_coordinates(result: ProfileResult) -> pd.DataFrame:
    """Return the first two principal components of the standardised features, with each region's profile."""
    from sklearn.decomposition import PCA

    scaled = result.model.scaler_.transform(result.features.to_numpy())
    pca = PCA(n_components=2, random_state=result.model.random_state).fit(scaled)
    coords = pd.DataFrame(pca.transform(scaled), index=result.features.index, columns=["pc1", "pc2"])
    coords.attrs["explained_variance_ratio"] = tuple(float(v) for v in pca.explained_variance_ratio_)
    labels = result.assignments.set_index("region_code")
    return coords.join(labels[["profile_id", "profile_name_id", "profile_name_en"]])


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
    readiness = centers[columns].mean(axis=1).to_numpy()
    # Highest readiness first; exact ties fall back to the full centroid, so the order never depends on k-means.
    keys = [*(-centers[c].to_numpy() for c in reversed(centers.columns)), -readiness]
    order = np.lexsort(keys)
    label_map = np.empty(len(centers), dtype=int)
    label_map[order] = np.arange(1, len(centers) + 1)
    return label_map


def _apply_rules(deviation: pd.Series, rules: Mapping[str, Any]) -> tuple[str, str, str]:
    threshold, spread = float(rules["threshold_sd"]), float(rules["spread_sd"])
    strongest, weakest = deviation.idxmax(), deviation.idxmin()
    holds = {
        "all_above": bool((deviation > threshold).all()),
        "all_below": bool((deviation < -threshold).all()),
        "spread": bool(deviation[strongest] - deviation[weakest] > spread),
        "mean_above": bool(deviation.mean() >= 0),
        "always": True,
    }
    nouns = rules["aspects"]
    words = {"strongest_id": nouns[strongest]["noun_id"], "strongest_en": nouns[strongest]["noun_en"],
             "weakest_id": nouns[weakest]["noun_id"], "weakest_en": nouns[weakest]["noun_en"]}
    for rule in rules["rules"]:
        if rule["condition"] not in holds:
            raise ValueError(f"profiles rule {rule['id']!r}: unknown condition {rule['condition']!r}; "
                             f"use one of {sorted(holds)}")
        if holds[rule["condition"]]:
            return (_sentence_case(rule["name_id"].format(**words)),
                    _sentence_case(rule["name_en"].format(**words)), rule["id"])
    raise ValueError("profiles rules: no rule matched; end the list with condition `always`")


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _deduplicate(names: pd.DataFrame, suffix: Mapping[str, str]) -> pd.DataFrame:
    names = names.sort_index().copy()
    for column, template in (("profile_name_id", suffix["id"]), ("profile_name_en", suffix["en"])):
        counter = names.groupby(column, sort=False).cumcount() + 1
        shared = names[column].duplicated(keep=False)
        names.loc[shared, column] = [
            f"{name}{template.format(n=n)}" for name, n in zip(names.loc[shared, column], counter[shared],
                                                                 strict=True)
        ]
    return names


def load_features(processed_dir: str | Path, framework: Framework) -> pd.DataFrame:
    """Read ``scores.csv`` and return the clustering features (see :func:`profile_features`)."""
    scores = pd.read_csv(Path(processed_dir) / "scores.csv", dtype={"region_code": str}, encoding="utf-8")
    return profile_features(scores, framework)


def load_region_info(processed_dir: str | Path) -> pd.DataFrame:
    """Read ``region_code``, ``official_name``, ``region_type``, ``province_name``, ``assessment_class``."""
    columns = ["region_code", "official_name", "region_type", "province_name", "assessment_class"]
    clean = pd.read_csv(Path(processed_dir) / "submissions_clean.csv", dtype={"region_code": str},
                        encoding="utf-8")
    return clean.reindex(columns=columns).drop_duplicates("region_code")


def feature_labels(framework: Framework, language: str = "id") -> dict[str, str]:
    """Display label of each aspect and dimension code, in ``language`` (``"id"`` or ``"en"``)."""
    aggregates = framework.aggregates
    return dict(zip(aggregates["code"], aggregates[f"label_{language}"], strict=True))
