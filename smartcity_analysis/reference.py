"""The reference tables copied from the shared reference data into ``data/raw/reference/`` (read-only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from smartcity_analysis.paths import REFERENCE_DIR

_CODE_COLUMNS = {"region_code": str, "kemendagri_code": str, "province_code": str}


def load_regions(reference_dir: str | Path | None = None) -> pd.DataFrame:
    """Return the 514 kabupaten and kota, with ``region_code`` as a 4-digit string.

    Parameters
    ----------
    reference_dir : str or Path, optional
        Folder holding ``regions.csv``; defaults to ``data/raw/reference``.

    Returns
    -------
    pandas.DataFrame
        Columns ``region_code``, ``kemendagri_code``, ``region_type``, ``region_name``, ``official_name``,
        ``province_code``, ``province_name``, ``population``, ``area_km2``; sorted by ``region_code``.
    """
    folder = Path(reference_dir) if reference_dir is not None else REFERENCE_DIR
    regions = pd.read_csv(folder / "regions.csv", dtype=_CODE_COLUMNS, encoding="utf-8")
    return regions.sort_values("region_code", kind="stable").reset_index(drop=True)


def load_papua_renumbering(reference_dir: str | Path | None = None) -> pd.DataFrame:
    """Return the 2022 Papua renumbering: ``code_before_2022`` -> ``region_code`` (both 4-digit strings)."""
    folder = Path(reference_dir) if reference_dir is not None else REFERENCE_DIR
    return pd.read_csv(
        folder / "papua_2022_renumbering.csv",
        dtype={"code_before_2022": str, "region_code": str, "province_code_before_2022": str,
               "province_code": str},
        encoding="utf-8",
    )
