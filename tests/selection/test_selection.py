"""Tests of ranking, selection and their Monte Carlo uncertainty (``selection``, ``uncertainty``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.selection import uncertainty as mc
from smartcity_analysis.selection.ranking import (
    SelectionParams,
    candidate_table,
    compare_selections,
    ranking_table,
    select,
    write_ranking,
    write_selection_xlsx,
)
from smartcity_analysis.selection.what_if import what_if

INDICATORS = {"a1": "aspect_a", "a2": "aspect_a", "a3": "aspect_a", "b1": "aspect_b", "b2": "aspect_b",
              "c1": "aspect_c", "c2": "aspect_c"}


def engine_table() -> pd.DataFrame:
    """A small three-aspect tree in the engine's format."""
    leaves = [{"code": c, "level": 1, "parent": p, "weight": w, "direction": 1.0}
              for (c, p), w in zip(INDICATORS.items(), [1, 1, 0.5, 1, 2, 1, 1], strict=True)]
    aspects = [{"code": a, "level": 2, "parent": "readiness_index", "weight": w, "direction": np.nan}
               for a, w in (("aspect_a", 1.0), ("aspect_b", 1.0), ("aspect_c", 2.0))]
    return pd.DataFrame([*leaves, *aspects, {"code": "readiness_index", "level": 3, "parent": None,
                                             "weight": 1.0, "direction": np.nan}])


