"""Tests of what it takes to be selected (``selection.gap``): cut-off, margins, paths, their robustness."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.index.engine import DECISION_DECIMALS, IndexWarning, build_index, decision_key
from smartcity_analysis.index.indicators import derive_indicators, framework_table
from smartcity_analysis.selection import gap
from smartcity_analysis.selection import uncertainty as mc
from smartcity_analysis.selection.ranking import SelectionParams, candidate_table, rank_rows, select, select_top

HAND = gap.GapParams(treat_outliers=False)


def tiny_table(indicators: dict[str, str]) -> pd.DataFrame:
    """A two-aspect tree (equal weights everywhere) in the engine's format."""
    aspects = sorted(set(indicators.values()))
    rows = [{"code": c, "level": 1, "parent": p, "weight": 1.0, "direction": 1.0} for c, p in indicators.items()]
    rows += [{"code": a, "level": 2, "parent": "readiness_index", "weight": 1.0, "direction": np.nan} for a in aspects]
    return pd.DataFrame([*rows, {"code": "readiness_index", "level": 3, "parent": None, "weight": 1.0,
                                 "direction": np.nan}])


def tiny_round(values: dict[str, list[float]], table: pd.DataFrame, params: gap.GapParams = HAND,
               step: float = 1.0, high: float = 10.0) -> gap.GapInputs:
    """Gap inputs of a hand-sized round: integer-stepped indicators valid on 0..``high``."""
    n = len(next(iter(values.values())))
    codes = [f"{1101 + i:04d}" for i in range(n)]
    data = pd.DataFrame({"region_code": codes, "region_type": "Kabupaten", **values})
    impute, normalise, aggregate = params.nominal
    result = build_index(data, table, unit="region_code", impute=impute, impute_group="region_type",
                         treat_outliers=params.treat_outliers, normalise=normalise,
                         aggregate="geometric_shifted" if aggregate == "geometric" else aggregate)
    scores = result.scores.rename_axis("region_code").reset_index()
    submissions = pd.DataFrame({"region_code": codes, "official_name": [f"Daerah {c}" for c in codes],
                                "region_type": "Kabupaten", "province_name": "Jawa Barat",
                                "assessment_class": "Kelas A"})
    stats = pd.DataFrame({"region_code": codes, "indicator_coverage": 1.0})
    candidates = candidate_table(scores, submissions, stats, tie_break=("aspect_a",))
    parents = table.set_index("code")["parent"]
    levers = [gap.Lever(c, parents[c], "value", c, "", 1.0, step, 0.0, high, "", 1.0) for c in values]
    return gap.gap_inputs(data, table, candidates, submissions, levers, params)


# Five regions, quota 2. Scores (min-max): a1 = a2 = 10 x value, b1 = 10 x value. Index = (mean(a1, a2) + b1) / 2:
# 1101: 100, 1102: 0, 1103: 50 (aspect_a 60), 1104: 50 (aspect_a 40), 1105: 55 (aspect_a 50).
# Selected: 1101 and 1105; cut-off 55. Ties are won by the higher aspect_a.
FIVE = {"a1": [10, 0, 6, 4, 2], "a2": [10, 0, 6, 4, 8], "b1": [10, 0, 4, 6, 6]}
FIVE_TABLE = tiny_table({"a1": "aspect_a", "a2": "aspect_a", "b1": "aspect_b"})
QUOTA_2 = SelectionParams(quota=2, tie_break=("aspect_a",))
# One step of the decision precision: passing a region strictly means an index this much higher, rounded.
STEP = 10.0 ** -DECISION_DECIMALS


# Scores computed along two code paths (batches of other sizes, other processes) agree to this tolerance; their
# decisions (selected, rank, the path found) are identical.
RTOL = ATOL = 1e-12


def just_above(value: float) -> float:
    """The next index above ``value`` on the decision precision's grid."""
    return float(decision_key(value + STEP))


