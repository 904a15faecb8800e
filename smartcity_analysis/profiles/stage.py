"""The profiles stage: features from ``scores.csv``, the fitted profiles, their names, and the contract files.

Each profile is named in Indonesian and English from its centroid by the rules in the framework file's
``profiles`` section; ``profiles.csv`` and ``profile_centroids.csv`` are documented in ``docs/contracts.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.notes import Note, notes_from_warnings
from smartcity_analysis.profiles.estimator import (
    ReadinessProfiles,
    StabilityResult,
    _check_features,
    bootstrap_stability,
)

PROFILE_COLUMNS = ["region_code", "profile_id", "profile_name_id", "profile_name_en", "distance_to_centroid"]
CENTROID_COLUMNS = ["profile_id", "profile_name_id", "profile_name_en", "n_regions"]
STAGE = "03_readiness_profiles"


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
    aspects = [a for a in rules["aspects"] if a in centers.columns]  # the aspects this round could score
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
        n_init=n_init, readiness_columns=[a for a in rules["aspects"] if a in features.columns],
        random_state=random_state,
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


def write_profiles(result: ProfileResult | None, processed_dir: str | Path) -> list[str]:
    """Write ``profiles.csv`` and ``profile_centroids.csv`` (UTF-8, full precision); return the file names.

    Without profiles (``result`` None: too few regions), both files are written with their header only, so
    that a later stage reads "no profiles" rather than the profiles of another round.
    """
    folder = Path(processed_dir)
    folder.mkdir(parents=True, exist_ok=True)
    from smartcity_analysis.outputs import write_csv  # atomic: a killed run leaves the previous file whole

    assignments = result.assignments if result is not None else pd.DataFrame(columns=PROFILE_COLUMNS)
    centroids = result.centroids if result is not None else pd.DataFrame(columns=CENTROID_COLUMNS)
    paths = [write_csv(folder / "profiles.csv", assignments),
             write_csv(folder / "profile_centroids.csv", centroids)]
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


def round_features(scores: pd.DataFrame, framework: Framework) -> tuple[pd.DataFrame, tuple[Note, ...]]:
    """Return the clustering features a round can use, and notes on what was left out or filled in.

    An aspect or dimension no region has a score for (left out by the index stage) is not a feature. A region
    missing a feature score (imputation had no peer to borrow from) is placed at the round's median of that
    feature for clustering only, and flagged.

    Returns
    -------
    features : pandas.DataFrame
        Indexed by ``region_code``, sorted; no missing value.
    notes : tuple of Note
    """
    codes = [c for c in profile_feature_codes(framework) if c in scores.columns]
    features = scores.set_index(scores["region_code"].astype(str))[codes].astype(float).sort_index()
    empty = features.columns[features.isna().all()].tolist()
    notes = [Note(STAGE, f"feature:{code}", "left_out", "no_data",
                  f"Skor {code} tidak tersedia di putaran ini dan tidak dipakai untuk profil.",
                  f"The score {code} is not available in this round and is not used for the profiles.")
             for code in empty]
    features = features.drop(columns=empty)
    missing = features.isna()
    for code in features.index[missing.any(axis=1)]:
        which = ", ".join(features.columns[missing.loc[code]])
        notes.append(Note(STAGE, "features", "imputed", "missing_score",
                          f"Skor {which} daerah ini tidak ada; untuk pengelompokan profil dipakai median babak.",
                          f"This region has no {which} score; the round's median stands in for the profiles.",
                          str(code)))
    return features.fillna(features.median()), tuple(notes)


def profile_round(features: pd.DataFrame, framework: Framework, *, k_min: int | None = None,
                  k_max: int | None = None, n_init: int = 20, n_bootstrap: int = 200,
                  random_state: int = 0) -> tuple[ProfileResult | None, tuple[Note, ...]]:
    """Fit the profiles when the round has enough regions, with the k range capped by its size.

    Profiles need ``profiles.min_regions`` regions (framework file). The range of k is capped so that a
    profile holds two regions on average (``k <= n // 2``); when that caps it, a note says so. Below the
    minimum, or without a feature, there are no profiles and a note says why.

    Parameters
    ----------
    features : pandas.DataFrame
        From :func:`round_features`.
    framework : Framework
        Naming rules, the k range and the minimum number of regions.
    k_min, k_max, n_init, n_bootstrap, random_state
        As for :func:`fit_profiles`.

    Returns
    -------
    result, notes : ProfileResult or None, tuple of Note
        The notes include every warning the fit raised (e.g. k-means finding fewer distinct clusters).
    """
    with notes_from_warnings(STAGE) as caught:
        result, notes = _profile_round(features, framework, k_min=k_min, k_max=k_max, n_init=n_init,
                                       n_bootstrap=n_bootstrap, random_state=random_state)
    return result, notes + caught.notes


def _profile_round(features: pd.DataFrame, framework: Framework, *, k_min: int | None, k_max: int | None,
                   n_init: int, n_bootstrap: int, random_state: int) -> tuple[ProfileResult | None, tuple[Note, ...]]:
    rules = framework.profiles
    low = int(k_min if k_min else rules["k_min"])
    high = int(k_max if k_max else rules["k_max"])
    n, minimum = len(features), int(rules.get("min_regions", 2 * low))
    if n < minimum or features.shape[1] == 0:
        return None, (Note(STAGE, "profiles", "skipped", "too_few_regions",
                           f"Profil kesiapan tidak dibentuk: perlu sedikitnya {minimum} daerah, putaran ini {n}.",
                           f"No readiness profiles: they need at least {minimum} regions, this round has {n}."),)
    capped_high = max(2, min(high, n // 2))
    capped_low = min(low, capped_high)
    notes = ()
    if (capped_low, capped_high) != (low, high):
        notes = (Note(STAGE, "profiles", "capped", "few_regions",
                      f"Jumlah profil yang dicoba dibatasi {capped_low}-{capped_high} karena putaran ini hanya {n} "
                      "daerah.",
                      f"The number of profiles tried is capped at {capped_low}-{capped_high}: this round has "
                      f"{n} regions."),)
    result = fit_profiles(features, framework, k_min=capped_low, k_max=capped_high, n_init=n_init,
                          n_bootstrap=n_bootstrap, random_state=random_state)
    return result, notes


def load_round_features(processed_dir: str | Path, framework: Framework) -> tuple[pd.DataFrame, tuple[Note, ...]]:
    """Read ``scores.csv`` and return the features this round can use, with notes (:func:`round_features`)."""
    scores = pd.read_csv(Path(processed_dir) / "scores.csv", dtype={"region_code": str}, encoding="utf-8")
    return round_features(scores, framework)


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

