"""The smart-city indicators: derivation from cleaned fields, the two views, the scores contract."""

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.index.indicators import derive_indicators, framework_table, indicator_codes
from smartcity_analysis.index.stage import (
    IndexMethod,
    build_readiness,
    scores_table,
    unit_stats_table,
    write_index_outputs,
)


def _clean(n=40, seed=0):
    rng = np.random.default_rng(seed)
    apbd = rng.uniform(1e12, 5e12, n)
    return pd.DataFrame({
        "region_code": [f"{3201 + i}" for i in range(n)],
        "region_type": np.where(np.arange(n) % 3 == 0, "Kota", "Kabupaten"),
        "population": rng.integers(100_000, 3_000_000, n),
        "hdi": rng.uniform(55, 85, n),
        "apbd_total_idr": apbd,
        "pad_idr": apbd * rng.uniform(0.05, 0.4, n),
        "ict_budget_idr": apbd * rng.uniform(0.002, 0.02, n),
        "fiscal_capacity": rng.choice(["sangat rendah", "rendah", "sedang", "tinggi", "sangat tinggi"], n),
        "civil_servants": rng.integers(3000, 20000, n),
        "ict_civil_servants": rng.integers(30, 600, n),
        "leadership_score": rng.integers(1, 6, n).astype(float),
        "governance_score": rng.integers(1, 6, n).astype(float),
        "households_internet_pct": rng.uniform(20, 95, n),
        "opd_connected_pct": rng.uniform(10, 100, n),
        "has_data_center": rng.choice([True, False], n),
        "has_command_center": rng.choice([True, False], n),
        "public_service_apps": rng.integers(0, 200, n),
        "infrastructure_score": rng.integers(1, 6, n).astype(float),
        "smart_city_regulation": rng.choice(["tidak ada", "draf", "ditetapkan"], n),
        "has_smart_city_council": rng.choice([True, False], n),
        "has_spbe_architecture": rng.choice([True, False], n),
        "spbe_index": rng.uniform(0.5, 4.5, n),
        "regulation_score": rng.integers(1, 6, n).astype(float),
        **{f"dim_{d}": rng.integers(1, 6, n).astype(float)
           for d in ("governance", "branding", "economy", "living", "society", "environment")},
    })


def test_derivations_follow_the_framework(framework):
    clean = _clean().iloc[:2].copy()
    clean.loc[0, ["pad_idr", "apbd_total_idr"]] = [2e11, 1e12]
    clean.loc[0, ["ict_civil_servants", "civil_servants"]] = [50, 10_000]
    clean.loc[0, ["public_service_apps", "population"]] = [30, 600_000]
    clean.loc[0, "smart_city_regulation"] = "draf"
    clean.loc[0, "fiscal_capacity"] = "sangat tinggi"
    clean.loc[0, "has_data_center"] = True
    clean.loc[1, "apbd_total_idr"] = 0  # a zero denominator gives a missing ratio, never inf
    clean.loc[1, "population"] = 0
    values = derive_indicators(clean, framework).loc[clean.loc[0, "region_code"]]
    assert values["pad_share_pct"] == pytest.approx(20.0)
    assert values["ict_staff_per_1000_asn"] == pytest.approx(5.0)
    assert values["apps_per_100k"] == pytest.approx(5.0)
    assert values["smart_city_regulation_level"] == 1.0
    assert values["fiscal_capacity_level"] == 4.0
    assert values["has_data_center"] == 1.0
    second = derive_indicators(clean, framework).loc[clean.loc[1, "region_code"]]
    assert np.isnan(second[["pad_share_pct", "apbd_per_capita_idr", "apps_per_100k"]].to_numpy(float)).all()


def test_views_are_trees_over_framework_indicators(framework):
    aspects = framework_table(framework, "aspects")
    dimensions = framework_table(framework, "dimensions")
    assert set(aspects.query("level == 2")["code"]) == {"aspect_struktur", "aspect_infrastruktur",
                                                         "aspect_suprastruktur"}
    assert aspects.query("level == 3")["code"].tolist() == ["readiness_index"]
    assert len(dimensions.query("level == 2")) == 6
    # every indicator appears in at least one view, and each parent exists in its view
    assert set(indicator_codes(framework)) == set(aspects.query("level == 1")["code"]) | set(
        dimensions.query("level == 1")["code"])
    for table in (aspects, dimensions):
        assert set(table["parent"].dropna()) <= set(table["code"])


def test_every_indicator_and_aggregate_has_a_reason_and_both_labels(framework):
    for entry in [*framework.raw["indicators"], *framework.raw["aggregates"]]:
        assert entry["reason"].strip(), entry["code"]
        assert entry["label_id"].strip() and entry["label_en"].strip(), entry["code"]


def test_scores_contract_and_ranks(framework, tmp_path):
    clean = _clean()
    result = build_readiness(clean, framework, IndexMethod())
    scores = scores_table(result, framework)
    aspects = ["aspect_struktur", "aspect_infrastruktur", "aspect_suprastruktur"]
    dims = [f"dimension_{d}" for d in ("governance", "branding", "economy", "living", "society", "environment")]
    assert scores.columns.tolist() == ["region_code", *indicator_codes(framework), *aspects, *dims,
                                       "readiness_index", "readiness_rank"]
    assert len(scores) == len(clean)
    assert scores["readiness_index"].between(0, 100).all()
    assert scores["readiness_rank"].is_monotonic_increasing
    assert scores["readiness_rank"].iloc[0] == 1
    # the index is the equal-weight mean of the aspects
    np.testing.assert_allclose(scores["readiness_index"], scores[aspects].mean(axis=1))
    written = write_index_outputs(result, framework, tmp_path)
    assert sorted(written) == ["index_imputed.csv", "index_treated.csv", "index_unit_stats.csv",
                               "indicators.csv", "scores.csv"]
    again = pd.read_csv(tmp_path / "scores.csv", dtype={"region_code": str})
    assert again["region_code"].str.fullmatch(r"\d{4}").all()


def test_missing_values_are_imputed_within_region_type_and_recorded(framework):
    clean = _clean()
    clean.loc[3, "hdi"] = np.nan   # a Kota (index 3 is a multiple of 3)
    result = build_readiness(clean, framework, IndexMethod(impute="group_median", impute_group="region_type"))
    kota_median = clean.loc[clean["region_type"] == "Kota", "hdi"].median()
    stats = unit_stats_table(result).set_index("region_code")
    code = clean.loc[3, "region_code"]
    assert stats.loc[code, "n_imputed"] == 1
    assert stats.loc[code, "indicator_coverage"] == pytest.approx(24 / 25)
    imputed = result.aspects.imputed
    assert imputed.loc[imputed["unit"] == code, "value"].item() == pytest.approx(kota_median)
