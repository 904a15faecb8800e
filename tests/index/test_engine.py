"""Reference tests of the index engine against COINr's published ASEM results, plus edge cases."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from smartcity_analysis.index.analysis import coherence, compare_results, strengths_weaknesses
from smartcity_analysis.index.engine import (
    IndexBuildError,
    IndexWarning,
    OutlierSpec,
    build_index,
    framework_from_coinr,
)

ASEM = Path(__file__).parents[1] / "data" / "coinr_asem"


@pytest.fixture(scope="module")
def asem_data() -> pd.DataFrame:
    return pd.read_csv(ASEM / "ASEM_iData.csv")


@pytest.fixture(scope="module")
def asem_framework() -> pd.DataFrame:
    return framework_from_coinr(pd.read_csv(ASEM / "ASEM_iMeta.csv"))


@pytest.fixture(scope="module")
def full_build(asem_data, asem_framework):
    """COINr build_example_coin() (R/examples.R): Denominate -> Impute(i_mean_grp, EurAsia_group) ->
    Screen(dset = "Imputed", dat_thresh = 0.9, byNA) -> Treat(winmax = 5) -> Normalise(n_minmax 0-100) ->
    Aggregate(a_amean)."""
    return build_index(asem_data, asem_framework, denominate=True, impute="group_mean",
                       impute_group="EurAsia_group", min_coverage=0.9, treat_outliers=True)


# ------------------------------------------------------------------------------------ 1. JOSS paper build

# COINr JOSS paper build (shared/reference/coinr_asem/README.md): raw data, min-max, arithmetic.
JOSS_TOP_SIX = {"DEU": 75.23, "GBR": 68.94, "FRA": 65.92, "CHE": 62.61, "NLD": 61.24, "SWE": 60.59}


def test_joss_build_top_six(asem_data, asem_framework):
    result = build_index(asem_data, asem_framework)
    top = result.scores["Index"].sort_values(ascending=False).head(6)
    assert list(top.index) == list(JOSS_TOP_SIX)
    np.testing.assert_allclose(top.to_numpy(), list(JOSS_TOP_SIX.values()), atol=0.005)
    assert list(result.ranks.loc[list(JOSS_TOP_SIX), "Index"]) == [1, 2, 3, 4, 5, 6]


# ------------------------------------------------------------------------------------ 2. full example build

# vignette "results" (Presenting Results, COINr 1.x):
# get_results(coin, dset = "Aggregated", tab_type = "Aggs")
RESULTS_AGGS = pd.DataFrame.from_records(
    [
        ("CHE", 1, 68.38, 62.79, 73.98, 63.41, 32.87, 74.78, 85.94, 56.93, 77.21, 87.85, 56.88),
        ("NLD", 2, 64.82, 61.94, 67.70, 64.87, 46.62, 84.55, 71.74, 41.92, 58.73, 86.58, 57.78),
        ("DNK", 3, 64.80, 57.10, 72.51, 50.52, 30.43, 78.13, 75.35, 51.04, 69.83, 86.40, 61.29),
        ("NOR", 4, 64.47, 57.44, 71.50, 58.18, 25.70, 80.03, 89.46, 33.80, 70.90, 87.00, 56.59),
        ("BEL", 5, 63.54, 63.99, 63.09, 71.97, 48.22, 80.84, 75.60, 43.32, 53.01, 86.17, np.nan),
        ("SWE", 6, 63.00, 53.87, 72.12, 51.51, 23.87, 80.98, 74.51, 38.50, 66.37, np.nan, np.nan),
    ],
    columns=["uCode", "Rank", "Index", "Conn", "Sust", "Physical", "ConEcFin", "Political", "Instit", "P2P",
             "Environ", "Social", "SusEcFin"],
).set_index("uCode")
# The printed table wraps after "Environ"; the stored copy of the page is cut inside the continuation lines,
# so BEL's SusEcFin and SWE's Social and SusEcFin could not be read: they are NaN here and not compared.

# COINrDoc "Visualising results" ch. 12 (getResults(ASEM) |> head(10)), same build: index top ten.
TOP_TEN = {"CHE": 68.38, "NLD": 64.82, "DNK": 64.80, "NOR": 64.47, "BEL": 63.54, "SWE": 63.00,
           "AUT": 61.90, "LUX": 61.58, "DEU": 60.75, "MLT": 60.36}

# vignette "data_selection": head(get_dset(coin, dset = "Normalised")[1:5], 5)
NORMALISED_HEAD = pd.DataFrame(
    {"LPI": [79.96112, 94.07137, 94.56023, 27.63906, 34.29965],
     "Flights": [12.3223217, 27.8763185, 23.3967426, 0.1243185, 10.8828790],
     "Ship": [66.14497, 0.00000, 97.14314, 45.80661, 37.40495],
     "Bord": [0.00000, 42.01269, 100.00000, 10.85013, 16.34359]},
    index=pd.Index(["AUS", "AUT", "BEL", "BGD", "BGR"], name="uCode"),
)


def test_full_build_results_table(full_build):
    published = RESULTS_AGGS.drop(columns="Rank")
    got = full_build.scores.loc[published.index, published.columns].where(published.notna())
    assert published.notna().sum().sum() == 63
    assert_frame_equal(got, published, atol=0.005, rtol=0, check_dtype=False)
    ranks = full_build.ranks.loc[RESULTS_AGGS.index, "Index"].astype(int)
    assert_series_equal(ranks, RESULTS_AGGS["Rank"], check_names=False, check_dtype=False)


def test_full_build_top_ten(full_build):
    top = full_build.scores["Index"].sort_values(ascending=False).head(10)
    assert list(top.index) == list(TOP_TEN)
    np.testing.assert_allclose(top.to_numpy(), list(TOP_TEN.values()), atol=0.005)


def test_full_build_normalised_values(full_build):
    got = full_build.scores.loc[NORMALISED_HEAD.index, NORMALISED_HEAD.columns]
    assert_frame_equal(got, NORMALISED_HEAD, atol=5e-6, rtol=0)


def test_full_build_screens_no_unit(full_build):
    # COINr tests/testthat/_snaps/methods_added.md, print.coin of the example coin: "Screened (51 units)".
    # Screening runs on the *imputed* data set, which group-mean imputation has filled completely.
    assert full_build.screened_out.empty
    assert len(full_build.scores) == 51


def test_full_build_records_stages(full_build):
    # 65 missing points in ASEM raw data (COINrDoc ch. 13: "Missing data points imputed = 65").
    assert len(full_build.imputed) == 65
    assert set(full_build.imputed["method"]) == {"group_mean"}
    summary = full_build.treatment_summary.set_index("indicator")
    treated = sorted(summary.index[summary["treatment"] != "none"])
    assert treated == sorted(["Flights", "Bord", "Gas", "Services", "FDI", "ForPort", "CostImpEx", "Tariff",
                              "StMob", "CultServ", "Forest", "Poverty", "NGOs", "FemLab", "PubDebt"])
    assert summary["passed_after"].all()
    assert (full_build.treated["original"] != full_build.treated["treated"]).all()
    assert full_build.unit_stats.loc["BRN", "coverage"] == pytest.approx(39 / 49)
    assert full_build.params.stage_order[:3] == ("denominate", "impute", "screen")


def test_screening_on_raw_order_drops_low_coverage_units(asem_data, asem_framework):
    result = build_index(asem_data, asem_framework, denominate=True, min_coverage=0.9)
    assert sorted(result.screened_out["unit"]) == ["BGD", "BRN", "KHM", "LAO", "MMR"]


# ------------------------------------------------------------------------------------ outlier treatment


def test_winsorise_single_outlier_like_coinr():
    # COINr tests/testthat/test-treat.R "treat_num": c(1:10, 100) -> the 100 becomes 10 and then passes.
    data, fw = _toy(pd.Series([*range(1, 11), 100.0]))
    result = build_index(data, fw, treat_outliers=True)
    assert result.treated[["unit", "original", "treated"]].to_numpy().tolist() == [["u10", 100.0, 10.0]]
    assert result.treatment_summary.loc[0, "treatment"] == "winsorise"


def test_log_ct_when_winsorising_is_not_enough():
    values = pd.Series([*range(1, 21), 100.0, 200.0])
    data, fw = _toy(values)
    result = build_index(data, fw, treat_outliers=OutlierSpec(winmax=1))
    assert result.treatment_summary.loc[0, "treatment"] == "log_CT"
    expected = np.log(values - 1 + 0.01 * 199)  # log of the *original* values
    assert np.allclose(result.treated["treated"], expected)


def test_winsorise_counts_ties():
    # two tied maxima are winsorised together and count as two points
    values = pd.Series([*range(1, 31), 500.0, 500.0])
    data, fw = _toy(values)
    result = build_index(data, fw, treat_outliers=True)
    assert result.treatment_summary.loc[0, "n_winsorised"] == 2
    assert sorted(result.treated["unit"]) == ["u30", "u31"]


# ------------------------------------------------------------------------------------ 3. edge cases


def _toy(x: pd.Series, y: pd.Series | None = None):
    n = len(x)
    y = pd.Series(np.arange(n, dtype=float)) if y is None else y
    data = pd.DataFrame({"uCode": [f"u{i}" for i in range(n)], "x": x.to_numpy(), "y": y.to_numpy()})
    fw = pd.DataFrame({"code": ["x", "y", "Index"], "level": [1, 1, 2], "parent": ["Index", "Index", ""],
                       "weight": [1.0, 1.0, 1.0], "direction": [1, 1, 1]})
    return data, fw


def test_constant_indicator_warns_and_is_excluded():
    data, fw = _toy(pd.Series([5.0] * 6))
    with pytest.warns(IndexWarning, match="'x' is constant"):
        result = build_index(data, fw)
    assert result.scores["x"].isna().all()
    assert list(result.excluded_indicators["indicator"]) == ["x"]
    assert_series_equal(result.scores["Index"], result.scores["y"], check_names=False)


def test_empty_indicator_is_an_error():
    data, fw = _toy(pd.Series([np.nan] * 6))
    with pytest.raises(IndexBuildError, match=r"no data in any unit: \['x'\]"):
        build_index(data, fw)


def test_unit_with_nothing_warns_and_is_left_out():
    data, fw = _toy(pd.Series([1.0, 2, 3, np.nan]), pd.Series([4.0, 5, 6, np.nan]))
    with pytest.warns(IndexWarning, match=r"no indicator data.*\['u3'\]"):
        result = build_index(data, fw)
    assert "u3" not in result.scores.index
    assert result.screened_out.to_dict("records") == [{"unit": "u3", "coverage": 0.0,
                                                       "reason": "no indicator data"}]


def test_missing_child_rescales_weights():
    data, fw = _toy(pd.Series([0.0, 10, np.nan]), pd.Series([0.0, 5, 10]))
    fw = fw.assign(weight=[3.0, 1.0, 1.0])
    result = build_index(data, fw)
    # u2 has only y (100 after min-max): its index is y alone, not 1/4 of it
    assert result.scores.loc["u2", "Index"] == pytest.approx(100.0)
    assert result.scores.loc["u1", "Index"] == pytest.approx((3 * 100 + 1 * 50) / 4)


def test_geometric_with_zero_is_an_error_naming_it():
    data, fw = _toy(pd.Series([0.0, 10, 20]))
    with pytest.raises(IndexBuildError, match="geometric aggregation of 'Index'.*u0"):
        build_index(data, fw, aggregate="geometric")


def test_geometric_shifted_handles_zero():
    data, fw = _toy(pd.Series([0.0, 10, 20]))
    result = build_index(data, fw, aggregate="geometric_shifted")
    assert result.scores.loc["u0", "Index"] == pytest.approx(0.0)
    assert result.scores.loc["u2", "Index"] == pytest.approx(100.0)
    assert result.scores.loc["u1", "Index"] == pytest.approx(np.sqrt(51 * 51) - 1)


def test_geometric_positive_matches_formula():
    data, fw = _toy(pd.Series([1.0, 2, 4]), pd.Series([1.0, 3, 9]))
    result = build_index(data, fw, normalise="zscore", aggregate="arithmetic")
    assert result.scores["Index"].notna().all()
    fw_pos = fw.assign(weight=[1.0, 3.0, 1.0])
    gp = fw_pos.assign(goalpost_lower=[0.0, 0.0, np.nan], goalpost_upper=[8.0, 10.0, np.nan])
    res = build_index(data, gp, normalise="goalposts", aggregate="geometric")
    expected = np.exp((np.log(25.0) + 3 * np.log(30.0)) / 4)
    assert res.scores.loc["u1", "Index"] == pytest.approx(expected)


def test_unknown_indicator_column_is_an_error():
    data, fw = _toy(pd.Series([1.0, 2, 3]))
    with pytest.raises(IndexBuildError, match=r"missing from the data: \['x'\]"):
        build_index(data.drop(columns="x"), fw)


def test_inputs_are_not_mutated(asem_data, asem_framework):
    data, fw = asem_data.copy(), asem_framework.copy()
    build_index(data, fw, denominate=True, impute="group_median", impute_group="EurAsia_group",
                treat_outliers=True, weights={"Conn": 2.0})
    assert_frame_equal(data, asem_data)
    assert_frame_equal(fw, asem_framework)


def test_per_indicator_normalisation_and_weights(asem_data, asem_framework):
    result = build_index(asem_data, asem_framework, normalise={"default": "minmax", "Flights": "rank"},
                         weights={"Conn": 3.0})
    assert result.params.normalise["Flights"] == "rank"
    assert result.scores["Flights"].max() == 100.0
    assert result.params.weights["Conn"] == 3.0
    expected = (3 * result.scores["Conn"] + result.scores["Sust"]) / 4
    assert_series_equal(result.scores["Index"], expected, check_names=False)


def test_build_is_deterministic(asem_data, asem_framework):
    a = build_index(asem_data, asem_framework, treat_outliers=True)
    b = build_index(asem_data, asem_framework, treat_outliers=True)
    assert_frame_equal(a.scores, b.scores)
    assert a.params == b.params


# ------------------------------------------------------------------------------------ read-outs


def test_indicator_stats_flags(full_build):
    stats = full_build.indicator_stats
    assert stats.loc["ForPort", "flag_skew_kurt"]
    assert not stats.loc["LPI", "flag_skew_kurt"]
    assert stats.loc["TIRcon", "flag_low_distinct"]  # a yes/no indicator
    assert stats.loc["ConSpeed", "n_available"] == 43


def test_strengths_weaknesses(full_build):
    table = strengths_weaknesses(full_build, "CHE", n=3)
    assert list(table["kind"]) == ["strength"] * 3 + ["weakness"] * 3
    assert "TIRcon" not in set(table["indicator"])
    assert table["rank"].iloc[0] <= table["rank"].iloc[-1]


def test_coherence_and_compare(full_build, asem_data, asem_framework):
    table = coherence(full_build, asem_framework)
    conn = table[(table["aggregate"] == "Index") & (table["code_a"] == "Conn")]
    assert conn["pearson"].iloc[0] > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        raw = build_index(asem_data, asem_framework)
    cmp = compare_results(raw, full_build, level_code="Index")
    assert cmp.loc["CHE", "rank_change"] == 3  # 4th in the raw build, 1st in the full build
