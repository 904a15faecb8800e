"""Tests of the synthetic rounds of any size (``smartcity_analysis.synthetic.units``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.profiles.stage import load_features
from smartcity_analysis.reference import load_regions
from smartcity_analysis.selection.ranking import load_candidates
from smartcity_analysis.selection.uncertainty import load_engine_data
from smartcity_analysis.synthetic.processed import SYNTHETIC_INDICATORS
from smartcity_analysis.synthetic.units import UNIT_FILES, synthetic_units, unit_regions, write_synthetic_units


def test_units_are_unique_sorted_and_belong_to_a_kab_kota():
    units = unit_regions(1_200)  # more than the 514 kab/kota
    assert len(units) == 1_200 and units["region_code"].is_unique
    assert units["region_code"].is_monotonic_increasing
    parents = load_regions().set_index("region_code")
    parent_codes = units["region_code"].str[:4]
    assert parent_codes.isin(parents.index).all()
    assert (units["region_type"].to_numpy() == parents.loc[parent_codes, "region_type"].to_numpy()).all()
    assert units["region_code"].str.len().eq(11).all()


@pytest.mark.parametrize("n", [0, -3])
def test_a_round_needs_a_unit(n):
    with pytest.raises(ValueError, match="n_units"):
        unit_regions(n)


def test_same_seed_gives_the_same_bytes_and_another_seed_other_values(tmp_path):
    write_synthetic_units(tmp_path / "a", 700, seed=3)
    write_synthetic_units(tmp_path / "b", 700, seed=3)
    write_synthetic_units(tmp_path / "c", 700, seed=4)
    for name in UNIT_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "scores.csv").read_bytes() != (tmp_path / "c" / "scores.csv").read_bytes()


def test_missing_indicators_match_the_unit_statistics():
    tables = synthetic_units(2_000, missing_share=0.1)
    indicators = tables["indicators.csv"][list(SYNTHETIC_INDICATORS)]
    share = indicators.isna().to_numpy().mean()
    assert 0.08 < share < 0.12
    stats = tables["index_unit_stats.csv"]
    np.testing.assert_array_equal(stats["n_imputed"], indicators.isna().sum(axis=1))
    np.testing.assert_allclose(stats["indicator_coverage"], indicators.notna().mean(axis=1))
    assert not synthetic_units(50, missing_share=0.0)["indicators.csv"].isna().any().any()


def test_the_profiles_and_ranking_stages_read_the_folder(framework, tmp_path):
    codes = write_synthetic_units(tmp_path, 1_000)
    features = load_features(tmp_path, framework)
    assert features.index.tolist() == codes and not features.isna().any().any()
    candidates = load_candidates(tmp_path)
    assert candidates["region_code"].tolist() == codes and candidates["accepted"].all()
    assert candidates["readiness_index"].notna().all()
    data = load_engine_data(tmp_path)
    assert len(data) == 1_000 and set(data["region_type"]) == {"Kabupaten", "Kota"}
    assert pd.read_csv(tmp_path / "submissions_clean.csv", dtype={"region_code": str})["region_code"].tolist() == codes
