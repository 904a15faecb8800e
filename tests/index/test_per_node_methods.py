"""Per-aggregate methods (``aggregate``), per-indicator transforms (``transform``) and their one implementation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.config import load_framework
from smartcity_analysis.index.engine import IndexBuildError, build_index
from smartcity_analysis.selection import gap
from smartcity_analysis.selection import uncertainty as mc
from tests.selection.test_selection import engine_table, raw_data


def _two_level(values: dict[str, list[float]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four indicators, two aspects (a: x1, x2; b: y1, y2), one root; goalposts 0-10 so scores are x * 10."""
    values = values or {"x1": [2.0, 5, 8], "x2": [4.0, 6, 9], "y1": [1.0, 3, 7], "y2": [9.0, 2, 5]}
    data = pd.DataFrame({"uCode": ["u0", "u1", "u2"], **values})
    leaves = [{"code": c, "level": 1, "parent": "a" if c.startswith("x") else "b", "weight": w, "direction": 1,
               "goalpost_lower": 0.0, "goalpost_upper": 10.0} for c, w in zip(values, [1.0, 3.0, 1.0, 1.0],
                                                                             strict=True)]
    nodes = [{"code": "a", "level": 2, "parent": "root", "weight": 1.0},
             {"code": "b", "level": 2, "parent": "root", "weight": 2.0},
             {"code": "root", "level": 3, "parent": "", "weight": 1.0}]
    return data, pd.DataFrame([*leaves, *nodes])


def _by_hand(data: pd.DataFrame, a: str, b: str, root: str) -> np.ndarray:
    def mean(columns, weights, method):
        x, w = np.column_stack(columns), np.asarray(weights, float)
        if method == "arithmetic":
            return x @ w / w.sum()
        shift = 1.0 if method == "geometric_shifted" else 0.0
        return np.exp(np.log(x + shift) @ w / w.sum()) - shift
    s = {c: data[c].to_numpy() * 10 for c in ("x1", "x2", "y1", "y2")}
    aspect_a, aspect_b = mean([s["x1"], s["x2"]], [1, 3], a), mean([s["y1"], s["y2"]], [1, 1], b)
    return mean([aspect_a, aspect_b], [1, 2], root)


def _root(data, fw, **kwargs) -> np.ndarray:
    return build_index(data, fw, normalise="goalposts", **kwargs).scores["root"].to_numpy()


# ------------------------------------------------------------------------------------ per-node aggregation


def test_mapping_by_code_sets_one_aggregate():
    data, fw = _two_level()
    got = _root(data, fw, aggregate={"default": "arithmetic", "b": "geometric"})
    np.testing.assert_allclose(got, _by_hand(data, "arithmetic", "geometric", "arithmetic"), rtol=1e-12)


def test_mapping_by_level_is_coinrs_f_ag_per_level():
    data, fw = _two_level()
    # COINr Aggregate(f_ag = c("a_amean", "a_gmean")): level 1 -> 2 arithmetic, level 2 -> 3 geometric
    got = _root(data, fw, aggregate={2: "arithmetic", 3: "geometric"})
    np.testing.assert_allclose(got, _by_hand(data, "arithmetic", "arithmetic", "geometric"), rtol=1e-12)


def test_framework_column_sets_methods_and_a_string_is_the_default():
    data, fw = _two_level()
    fw["aggregate"] = fw["code"].map({"a": "geometric", "root": "geometric_shifted"})
    got = _root(data, fw, aggregate="arithmetic")
    np.testing.assert_allclose(got, _by_hand(data, "geometric", "arithmetic", "geometric_shifted"), rtol=1e-12)
    everywhere = _root(data, fw, aggregate="geometric")  # the default only reaches b, which the column leaves empty
    np.testing.assert_allclose(everywhere, _by_hand(data, "geometric", "geometric", "geometric_shifted"), rtol=1e-12)


