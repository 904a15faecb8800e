"""The framework file is validated as a whole: every problem is listed, each naming the entry, the key and the fix."""

import copy

import pytest
import yaml

from smartcity_analysis.config import FrameworkError, framework_problems, load_framework
from smartcity_analysis.paths import CONFIG_DIR, FRAMEWORK_FILE


@pytest.fixture(scope="module")
def bundled():
    return yaml.safe_load(FRAMEWORK_FILE.read_text(encoding="utf-8"))


def _entry(data, section, code):
    return next(e for e in data[section] if e.get("code", e.get("id")) == code)


def _write(tmp_path, data, name="framework.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", [FRAMEWORK_FILE, CONFIG_DIR / "examples" / "hdi.yaml"])
def test_the_shipped_frameworks_have_no_problem(path):
    assert framework_problems(path) == []
    assert load_framework(path).path == path


def _broken(bundled):
    """The bundled framework with one of each problem the run must refuse."""
    data = copy.deepcopy(bundled)
    _entry(data, "indicators", "hdi")["aspect"] = "aspect_sumber_daya"                # unknown parent
    _entry(data, "aggregates", "dimension_overall")["parent"] = "dimension_governance"  # a cycle
    data["indicators"].append(copy.deepcopy(_entry(data, "indicators", "pad_share_pct")))  # a code twice
    _entry(data, "indicators", "apbd_per_capita_idr")["weight"] = 0                   # not positive
    _entry(data, "aggregates", "aspect_infrastruktur")["weight"] = "two"              # not a number
    _entry(data, "indicators", "ict_budget_share_pct")["derive"]["numerator"] = "ict_budget"  # no such field
    _entry(data, "aggregates", "aspect_suprastruktur")["aggregate"] = "median"        # unknown method
    _entry(data, "indicators", "spbe_index")["transform"] = "logarithm"               # unknown transform
    _entry(data, "indicators", "leadership_score")["normalise"] = "maxmin"            # unknown normalisation
    data["fields"].append(copy.deepcopy(_entry(data, "fields", "population")))        # a field id twice
    return data


EXPECTED = (
    "indicator 'hdi', key `aspect`: 'aspect_sumber_daya' is not an aggregate of the aspects view",
    "aggregate 'dimension_governance', key `parent`: the parents form a cycle ('dimension_governance' -> "
    "'dimension_overall' -> 'dimension_governance')",
    "code 'pad_share_pct', key `code`: defined 2 times in `indicators` and `aggregates`",
    "indicator 'apbd_per_capita_idr', key `weight`: 0 is not a positive number; give a number above 0",
    "aggregate 'aspect_infrastruktur', key `weight`: 'two' is not a positive number",
    "indicator 'ict_budget_share_pct', key `derive.numerator`: field 'ict_budget' is not in `fields`",
    "'aspect_suprastruktur': aggregate 'median' is not known; use one of arithmetic, geometric, geometric_shifted",
    "'spbe_index': transform 'logarithm' is not known",
    "indicator 'leadership_score', key `normalise`: 'maxmin' is not known; use one of minmax, zscore",
    "field 'population', key `id`: defined 2 times in `fields`",
)


def test_every_problem_of_a_broken_framework_is_listed(bundled, tmp_path):
    path = _write(tmp_path, _broken(bundled))
    problems = framework_problems(path)
    for expected in EXPECTED:
        assert sum(expected in problem for problem in problems) == 1, expected
    with pytest.raises(FrameworkError) as caught:
        load_framework(path)
    assert caught.value.problems == tuple(problems)
    assert caught.value.path == path
    message = str(caught.value)
    assert message.startswith(f"{path}: the framework file has {len(problems)} problem(s):")
    assert all(f"\n- {problem}" in message for problem in problems)


def test_a_framework_error_is_a_value_error(bundled, tmp_path):
    data = copy.deepcopy(bundled)
    _entry(data, "aggregates", "readiness_index")["weight"] = -1
    with pytest.raises(ValueError, match="'readiness_index', key `weight`: -1 is not a positive number"):
        load_framework(_write(tmp_path, data))


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: _entry(d, "aggregates", "aspect_struktur").update(level=3),
     "indicator 'hdi', key `aspect`: 'aspect_struktur' is at level 3, but the parent of a level-1 row must be at "
     "level 2"),
    (lambda d: _entry(d, "indicators", "hdi").update(dimension="aspect_struktur"),
     "indicator 'hdi', key `dimension`: 'aspect_struktur' is not an aggregate of the dimensions view"),
    (lambda d: _entry(d, "indicators", "hdi").update(direction=0),
     "indicator 'hdi', key `direction`: 0 must be 1 (higher is better) or -1 (lower is better)"),
    (lambda d: _entry(d, "indicators", "hdi").update(weight=True),
     "indicator 'hdi', key `weight`: True is not a positive number"),
    (lambda d: _entry(d, "indicators", "hdi").update(derive={"kind": "sum", "field": "hdi"}),
     "indicator 'hdi', key `derive.kind`: 'sum' is not a derivation; use one of value, ratio, boolean, ordinal"),
    (lambda d: _entry(d, "fields", "hdi").update(type="decimal"),
     "field 'hdi', key `type`: 'decimal' is not a field type"),
    (lambda d: d["rules"][0].update(not_above="apbd"),
     "rule 'pad_not_above_apbd', key `not_above`: field 'apbd' is not in `fields`"),
])
def test_each_problem_names_the_entry_and_the_key(bundled, tmp_path, change, expected):
    data = copy.deepcopy(bundled)
    change(data)
    problems = framework_problems(_write(tmp_path, data))
    assert any(expected in problem for problem in problems), problems


def test_a_file_that_is_not_yaml_is_one_problem(tmp_path):
    path = tmp_path / "framework.yaml"
    path.write_text("fields: [\n  - id: a\n", encoding="utf-8")
    problems = framework_problems(path)
    assert len(problems) == 1 and problems[0].startswith("the file is not valid YAML")
