"""Synthetic rounds of any size, for scaling the profiles and ranking stages beyond the 514 kabupaten/kota.

:func:`synthetic_units` draws ``n_units`` village-level units (desa/kelurahan) spread over the 514 kab/kota of
the reference table and returns the four processed files the profiles stage (``scores.csv``) and the ranking
stage (``scores.csv``, ``submissions_clean.csv``, ``index_unit_stats.csv``, ``indicators.csv``) read;
:func:`write_synthetic_units` writes them. Values come from the generators of
:mod:`smartcity_analysis.synthetic.processed`, from a seeded generator: the same arguments give the same
bytes. A share of the indicator values is left missing, so that the index engine's imputations have work to
do. Nothing here is used by the pipeline itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from smartcity_analysis.reference import load_regions
from smartcity_analysis.synthetic.processed import (
    SYNTHETIC_INDICATORS,
    _indicators,
    _scores,
    _submissions,
)

# A unit's code is its kab/kota's four digits, a three-digit kecamatan and a four-digit desa number, as in the
# BPS village codes; UNITS_PER_KECAMATAN desa per kecamatan and at most 999 kecamatan per kab/kota.
UNITS_PER_KECAMATAN = 100
MAX_KECAMATAN = 999
FIRST_DESA = 2001  # BPS numbers the desa of a kecamatan from 2001 (kelurahan from 1001)
UNIT_FILES = ("scores.csv", "submissions_clean.csv", "index_unit_stats.csv", "indicators.csv")


def unit_regions(n_units: int) -> pd.DataFrame:
    """Return ``n_units`` synthetic village-level units, dealt out over the kab/kota in turn, sorted by code.

    Parameters
    ----------
    n_units : int
        How many units; at least 1.

    Returns
    -------
    pandas.DataFrame
        ``region_code``, ``official_name``, ``region_type`` and ``province_name`` (the kab/kota's),
        ``population`` and ``area_km2`` (the kab/kota's share), one row per unit.

    Raises
    ------
    ValueError
        When ``n_units`` is below 1 or above what the code scheme can number.
    """
    parents = load_regions()
    capacity = len(parents) * UNITS_PER_KECAMATAN * MAX_KECAMATAN
    if not 1 <= n_units <= capacity:
        raise ValueError(f"n_units must be between 1 and {capacity:,}, got {n_units}")
    position = np.arange(n_units)
    parent = parents.iloc[position % len(parents)].reset_index(drop=True)
    within = position // len(parents)  # the unit's number inside its kab/kota, from 0
    per_parent = np.bincount(position % len(parents), minlength=len(parents))[position % len(parents)]
    kecamatan, desa = within // UNITS_PER_KECAMATAN + 1, within % UNITS_PER_KECAMATAN + FIRST_DESA
    codes = [f"{p}{k:03d}{d:04d}" for p, k, d in zip(parent["region_code"], kecamatan, desa, strict=True)]
    units = pd.DataFrame({
        "region_code": codes,
        "official_name": [f"Desa Sintetis {d - FIRST_DESA + 1:02d}, Kecamatan {k:03d}, {name}"
                          for d, k, name in zip(desa, kecamatan, parent["official_name"], strict=True)],
        "region_type": parent["region_type"],
        "province_name": parent["province_name"],
        "population": (parent["population"] // per_parent).astype(int),
        "area_km2": (parent["area_km2"] / per_parent).round(3),
    })
    return units.sort_values("region_code", kind="stable").reset_index(drop=True)


def synthetic_units(n_units: int, seed: int = 2021, missing_share: float = 0.05) -> dict[str, pd.DataFrame]:
    """Draw a synthetic round of ``n_units`` units: the processed files the profiles and ranking stages read.

    Parameters
    ----------
    n_units : int
        How many units (any number; see :func:`unit_regions`).
    seed : int, default 2021
        Seed of the generator; the same arguments give the same frames.
    missing_share : float, default 0.05
        Share of indicator values left missing (each value independently), for the engine to impute.

    Returns
    -------
    dict
        File name (:data:`UNIT_FILES`) -> frame, rows sorted by ``region_code``.
    """
    if not 0 <= missing_share < 1:
        raise ValueError(f"missing_share must be in [0, 1), got {missing_share}")
    rng = np.random.default_rng(seed)
    units = unit_regions(n_units)
    codes = units["region_code"].tolist()
    # No free-text notes: the report tests' hostile notes in the first rows only would make the column's type
    # differ between the chunks pandas reads a large file in (a DtypeWarning on every read).
    submissions = _submissions(units, rng).assign(notes="")
    scores = _scores(codes, rng)
    indicators = _with_missing(_indicators(codes, rng), list(SYNTHETIC_INDICATORS), missing_share, rng)
    return {"scores.csv": scores, "submissions_clean.csv": submissions,
            "index_unit_stats.csv": _unit_stats(indicators, list(SYNTHETIC_INDICATORS)),
            "indicators.csv": indicators}


def write_synthetic_units(folder: str | Path, n_units: int, seed: int = 2021,
                          missing_share: float = 0.05) -> list[str]:
    """Write :func:`synthetic_units` as UTF-8 CSV files into ``folder`` (created if missing).

    Returns
    -------
    list of str
        The unit codes written, sorted.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = synthetic_units(n_units, seed, missing_share)
    for name, table in tables.items():
        table.to_csv(folder / name, index=False, encoding="utf-8", lineterminator="\n")
    return tables["scores.csv"]["region_code"].tolist()


def _with_missing(indicators: pd.DataFrame, columns: list[str], share: float,
                  rng: np.random.Generator) -> pd.DataFrame:
    """Blank each value of ``columns`` with probability ``share``."""
    blank = rng.random((len(indicators), len(columns))) < share
    out = indicators.copy()
    out[columns] = out[columns].mask(blank)
    return out


def _unit_stats(indicators: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``index_unit_stats.csv``: each unit's share of indicators present and how many the engine imputes."""
    missing = indicators[columns].isna().sum(axis=1)
    return pd.DataFrame({"region_code": indicators["region_code"],
                         "indicator_coverage": 1 - missing / len(columns), "n_imputed": missing})