@pytest.fixture(scope="module")
def five():
    inputs = tiny_round(FIVE, FIVE_TABLE)
    return inputs, gap.what_it_takes(inputs, QUOTA_2)


def _path(result: gap.GapResult, region: str, code: str) -> pd.Series:
    rows = result.paths[(result.paths["region_code"] == region) & (result.paths["code"] == code)]
    assert len(rows) == 1, f"expected one path of {region} through {code}"
    return rows.iloc[0]


def test_hand_round_index_and_cutoff(five):
    _, result = five
    regions = result.regions.set_index("region_code")
    np.testing.assert_allclose(regions.loc[["1101", "1102", "1103", "1104", "1105"], "readiness_index"],
                               [100, 0, 50, 50, 55], atol=1e-12)
    assert regions.loc[regions["selected"]].index.tolist() == ["1101", "1105"]
    assert (regions["cutoff_index"] == 55).all()
    assert regions.at["1103", "distance_to_cutoff"] == pytest.approx(-5)


def test_region_one_step_below_the_cutoff_needs_exactly_that_step(five):
    _, result = five
    # 1103 is one b1 step (+10 score, +5 index) below the cut-off: at 55 it ties with 1105 and wins the tie.
    path = _path(result, "1103", "b1")
    assert (path["from_value"], path["to_value"], path["change"]) == (4, 5, 1)
    assert path["index_after"] == pytest.approx(55) and path["rank_after"] == 2
    regions = result.regions.set_index("region_code")
    assert regions.at["1103", "index_to_enter"] == 55 and regions.at["1103", "gap_points"] == pytest.approx(5)
    # Through a1 (a quarter of the index) it takes two steps: 6 -> 8 gives exactly 55 again.
    assert _path(result, "1103", "a1")["to_value"] == 8


def test_tie_lost_costs_one_more_step(five):
    _, result = five
    # 1104 has the lower aspect_a (40 < 50), so 55 is not enough: it must pass 1105 strictly, by one step of
    # the decision precision.
    regions = result.regions.set_index("region_code")
    assert regions.at["1104", "index_to_enter"] == just_above(55.0)
    assert _path(result, "1104", "b1")["to_value"] == 8
    # Through a1 the tie-break moves too: a1 = 6 gives index 55 and aspect_a 50, equal to 1105's on both, and
    # the lower region code wins.
    assert _path(result, "1104", "a1")["to_value"] == 6


def test_selected_margins_by_hand(five):
    _, result = five
    regions = result.regions.set_index("region_code")
    # 1105 (55, aspect_a 50) loses a tie with 1103 (50, aspect_a 60): it must stay strictly above 50.
    assert regions.at["1105", "index_to_stay"] == just_above(50.0)
    assert regions.at["1105", "margin_points"] == pytest.approx(5)
    # 1101 (aspect_a 100) wins that tie: it stays selected down to 50 itself.
    assert regions.at["1101", "index_to_stay"] == 50 and regions.at["1101", "margin_points"] == 50
    assert set(regions.loc[regions["selected"], "status"]) == {"selected"}


def test_aspect_path_by_hand(five):
    _, result = five
    # 1103 needs +10 on aspect_b (40 -> 50: index 55, tie won) or on aspect_a (60 -> 70).
    assert _path(result, "1103", "aspect_b")["to_value"] == pytest.approx(50)
    assert _path(result, "1103", "aspect_a")["to_value"] == pytest.approx(70)