def raw_data(n: int = 120, seed: int = 5, missing: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    data = pd.DataFrame({c: latent + rng.normal(scale=1.0, size=n) for c in INDICATORS})
    data = data.mask(rng.random(data.shape) < missing)
    data.insert(0, "region_code", [f"{1101 + i:04d}" for i in range(n)])
    data.insert(1, "region_type", np.where(np.arange(n) % 4 == 0, "Kota", "Kabupaten"))
    return data


def candidates_for(values: np.ndarray, *, coverage: np.ndarray | None = None, struktur=None) -> pd.DataFrame:
    n = len(values)
    codes = [f"{1101 + i:04d}" for i in range(n)]
    scores = pd.DataFrame({"region_code": codes, "readiness_index": values,
                           "aspect_struktur": np.zeros(n) if struktur is None else struktur})
    submissions = pd.DataFrame({
        "region_code": codes, "official_name": [f"Daerah {c}" for c in codes],
        "region_type": np.where(np.arange(n) % 4 == 0, "Kota", "Kabupaten"),
        "province_name": "Jawa Barat", "assessment_class": np.array(list("ABCD"))[np.arange(n) % 4],
    })
    stats = pd.DataFrame({"region_code": codes, "indicator_coverage": np.ones(n) if coverage is None else coverage})
    return candidate_table(scores, submissions, stats)


# ---------------------------------------------------------------------------------------------- selection


def test_number_selected_equals_the_quota():
    cands = candidates_for(np.linspace(0, 100, 88))
    table = select(cands, SelectionParams(quota=50)).table
    assert table["selected"].sum() == 50
    assert table.loc[table["selected"], "rank"].max() == 50
    first = table.iloc[11]
    assert first["decision_reason_id"] == "Peringkat 12 dari 88; masuk dalam kuota 50"
    assert first["decision_reason_en"] == "Rank 12 of 88; within the quota of 50"
    assert table.iloc[60]["decision_reason"] == "outside_quota"


def test_all_eligible_are_selected_when_fewer_than_the_quota():
    coverage = np.where(np.arange(30) < 20, 0.4, 1.0)
    params = SelectionParams(quota=50, min_coverage=0.6)
    table = select(candidates_for(np.arange(30.0), coverage=coverage), params).table
    assert table["selected"].sum() == 10
    assert (table["selected"] == table["eligible"]).all()
    low = table[~table["eligible"]].iloc[0]
    assert low["decision_reason"] == "low_coverage"
    assert "cakupan indikator 40 % di bawah batas 60 %" in low["decision_reason_id"]


def test_ineligible_regions_never_take_a_seat():
    coverage = np.where(np.arange(88) == 87, 0.3, 1.0)  # the best-scored region lacks data
    table = select(candidates_for(np.arange(88.0), coverage=coverage), SelectionParams(quota=50)).table
    assert table.iloc[0]["rank"] == 1 and not table.iloc[0]["selected"]
    assert table["selected"].sum() == 50
    assert table.loc[table["selected"], "rank"].max() == 51


def test_minimums_per_type_and_class_are_honoured():
    values = np.arange(88.0)
    params = SelectionParams(quota=20, min_per_type={"Kota": 12}, min_per_class={"A": 8})
    table = select(candidates_for(values), params).table
    chosen = table[table["selected"]]
    assert len(chosen) == 20
    assert (chosen["region_type"] == "Kota").sum() >= 12
    assert (chosen["assessment_class"] == "A").sum() >= 8
    assert {"minimum_type", "displaced_by_minimum"} <= set(table["decision_reason"])
    reserved = table[table["decision_reason"] == "minimum_type"].iloc[0]
    assert "dipilih untuk memenuhi minimum 12 daerah jenis Kota" in reserved["decision_reason_id"]


def test_minimums_beyond_the_quota_are_rejected():
    with pytest.raises(ValueError, match="exceed the quota"):
        SelectionParams(quota=5, min_per_type={"Kota": 6})


def test_ties_go_to_higher_struktur_then_lower_code():
    cands = candidates_for(np.array([50.0, 50.0, 50.0, 10.0]), struktur=np.array([1.0, 3.0, 1.0, 9.0]))
    table = select(cands, SelectionParams(quota=2)).table
    assert table["region_code"].tolist() == ["1102", "1101", "1103", "1104"]
    assert table["rank"].tolist() == [1, 2, 3, 4]


def test_compare_selections_reports_entries_and_exits():
    before = pd.DataFrame({"region_code": ["1", "2", "3"], "official_name": ["A", "B", "C"], "rank": [1, 2, 3],
                           "selected": [True, True, False]})
    after = before.assign(rank=[1, 3, 2], selected=[True, False, True])
    comparison = compare_selections(before, after).set_index("region_code")
    assert comparison.loc["3", "change"] == "entered" and comparison.loc["3", "change_id"] == "masuk"
    assert comparison.loc["2", "change"] == "left" and comparison.loc["2", "rank_change"] == -1
    assert comparison.loc["1", "change"] == "stayed_in"


# ---------------------------------------------------------------------------------------------- the Monte Carlo


@pytest.fixture(scope="module")
def engine_inputs():
    data, table = raw_data(), engine_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matrices = mc.engine_matrices(data, table, ("group_median", "median", "mean"), ("minmax", "zscore"),
                                      data["region_code"])
    return data, table, matrices, mc.tree_from_table(table)


@pytest.mark.parametrize(("normalise", "aggregate", "engine_aggregate"), [
    ("minmax", "arithmetic", "arithmetic"), ("minmax", "geometric", "geometric_shifted"),
    ("zscore", "arithmetic", "arithmetic"),
])
def test_vectorised_aggregation_reproduces_the_engine(engine_inputs, normalise, aggregate, engine_aggregate):
    from smartcity_analysis.index.engine import build_index

    data, table, matrices, tree = engine_inputs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = build_index(data, table, unit="region_code", impute="group_median", impute_group="region_type",
                             treat_outliers=True, normalise=normalise, aggregate=engine_aggregate)
    expected = result.scores["readiness_index"].reindex(data["region_code"]).to_numpy()
    mine = mc.nominal_values(matrices, tree, ("group_median", normalise, aggregate))
    np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-10)