def test_precedence_code_then_level_then_column_then_default():
    data, fw = _two_level()
    fw["aggregate"] = fw["code"].map({"a": "geometric", "b": "geometric", "root": "geometric"})
    result = build_index(data, fw, normalise="goalposts",
                         aggregate={"default": "geometric_shifted", 2: "arithmetic", "a": "geometric_shifted"})
    assert dict(result.params.aggregate) == {"a": "geometric_shifted", "b": "arithmetic", "root": "geometric"}
    np.testing.assert_allclose(result.scores["root"].to_numpy(),
                               _by_hand(data, "geometric_shifted", "arithmetic", "geometric"), rtol=1e-12)


def test_params_record_every_aggregates_method():
    data, fw = _two_level()
    result = build_index(data, fw, normalise="goalposts")
    assert dict(result.params.aggregate) == {"a": "arithmetic", "b": "arithmetic", "root": "arithmetic"}
    assert dict(result.params.transform) == {}
    assert "transform" not in result.params.stage_order


@pytest.mark.parametrize(("aggregate", "message"), [
    ({"x1": "geometric"}, r"code\(s\) \['x1'\], which are not aggregates"),
    ({4: "geometric"}, r"level\(s\) \[4\]"),
    ({"a": "harmonic"}, r"unknown aggregation method\(s\) \['harmonic'\]"),
    ("median", r"unknown aggregation method\(s\) \['median'\]"),
])
def test_bad_aggregate_arguments_are_errors(aggregate, message):
    data, fw = _two_level()
    with pytest.raises(IndexBuildError, match=message):
        build_index(data, fw, normalise="goalposts", aggregate=aggregate)


def test_bad_framework_methods_are_listed_together():
    data, fw = _two_level()
    fw["aggregate"] = fw["code"].map({"a": "harmonic", "x1": "geometric"})
    fw["transform"] = fw["code"].map({"x2": "exp", "root": "log"})
    with pytest.raises(IndexBuildError) as caught:
        build_index(data, fw)
    message = str(caught.value)
    for expected in ("'x2': transform 'exp' is not known; use one of log, log1p, sqrt",
                     "'root': transform 'log' is set on a level-3 row",
                     "'a': aggregate 'harmonic' is not known",
                     "'x1': aggregate 'geometric' is set on a level-1 row"):
        assert expected in message


def test_framework_file_with_unknown_methods_is_refused(tmp_path):
    text = (load_framework().path.read_text(encoding="utf-8")
            .replace("    derive: {kind: value, field: spbe_index}",
                     "    transform: logarithm\n    derive: {kind: value, field: spbe_index}")
            .replace("    label_id: Indeks Kesiapan Smart City", "    aggregate: median\n"
                     "    label_id: Indeks Kesiapan Smart City"))
    broken = tmp_path / "framework.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_framework(broken)
    message = str(caught.value)
    assert str(broken) in message
    assert "'spbe_index': transform 'logarithm' is not known" in message
    assert "'readiness_index': aggregate 'median' is not known" in message


# ------------------------------------------------------------------------------------ transforms


@pytest.mark.parametrize(("name", "function"), [("log", np.log), ("log1p", np.log1p), ("sqrt", np.sqrt)])
def test_transform_applies_to_values_and_goalposts(name, function):
    data, fw = _two_level()
    fw["transform"] = fw["code"].map({"y2": name})
    fw.loc[fw["code"] == "y2", "goalpost_lower"] = 1.0  # in y2's own units; log needs it positive
    result = build_index(data, fw, normalise="goalposts")
    lo, hi = function(1.0), function(10.0)
    expected = np.clip((function(data["y2"].to_numpy()) - lo) / (hi - lo), 0, 1) * 100
    np.testing.assert_allclose(result.scores["y2"].to_numpy(), expected, rtol=1e-12)
    assert dict(result.params.transform) == {"y2": name}
    assert result.params.stage_order[:3] == ("denominate", "transform", "impute")


def test_transform_runs_before_minmax_and_keeps_missing_values():
    data, fw = _two_level({"x1": [1.0, 10, 100], "x2": [4.0, np.nan, 9], "y1": [1.0, 3, 7], "y2": [9.0, 2, 5]})
    fw["transform"] = fw["code"].map({"x1": "log", "x2": "sqrt"})
    result = build_index(data, fw)
    np.testing.assert_allclose(result.scores["x1"].to_numpy(), [0.0, 50.0, 100.0], rtol=1e-12)
    assert np.isnan(result.scores.loc["u1", "x2"])