def test_improvement_that_moves_the_minmax_bound():
    # Quota 1. x: 10, 8, 2, 0; b1: 0, 10, 5, 0 -> index 50, 90, 35, 0; 1102 is selected. Within x <= 10, 1103
    # reaches 75 at most. Only as the new maximum v does it pass: 1102's x score shrinks to 800 / v, its index to
    # 400 / v + 50, against 1103's 75; v = 16 gives a tie that 1103 wins on aspect_a (100 > 50); v = 15 does not.
    table = tiny_table({"x": "aspect_a", "b1": "aspect_b"})
    inputs = tiny_round({"x": [10, 8, 2, 0], "b1": [0, 10, 5, 0]}, table, high=100.0)
    result = gap.what_it_takes(inputs, SelectionParams(quota=1, tie_break=("aspect_a",)))
    path = _path(result, "1103", "x")
    assert path["to_value"] == 16 and path["method"] == "search"
    assert path["index_after"] == pytest.approx(75)
    assert not gap.evaluate_change(inputs, 2, "x", 15.0, SelectionParams(quota=1, tie_break=("aspect_a",))).selected


def test_no_path_when_the_valid_range_is_too_short():
    # As above but x valid only up to 10: x = 10 gives 1103 an index of 75 < 90, b1 = 10 gives 60; aspects at
    # 100 give 75 and 60. No path exists, and the region says so.
    table = tiny_table({"x": "aspect_a", "b1": "aspect_b"})
    inputs = tiny_round({"x": [10, 8, 2, 0], "b1": [0, 10, 5, 0]}, table, high=10.0)
    result = gap.what_it_takes(inputs, SelectionParams(quota=1, tie_break=("aspect_a",)))
    regions = result.regions.set_index("region_code")
    assert regions.at["1103", "status"] == "no_path" and regions.at["1103", "n_paths"] == 0
    assert not (result.paths["region_code"] == "1103").any()
    assert regions.at["1103", "gap_points"] == pytest.approx(55)


def test_field_grid_stays_in_range_and_respects_caps():
    lever = gap.Lever("share", "aspect_a", "ratio", "pad", "apbd", 100.0, 1e6, 0.0, 1e14, "apbd", 1.0)
    grid = gap.field_grid(lever, start=2.5e6, denominator=1e7, cap=1e7)
    assert grid.size == 8 and grid.value(0) == 3.5e6 and grid.value(grid.size - 1) == 1e7
    assert gap.indicator_value(lever, grid.value(grid.size - 1), 1e7) == 100.0
    flag = gap.Lever("has", "aspect_a", "boolean", "has", "", 1.0, 1.0, 0.0, 1.0, "", 1.0)
    assert gap.field_grid(flag, 1.0, 1.0, math.nan).size == 0
    assert [gap.field_grid(flag, 0.0, 1.0, math.nan).value(k) for k in range(1)] == [1.0]
    assert gap.field_grid(lever, 1e6, 0.0, math.nan).size == 0  # a ratio without its denominator
    score = gap.Lever("s", "aspect_a", "value", "s", "", 1.0, 1.0, 1.0, 5.0, "", 1.0)
    half = gap.field_grid(score, 3.5, 1.0, math.nan)
    assert [half.value(k) for k in range(half.size)] == [4.5, 5.0]  # the range's end is the last value


# ---------------------------------------------------------------------------------------------- the real framework


def engine_round(framework, clean: pd.DataFrame):
    """Indicators, engine data, the aspects tree and the nominal scores of a cleaned round."""
    indicators = derive_indicators(clean, framework)
    data = indicators.reset_index().merge(clean[["region_code", "region_type"]], on="region_code")
    table = framework_table(framework, "aspects")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        result = build_index(data, table, unit="region_code", impute="group_median", impute_group="region_type",
                             treat_outliers=True)
    return indicators, data, table, result.scores.rename_axis("region_code").reset_index()