def test_vectorised_aggregation_with_missing_children_rescales_weights():
    tree = mc.tree_from_table(engine_table())
    matrix = np.array([[10.0, np.nan, 30.0, 40.0, 50.0, 60.0, 70.0]])
    aspect_a = (10 * 1 + 30 * 0.5) / 1.5
    aspect_b = (40 * 1 + 50 * 2) / 3
    aspect_c = 65.0
    expected = (aspect_a + aspect_b + 2 * aspect_c) / 4
    got = mc.aggregate_draws(matrix, tree, tree.nominal_weights[None, :], "arithmetic")
    np.testing.assert_allclose(got, [[expected]])


def nominal_selection(candidates: pd.DataFrame, params: SelectionParams) -> pd.Series:
    return select(candidates, params).table.set_index("region_code")["selected"]


def test_p_selected_is_zero_or_one_when_nothing_is_uncertain(engine_inputs):
    data, _, matrices, tree = engine_inputs
    cands = candidates_for(mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic")))
    params = mc.UncertaintyParams(n_draws=50, weight_perturbation=0.0, imputations=("group_median",),
                                  normalisations=("minmax",), aggregations=("arithmetic",))
    sel = SelectionParams(quota=30)
    result = mc.run_monte_carlo(matrices, tree, cands, params, sel)
    summary = mc.summarise(result, nominal_selection(cands, sel)).set_index("region_code")
    assert set(summary["p_selected"].unique()) <= {0.0, 1.0}
    assert (summary["p_selected"] == nominal_selection(cands, sel).reindex(summary.index).astype(float)).all()
    assert not summary["borderline"].any()
    assert (summary["rank_p05"] == summary["rank_p95"]).all()


def test_every_draw_selects_the_quota(engine_inputs):
    _, _, matrices, tree = engine_inputs
    cands = candidates_for(mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic")))
    result = mc.run_monte_carlo(matrices, tree, cands, mc.UncertaintyParams(n_draws=200), SelectionParams(quota=30))
    assert (result.selected.sum(axis=1) == 30).all()
    assert (np.sort(result.ranks, axis=1) == np.arange(1, 121)).all()


def test_nominal_rank_lies_within_its_interval_when_the_nominal_choice_is_drawn(engine_inputs):
    _, _, matrices, tree = engine_inputs
    cands = candidates_for(mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic")))
    sel = SelectionParams(quota=30)
    nominal = select(cands, sel).table.set_index("region_code")
    # Only the methods vary: the nominal configuration is a quarter of the draws, so the 5-95 % interval holds it.
    params = mc.UncertaintyParams(n_draws=400, weight_perturbation=0.0, imputations=("group_median",),
                                  random_state=3)
    summary = mc.summarise(mc.run_monte_carlo(matrices, tree, cands, params, sel),
                           nominal["selected"]).set_index("region_code")
    rank = nominal["rank"].reindex(summary.index)
    assert ((summary["rank_p05"] <= rank) & (rank <= summary["rank_p95"])).all()
    # With weights perturbed too, draw 0 is the nominal configuration, so the range of draws always holds it.
    wide = mc.summarise(mc.run_monte_carlo(matrices, tree, cands, mc.UncertaintyParams(n_draws=300), sel),
                        nominal["selected"]).set_index("region_code")
    assert ((wide["rank_min"] <= rank) & (rank <= wide["rank_max"])).all()


def test_borderline_follows_the_nominal_decision():
    result = mc.MonteCarloResult(
        draws=pd.DataFrame(), index_values=np.zeros((10, 4)), ranks=np.tile([1, 2, 3, 4], (10, 1)),
        selected=np.array([[True, True, False, False]] * 5 + [[True, False, True, False]] * 4
                          + [[True, False, False, True]]),
        region_codes=("1", "2", "3", "4"), params=mc.UncertaintyParams(n_draws=10))
    nominal = pd.Series([True, True, False, False], index=["1", "2", "3", "4"])
    summary = mc.summarise(result, nominal).set_index("region_code")
    assert summary["p_selected"].tolist() == [1.0, 0.5, 0.4, 0.1]
    # "2" is selected in only 50 % of draws, "3" excluded in only 60 %: both borderline; "4" in 10 %: not.
    assert summary["borderline"].tolist() == [False, True, True, False]


def test_same_seed_gives_identical_files(engine_inputs, tmp_path):
    _, _, matrices, tree = engine_inputs
    cands = candidates_for(mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic")))
    sel = SelectionParams(quota=30)
    for folder in ("a", "b"):
        nominal = select(cands, sel)
        result = mc.run_monte_carlo(matrices, tree, cands, mc.UncertaintyParams(n_draws=100, random_state=9), sel)
        ranking = ranking_table(nominal, mc.summarise(result, nominal.table.set_index("region_code")["selected"]))
        write_ranking(ranking, tmp_path / folder)
        write_selection_xlsx(ranking, tmp_path / folder / "selection.xlsx")
    for name in ("ranking.csv", "selection.xlsx"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    sheet = pd.read_excel(tmp_path / "a" / "selection.xlsx", dtype={"Kode Wilayah": str}, engine="openpyxl")
    assert list(sheet.columns) == ["Peringkat", "Kode Wilayah", "Nama Daerah", "Provinsi", "Indeks Kesiapan",
                                   "Rentang Peringkat (5-95 %)", "Peluang Terpilih", "Status", "Keterangan"]
    assert (sheet["Status"] == "Terpilih").sum() == 30


def test_different_seeds_give_different_draws(engine_inputs):
    _, _, matrices, tree = engine_inputs
    cands = candidates_for(mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic")))
    a = mc.run_monte_carlo(matrices, tree, cands, mc.UncertaintyParams(n_draws=20, random_state=1))
    b = mc.run_monte_carlo(matrices, tree, cands, mc.UncertaintyParams(n_draws=20, random_state=2))
    assert not np.array_equal(a.index_values, b.index_values)
    # Draw 0 is nominal in both, aggregated in batches of other draws: equal to the tolerance, ranked alike.
    np.testing.assert_allclose(a.index_values[0], b.index_values[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(a.ranks[0], b.ranks[0])
    np.testing.assert_array_equal(a.selected[0], b.selected[0])


def test_sensitivity_attributes_variance_to_the_only_varying_choice(engine_inputs):
    _, _, matrices, tree = engine_inputs
    cands = candidates_for(mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic")))
    params = mc.UncertaintyParams(weight_perturbation=0.0, imputations=("group_median",),
                                  aggregations=("arithmetic",))
    result = mc.run_sensitivity(matrices, tree, cands, params, SelectionParams(quota=30), n_base=64)
    summary = result.summary.set_index("factor")
    assert summary.loc["normalise", "ST_rank"] == pytest.approx(1.0, abs=0.05)
    assert summary.loc["normalise", "S1_rank"] == pytest.approx(1.0, abs=0.1)
    assert summary.drop(index="normalise")["ST_rank"].abs().max() < 1e-9


def test_what_if_with_nominal_settings_changes_nothing(engine_inputs):
    _, _, matrices, tree = engine_inputs
    cands = candidates_for(mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic")))
    inputs = mc.UncertaintyInputs(matrices, tree, tuple(cands["region_code"]))
    sel = SelectionParams(quota=30)
    baseline = select(cands, sel).table
    same = what_if(inputs, cands, baseline, impute="group_median", normalise="minmax", aggregate="arithmetic",
                      selection_params=sel)
    assert same.counts[["entered", "left"]].sum() == 0
    heavier = what_if(inputs, cands, baseline, impute="group_median", normalise="minmax",
                         aggregate="arithmetic", weights={"aspect_b": 10.0}, selection_params=sel)
    assert heavier.counts["entered"] == heavier.counts["left"]
    assert heavier.configuration["weights"] == {"aspect_b": 10.0}