@pytest.mark.parametrize(("name", "value", "domain"), [("log", 0.0, "strictly positive"),
                                                        ("log", -2.5, "strictly positive"),
                                                        ("sqrt", -1.0, "zero or positive"),
                                                        ("log1p", -1.0, "greater than -1")])
def test_a_value_the_transform_cannot_take_names_indicator_unit_and_value(name, value, domain):
    data, fw = _two_level()
    data.loc[1, "y1"] = value
    fw["transform"] = fw["code"].map({"y1": name})
    with pytest.raises(IndexBuildError) as caught:
        build_index(data, fw)
    message = str(caught.value)
    assert f"indicator 'y1' has transform {name!r}, which needs values {domain}" in message
    assert f"u1 ({value:g})" in message


def test_a_goalpost_the_transform_cannot_take_is_an_error():
    data, fw = _two_level()
    fw["transform"] = fw["code"].map({"y1": "log"})  # goalpost_lower 0 cannot be logged
    with pytest.raises(IndexBuildError, match=r"'y1': goalpost_lower 0 cannot take transform 'log'"):
        build_index(data, fw, normalise="goalposts")


# ------------------------------------------------------------------------------------ one aggregation everywhere


@pytest.fixture(scope="module")
def mixed():
    """The selection tests' tree with its own methods on two aggregates and a transform on one indicator."""
    data, table = raw_data(), engine_table()
    data["b2"] = data["b2"] - data["b2"].min() + 1.0  # positive, so that it can be logged
    table["aggregate"] = table["code"].map({"aspect_b": "geometric_shifted", "readiness_index": "geometric_shifted"})
    table["transform"] = table["code"].map({"b2": "log"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nominal = build_index(data, table, unit="region_code", impute="group_median", impute_group="region_type",
                              treat_outliers=True, normalise="minmax", aggregate="arithmetic")
        matrices = mc.engine_matrices(data, table, ("group_median", "median"), ("minmax", "zscore"),
                                      data["region_code"])
    return data, table, nominal, matrices, mc.tree_from_table(table)


def test_monte_carlo_draw_without_perturbation_is_the_nominal_build(mixed):
    _, _, nominal, matrices, tree = mixed
    assert tree.steps[-1].methods == ("geometric_shifted",)
    values = mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic"))
    np.testing.assert_allclose(values, nominal.scores["readiness_index"].to_numpy(), rtol=1e-12, atol=1e-12)
    codes = list(tree.indicator_codes)
    np.testing.assert_allclose(matrices[("group_median", "minmax")], nominal.scores[codes].to_numpy(),
                               rtol=1e-12, atol=1e-12)


def test_monte_carlo_geometric_choice_leaves_fixed_aggregates_alone(mixed):
    data, table, _, matrices, tree = mixed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = build_index(data, table, unit="region_code", impute="median", treat_outliers=True,
                               normalise="minmax", aggregate="geometric_shifted").scores["readiness_index"]
    values = mc.nominal_values(matrices, tree, ("median", "minmax", "geometric"))
    np.testing.assert_allclose(values, expected.to_numpy(), rtol=1e-12, atol=1e-12)
    # z-scores meet a geometric method (the fixed aggregates), so they are put on a positive scale
    assert mc.uses_geometric(tree, "arithmetic")
    assert np.isfinite(mc.nominal_values(matrices, tree, ("median", "zscore", "arithmetic"))).all()


def test_gap_levels_are_the_nominal_build(mixed):
    _, _, nominal, matrices, tree = mixed
    levels = gap.tree_levels(matrices[("group_median", "minmax")], tree, "arithmetic")
    for code in ("aspect_a", "aspect_b", "aspect_c", "readiness_index"):
        np.testing.assert_allclose(levels[code], nominal.scores[code].to_numpy(), rtol=1e-12, atol=1e-12)
    step = tree.steps[-1]
    row = np.array([levels[c][3] for c in step.child_codes])
    assert gap.tree_levels_row(row, tree, step, "arithmetic") == pytest.approx(levels["readiness_index"][3],
                                                                              rel=1e-12)