def clean_round(framework, n: int = 24, seed: int = 11) -> pd.DataFrame:
    """Cleaned submissions with every field the framework's indicators derive from (seeded)."""
    rng = np.random.default_rng(seed)
    fields = framework.fields
    population = rng.integers(100_000, 3_000_000, n)
    apbd = rng.uniform(5e11, 5e12, n).round(-6)
    servants = rng.integers(2_000, 20_000, n)
    clean = pd.DataFrame({
        "region_code": [f"{3201 + i:04d}" for i in range(n)],
        "region_type": np.where(np.arange(n) % 3 == 0, "Kota", "Kabupaten"),
        "assessment_class": np.array(["Kelas A", "Kelas B"])[np.arange(n) % 2],
        "population": population, "apbd_total_idr": apbd, "pad_idr": (apbd * rng.uniform(0.02, 0.3, n)).round(-6),
        "ict_budget_idr": (apbd * rng.uniform(0.002, 0.02, n)).round(-6), "civil_servants": servants,
        "ict_civil_servants": (servants * rng.uniform(0.01, 0.06, n)).astype(int),
        "public_service_apps": rng.integers(5, 300, n), "hdi": rng.uniform(55, 85, n).round(2),
        "households_internet_pct": rng.uniform(20, 95, n).round(1),
        "opd_connected_pct": rng.uniform(40, 100, n).round(1),
        "spbe_index": rng.uniform(1, 4.5, n).round(2),
    })
    for name in fields.index[fields["type"] == "likert"]:
        clean[name] = rng.integers(1, 6, n).astype(float)
    for name in fields.index[fields["type"] == "boolean"]:
        clean[name] = rng.random(n) < 0.5
    for name in fields.index[fields["type"] == "ordinal"]:
        allowed = np.asarray(fields.loc[name, "allowed"], dtype=object)
        clean[name] = allowed[rng.integers(0, len(allowed), n)]
    clean.loc[3, "hdi"] = np.nan  # one value to impute
    return clean


@pytest.fixture(scope="module")
def real(framework):
    clean = clean_round(framework)
    indicators, data, table, scores = engine_round(framework, clean)
    stats = pd.DataFrame({"region_code": indicators.index,
                          "indicator_coverage": indicators.notna().mean(axis=1).to_numpy()})
    submissions = clean.assign(official_name="Daerah", province_name="Jawa Barat")
    candidates = candidate_table(scores, submissions, stats)
    inputs = gap.gap_inputs(data, table, candidates, clean, gap.levers_from_framework(framework, table))
    params = SelectionParams(quota=8)
    mc_params = mc.UncertaintyParams(n_draws=16, random_state=3)
    mc_inputs = mc.UncertaintyInputs(mc.engine_matrices(data, table, mc_params.imputations, mc_params.normalisations,
                                                        inputs.region_codes), inputs.tree, inputs.region_codes)
    monte_carlo = mc.run_monte_carlo(mc_inputs.matrices, mc_inputs.tree, candidates, mc_params, params)
    outcome = gap.what_it_takes(inputs, params, mc=monte_carlo, mc_inputs=mc_inputs)
    return {"inputs": inputs, "data": data, "table": table, "candidates": candidates, "params": params,
            "result": outcome, "mc": monte_carlo, "mc_inputs": mc_inputs}


def test_engine_column_equals_the_full_build(real):
    inputs = real["inputs"]
    for code in inputs.tree.indicator_codes:
        column = gap._engine_columns(inputs, [(0, code, float(inputs.data[code].iloc[0]))], "group_median",
                                     "minmax")[0]
        np.testing.assert_allclose(column, inputs.matrix[:, inputs.tree.indicator_codes.index(code)], rtol=RTOL,
                                   atol=ATOL)


def test_tree_levels_reproduce_the_engine(real):
    inputs, candidates = real["inputs"], real["candidates"]
    levels = gap.tree_levels(inputs.matrix, inputs.tree, "arithmetic")
    np.testing.assert_allclose(levels["readiness_index"], candidates["readiness_index"], atol=1e-12)
    np.testing.assert_allclose(levels["aspect_struktur"], candidates["aspect_struktur"], atol=1e-12)


def test_every_path_stays_in_the_valid_range(real, framework):
    inputs, paths = real["inputs"], real["result"].paths
    levers = {lever.indicator: lever for lever in inputs.levers}
    single = paths[paths["kind"] == "indicator"]
    assert len(single) > 0
    for row in single.itertuples():
        lever = levers[row.code]
        high = lever.field_max
        if lever.cap_field:
            high = min(high, float(inputs.fields.at[row.region_code, lever.cap_field]))
        assert lever.field_min - 1e-9 <= row.field_to <= high + 1e-9, (row.region_code, row.code)
        assert row.to_value > row.from_value or math.isnan(row.from_value)
    aspects = paths[paths["kind"] == "aspect"]
    assert (aspects["to_value"] <= 100).all() and (aspects["to_value"] > aspects["from_value"]).all()


def test_applying_a_path_in_the_engine_selects_the_region(real):
    data, table, candidates, params = real["data"], real["table"], real["candidates"], real["params"]
    paths = real["result"].paths
    single = paths[paths["kind"] == "indicator"].groupby("region_code").head(2)
    for row in single.itertuples():
        changed = gap.apply_path(data, row.region_code, row.code, row.to_value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IndexWarning)
            result = build_index(changed, table, unit="region_code", impute="group_median",
                                 impute_group="region_type", treat_outliers=True)
        scores = result.scores.reindex(candidates["region_code"])
        after = select(candidates.assign(readiness_index=scores["readiness_index"].to_numpy(),
                                         aspect_struktur=scores["aspect_struktur"].to_numpy()), params).table
        decided = after.set_index("region_code")
        assert decided.at[row.region_code, "selected"], (row.region_code, row.code, row.to_value)
        assert decided.at[row.region_code, "readiness_index"] == pytest.approx(row.index_after, abs=1e-9)


def test_every_region_outside_has_a_path_or_a_reason(real):
    regions = real["result"].regions
    outside = regions[~regions["selected"]]
    assert set(outside["status"]) <= {"has_path", "no_path", "ineligible"}
    assert (outside.loc[outside["status"] == "has_path", "n_paths"] > 0).all()
    inside = regions[regions["selected"]]
    assert (inside["margin_points"] > 0).all() and inside["index_to_enter"].isna().all()


def test_robustness_is_a_reproducible_share(real):
    paths = real["result"].paths
    shares = paths.loc[paths["p_selected_after"].notna(), "p_selected_after"]
    assert len(shares) > 0 and shares.between(0, 1).all()
    again = gap.add_robustness(paths.assign(p_selected_after=np.nan), real["inputs"], real["mc_inputs"], real["mc"])
    pd.testing.assert_series_equal(again["p_selected_after"], paths["p_selected_after"])
    assert paths.loc[(paths["kind"] == "aspect"), "p_selected_after"].isna().all()


def test_write_gap_contract_files(real, tmp_path):
    written = gap.write_gap(real["result"], tmp_path)
    regions = pd.read_csv(written["selection_gap.csv"], dtype={"region_code": str})
    paths = pd.read_csv(written["selection_paths.csv"], dtype={"region_code": str})
    assert list(regions.columns) == gap.REGION_COLUMNS and list(paths.columns) == gap.PATH_COLUMNS
    assert len(regions) == len(real["candidates"])


# ---------------------------------------------------------------------------------------------- shown where it is read


def test_ranking_and_sheet_carry_the_gap_and_the_margin(five):
    from smartcity_analysis.selection.ranking import selection_sheet, with_gap

    inputs, result = five
    table = select(inputs.candidates, QUOTA_2).table
    ranking = with_gap(table.assign(p_selected=np.nan, rank_p05=np.nan, rank_p95=np.nan), result.regions)
    sheet = selection_sheet(ranking).set_index("Kode Wilayah")
    assert list(sheet.columns[-2:]) == ["Kurang dari Batas (poin indeks)", "Margin di Atas Batas (poin indeks)"]
    assert sheet.at["1103", "Kurang dari Batas (poin indeks)"] == 5.0
    assert sheet.at["1101", "Margin di Atas Batas (poin indeks)"] == 50.0


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory):
    from smartcity_analysis.synthetic.processed import write_synthetic_processed

    folder = tmp_path_factory.mktemp("what_it_takes")
    codes = write_synthetic_processed(folder, n_regions=6)
    ranking = pd.read_csv(folder / "ranking.csv", dtype={"region_code": str})
    outside = ranking.loc[~ranking["selected"].astype(bool), "region_code"].iloc[0]
    inside = ranking.loc[ranking["selected"].astype(bool), "region_code"].iloc[0]
    regions = pd.DataFrame({"region_code": [inside, outside], "selected": [True, False], "eligible": True,
                            "readiness_index": [70.0, 55.0], "rank": [1, 4], "cutoff_index": 60.0,
                            "distance_to_cutoff": [10.0, -5.0], "index_to_enter": [np.nan, 60.0],
                            "gap_points": [np.nan, 5.0], "index_to_stay": [58.0, np.nan],
                            "margin_points": [12.0, np.nan], "status": ["selected", "has_path"], "n_paths": [0, 1]})
    paths = pd.DataFrame([
        {"region_code": outside, "path_rank": 1, "kind": "indicator", "code": "apps_per_100k",
         "aspect": "aspect_infrastruktur", "field": "public_service_apps", "from_value": 4.0, "to_value": 6.4,
         "change": 2.4, "field_from": 40.0, "field_to": 64.0, "field_change": 24.0, "effort_points": 20.0,
         "index_after": 60.2, "rank_after": 3, "method": "linear", "p_selected_after": 0.55},
        {"region_code": outside, "path_rank": 2, "kind": "aspect", "code": "aspect_suprastruktur",
         "aspect": "aspect_suprastruktur", "field": "", "from_value": 40.0, "to_value": 55.5, "change": 15.5,
         "field_from": np.nan, "field_to": np.nan, "field_change": np.nan, "effort_points": 15.5,
         "index_after": 60.1, "rank_after": 3, "method": "exact", "p_selected_after": np.nan}])
    regions.to_csv(folder / "selection_gap.csv", index=False)
    paths.to_csv(folder / "selection_paths.csv", index=False)
    return folder, codes, inside, outside


def test_report_section_names_the_paths_and_the_margin(report_folder):
    from smartcity_analysis.reports import render_sections, report_context

    folder, _, inside, outside = report_folder
    text = render_sections(report_context(folder, outside, "id"), ["what_it_takes"])
    assert "Yang diperlukan untuk terpilih" in text and "kurang <strong>5,00 poin</strong>" in text
    assert "Aplikasi layanan publik per 100.000 penduduk" in text and "dari 4,00 menjadi" in text
    assert "40 \u2192 64 (+24)" in text and "55%" in text and "Digitalkan layanan publik" in text
    assert "Atau, aspek <strong>Suprastruktur</strong>" in text
    english = render_sections(report_context(folder, outside, "en"), ["what_it_takes"])
    assert "What it would take to be selected" in english and "One indicator" in english
    margin = render_sections(report_context(folder, inside, "en"), ["what_it_takes"])
    assert "<strong>12.00 points</strong>" in margin and "below 58.00" in margin


def test_report_section_without_the_gap_files(report_folder, tmp_path):
    import shutil

    from smartcity_analysis.reports import render_sections, report_context

    folder, codes, _, _ = report_folder
    bare = tmp_path / "bare"
    shutil.copytree(folder, bare)
    (bare / "selection_gap.csv").unlink()
    (bare / "selection_paths.csv").unlink()
    text = render_sections(report_context(bare, codes[0], "id"), ["what_it_takes"])
    assert "tidak tersedia" in text


def test_the_practical_paths_table_keeps_the_closest_regions_first(real):
    result = real["result"]
    table = gap.practical_paths(result, per_region=1, n=5)
    outside = result.paths.query("kind == 'indicator'")["region_code"].nunique()
    assert len(table) == min(5, outside) > 0
    assert table["rank"].is_monotonic_increasing and table["region_code"].is_unique
    firsts = result.paths.query("kind == 'indicator' and path_rank == 1").set_index("region_code")["code"]
    assert (table.set_index("region_code")["code"] == firsts.loc[table["region_code"]]).all()


# ---------------------------------------------------------------------------------------------- batched and exact


def test_one_region_selection_equals_ranking_every_row():
    rng = np.random.default_rng(5)
    values = np.round(rng.uniform(0, 10, (400, 30)), 0)  # coarse values: many ties
    values[rng.random(values.shape) < 0.05] = np.nan
    tie_position = rng.permutation(30)
    eligible = rng.random(30) < 0.8
    groups = pd.DataFrame({"region_type": np.where(np.arange(30) % 3 == 0, "Kota", "Kabupaten")})
    for minimums in ((), ranking_minimums(groups)):
        selected, _ = select_top(rank_rows(values, tie_position), eligible, 6, minimums)
        for position in range(30):
            got = gap.selected_in_rows(values, position, tie_position, eligible, 6, minimums)
            np.testing.assert_array_equal(got, selected[:, position])


def ranking_minimums(groups: pd.DataFrame):
    from smartcity_analysis.selection.ranking import group_minimums

    return group_minimums(groups, SelectionParams(quota=6, min_per_type={"Kota": 3}))


def test_batched_decisions_equal_one_change_at_a_time(real):
    inputs, params = real["inputs"], real["params"]
    hdi = next(c for c in inputs.tree.indicator_codes if inputs.data[c].isna().any())  # a value to fill
    missing = int(np.flatnonzero(inputs.data[hdi].isna())[0])
    changes = [(missing, hdi, float(inputs.data[hdi].max()))]
    changes += [(p, c, float(inputs.data[c].quantile(q))) for p in (0, 5, 11)
                for c in inputs.tree.indicator_codes[:6] for q in (0.5, 1.0)]
    batched = gap.evaluate_changes(inputs, changes, params)
    small = gap.evaluate_changes(inputs, changes, params, chunk=3)
    impute, normalise, aggregate = inputs.params.nominal
    for i, (position, indicator, _) in enumerate(changes):
        stacked = gap.changed_matrices(inputs, inputs.matrix, [changes[i]],
                                       gap._engine_columns(inputs, [changes[i]], impute, normalise))
        levels = gap.tree_levels(mc.positive_scale(stacked, normalise, aggregate), inputs.tree, aggregate)
        eligible = gap.changed_eligibility(inputs, position, indicator, params)
        selected, ranks = gap._decide(inputs, {c: v[0] for c, v in levels.items()}, params, eligible)
        expected = gap.Evaluation(bool(selected[position]), float(levels[inputs.tree.root][0, position]),
                                  int(ranks[position]))
        for got in (batched[i], small[i]):  # batches of other sizes: the same decision, the index to tolerance
            assert (got.selected, got.rank) == (expected.selected, expected.rank)
            assert got.index == pytest.approx(expected.index, rel=RTOL, abs=ATOL)


def test_searching_regions_together_equals_one_at_a_time(real):
    inputs, params, result = real["inputs"], real["params"], real["result"]
    outside = result.regions[result.regions["status"].isin(["has_path", "no_path"])]
    rises = {inputs.region_codes.index(r): e - i for r, e, i in zip(
        outside["region_code"], outside["index_to_enter"], outside["readiness_index"], strict=True)}
    together = gap.searches_for_regions(inputs, rises, params)
    assert sum(len(v) for v in together.values()) > 0
    for position, rise in rises.items():
        alone = gap.region_searches(inputs, position, rise, params)
        pd.testing.assert_frame_equal(pd.DataFrame(together[position]), pd.DataFrame(alone), check_exact=False,
                                      rtol=RTOL, atol=ATOL)


def _brute_threshold(values, position, tie_position, eligible, params, minimums):
    """The threshold with every trial value ranked in a full row (the rule itself, no counting)."""
    others = np.unique(values[np.isfinite(values) & (np.arange(len(values)) != position)])
    trial = np.unique([float(v) for v in others] + [just_above(v) for v in others])
    trial = np.concatenate([[(others.min() if len(others) else 0.0) - 1.0], trial])
    rows = np.repeat(values[None, :], len(trial), axis=0)
    rows[:, position] = trial
    selected, _ = select_top(rank_rows(rows, tie_position), eligible, params.quota, minimums)
    mine = selected[:, position]
    if not mine[-1]:
        return math.nan
    if mine.all():
        return -math.inf
    return float(trial[int(np.flatnonzero(~mine).max()) + 1])


@pytest.mark.parametrize("seed", range(6))
def test_threshold_by_counting_equals_ranking_every_trial(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    values = np.round(rng.uniform(0, 6, n), 0)  # coarse values: many ties
    values[rng.random(n) < 0.1] = np.nan
    if seed % 2:
        values[rng.integers(0, n)] = np.inf  # an index above every trial value is always ahead
    tie_position = rng.permutation(n)
    eligible = rng.random(n) < 0.8
    params = SelectionParams(quota=int(rng.integers(0, n + 2)))
    for position in range(n):
        got = gap.index_threshold(values, position, tie_position, eligible, params)
        expected = _brute_threshold(values, position, tie_position, eligible, params, ())
        assert got == expected or (math.isnan(got) and math.isnan(expected)), (position, got, expected)


def test_parts_are_nearly_equal_and_never_empty():
    assert gap._parts(list(range(7)), 2) == [[0, 1, 2, 3], [4, 5, 6]]
    assert gap._parts(list(range(3)), 8) == [[0], [1], [2]]
    assert gap._parts([], 2) == [[]]
    assert gap._parts(list(range(5)), 1) == [list(range(5))]
    assert [x for part in gap._parts(list(range(100)), -1) for x in part] == list(range(100))
    assert gap._dealt(list(range(7)), 2) == [[0, 2, 4, 6], [1, 3, 5]]  # regions near the cut-off shared out
    assert gap._dealt(list(range(2)), 4) == [[0], [1]]
    assert gap._dealt([], 2) == [[]]


def test_paths_in_processes_equal_the_paths_in_one(real, monkeypatch):
    inputs, params = real["inputs"], real["params"]
    monkeypatch.setattr(gap, "PARALLEL_MIN_REGIONS", 1)  # the hand-sized round in two processes
    parallel = gap.what_it_takes(inputs, params, mc=real["mc"], mc_inputs=real["mc_inputs"], n_jobs=2)
    pd.testing.assert_frame_equal(parallel.regions, real["result"].regions, check_exact=False, rtol=RTOL, atol=ATOL)
    pd.testing.assert_frame_equal(parallel.paths, real["result"].paths, check_exact=False, rtol=RTOL, atol=ATOL)
    decisions = ["region_code", "selected", "eligible", "rank", "status", "n_paths"]
    pd.testing.assert_frame_equal(parallel.regions[decisions], real["result"].regions[decisions])
    path_decisions = ["region_code", "path_rank", "kind", "code", "to_value", "field_to", "rank_after", "method"]
    pd.testing.assert_frame_equal(parallel.paths[path_decisions], real["result"].paths[path_decisions])
    assert parallel.paths["p_selected_after"].notna().sum() > 0


def _warn_and_double(value: int) -> int:
    warnings.warn(f"part {value} warned", RuntimeWarning, stacklevel=1)
    return 2 * value


def test_warnings_of_worker_processes_reach_the_caller():
    """A warning raised in a worker process is raised again in the caller, where a stage records it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = gap._in_parallel(_warn_and_double, [(1,), (2,), (3,)])
    assert results == [2, 4, 6]
    assert sorted(str(w.message) for w in caught) == ["part 1 warned", "part 2 warned", "part 3 warned"]
