"""The per-round lookups of report_context give what the per-region table scans gave, and never go stale."""

import dataclasses
import math
import os
import shutil

import pandas as pd
import pytest

from smartcity_analysis import paths
from smartcity_analysis.reports import labels as labels_module
from smartcity_analysis.reports import region as region_module
from smartcity_analysis.reports import tables as tables_module
from smartcity_analysis.reports import what_it_takes as what_it_takes_module
from smartcity_analysis.reports.labels import FrameworkKey, framework_labels, score_labels
from smartcity_analysis.reports.region import (
    accepted_changes,
    accepted_row_changes,
    compare_with_peers,
    index_cleaning_log,
    prepare_round,
    report_context,
    round_lookups,
    row_of,
)
from smartcity_analysis.reports.runner import STAGE_NOTEBOOKS, declared_parameters, execute_stage, select_parameters
from smartcity_analysis.reports.sections import REPORT_SECTIONS, render_sections
from smartcity_analysis.reports.tables import (
    processed_version,
    read_processed_tables,
    region_records,
    row_positions,
)
from smartcity_analysis.synthetic.processed import write_synthetic_processed


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The bundled sample round's processed folder, written by stages 01-04 (a fresh clone has none)."""
    folder = tmp_path_factory.mktemp("sample_processed")
    executed = tmp_path_factory.mktemp("sample_notebooks")
    pool = {"submissions_dir": str(paths.SAMPLE_SUBMISSIONS_DIR), "processed_dir": str(folder), "quota": 50,
            "assessment_year": 0, "n_jobs": 1}
    for name in STAGE_NOTEBOOKS:
        notebook = paths.NOTEBOOKS_DIR / name
        execute_stage(notebook, executed / name, select_parameters(pool, declared_parameters(notebook)))
    return folder


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speed_paths")
    codes = write_synthetic_processed(folder, n_regions=12, seed=5)
    return folder, codes


def _clear_caches():
    tables_module._read_tables.cache_clear()
    region_module._round_lookups.cache_clear()
    region_module._field_facts.cache_clear()
    labels_module._framework_labels.cache_clear()
    what_it_takes_module._derive_entries.cache_clear()


def _same_context(a, b):
    # A context holding NaN (a margin of an unselected region) is never == to another one, so compare what it
    # shows: its repr (NaN written as nan, numpy scalars with their types) and every rendered section.
    return repr(a) == repr(b) and render_sections(a, REPORT_SECTIONS) == render_sections(b, REPORT_SECTIONS)


# --- lookup helpers against the boolean-mask way ------------------------------------------------------------
CODES = pd.Series(["1101", "3273", "1101", None, "9471", "3273", "1101"], dtype="str")


def test_row_positions_select_what_a_boolean_mask_selects():
    table = pd.DataFrame({"region_code": CODES, "value": range(len(CODES))})
    positions = row_positions(table["region_code"])
    assert positions == {"1101": (0, 2, 6), "3273": (1, 5), "9471": (4,)}  # the missing code is in no group
    for code in ["1101", "3273", "9471", "5555"]:
        expected = table.loc[table["region_code"] == code]
        pd.testing.assert_frame_equal(table.iloc[list(positions.get(code, ()))], expected)


def test_row_of_by_positions_gives_the_first_row_and_the_same_error():
    table = pd.DataFrame({"region_code": CODES, "value": [1.5, 2, 3, 4, 5, 6, 7],
                          "flag": [True, False, True, True, False, False, True]})
    positions = row_positions(table["region_code"])
    for code in ["1101", "3273", "9471"]:
        pd.testing.assert_series_equal(row_of(table, code, "t", positions=positions), row_of(table, code, "t"))
    messages = []
    for kwargs in ({}, {"positions": positions}):
        with pytest.raises(ValueError, match="region_code 5555 is not in t.csv") as raised:
            row_of(table, "5555", "t", **kwargs)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_region_records_keep_the_order_of_filtering_then_a_stable_sort():
    table = pd.DataFrame({"region_code": CODES,
                          "indicator": ["b", "a", "a", "a", "c", None, "b"],
                          "value": [1.0, 2.0, math.nan, 4.0, 5.0, 6.0, 7.0]})
    records = region_records(table, "indicator")
    for code in ["1101", "3273", "9471", "5555"]:
        expected = region_module._rows_of(table, code, "indicator")
        assert repr([dict(r) for r in records.of(code)]) == repr(expected)
    assert [r["indicator"] for r in records.of("1101")] == ["a", "b", "b"]  # ties keep the table's order
    assert [r["value"] for r in records.of("1101")][1:] == [1.0, 7.0]
    assert [r["indicator"] for r in records.of("3273")][0] == "a"  # a missing indicator sorts last
    assert region_records(table, "source_file") is None  # no such column: the caller scans the table itself
    assert region_records(pd.DataFrame({"x": [1]}), "x") is None


def test_accepted_changes_are_the_rows_of_the_accepted_submission():
    log = pd.DataFrame({
        "source_file": ["a.csv", "a.csv", "b.csv", "a.csv", None, "a.csv"],
        "source_row": ["2", "2.0", "2", "3", "2", None],
        "region_code": ["1101", "1101", "1101", "3273", "1101", "1101"],
        "field": ["hdi", "population", "hdi", "hdi", "hdi", "hdi"],
    })
    index = index_cleaning_log(log)
    submissions = [pd.Series({"region_code": "1101", "source_file": "a.csv", "source_row": 2}),
                   pd.Series({"region_code": "1101", "source_file": "b.csv", "source_row": 2.0}),
                   pd.Series({"region_code": "3273", "source_file": "a.csv", "source_row": "3"}),
                   pd.Series({"region_code": "9471", "source_file": "c.csv", "source_row": 7}),
                   pd.Series({"region_code": "1101", "source_file": None, "source_row": None})]
    for submission in submissions:
        expected = accepted_row_changes(log, submission).to_dict("records")
        assert [dict(r) for r in accepted_changes(index, submission)] == expected
    assert len(accepted_changes(index, submissions[0])) == 2  # "2" and "2.0" are one row
    older = log.drop(columns=["source_file", "source_row"])  # an older log: matched by region code
    for submission in submissions:
        expected = accepted_row_changes(older, submission).to_dict("records")
        assert [dict(r) for r in accepted_changes(index_cleaning_log(older), submission)] == expected


@pytest.mark.parametrize("round_name", ["sample", "synthetic"])
def test_prepared_lookups_match_the_per_region_scans(round_name, request, processed, framework):
    folder = request.getfixturevalue("sample") if round_name == "sample" else processed[0]
    tables = read_processed_tables(folder)
    lookups = prepare_round(tables)
    profiles = tables["profiles"]
    for code in tables["scores"]["region_code"]:
        for name in ("submissions_clean", "scores", "ranking"):
            pd.testing.assert_series_equal(row_of(tables[name], code, name, positions=lookups.rows[name]),
                                           row_of(tables[name], code, name))
        for language in ("id", "en"):
            labels = score_labels(framework, tables["scores"].columns, language)
            if code in set(profiles["region_code"]):
                profile_id = row_of(profiles, code, "profiles")["profile_id"]
                peers = profiles.loc[profiles["profile_id"] == profile_id, "region_code"]
            else:
                peers = tables["scores"]["region_code"]
            context = report_context(folder, code, language, framework)
            assert (context.strengths, context.weaknesses) == compare_with_peers(tables["scores"], code, peers,
                                                                                 labels)


# --- caches: exact, keyed on the files, the framework and the language, and bounded -----------------------
def test_every_context_equals_one_computed_with_caches_cleared(processed, framework):
    folder, codes = processed
    warm = {(c, lang): report_context(folder, c, lang, framework) for c in codes for lang in ("id", "en")}
    for (code, language), context in warm.items():
        _clear_caches()
        assert _same_context(context, report_context(folder, code, language, framework)), (code, language)


def test_sample_contexts_equal_ones_computed_with_caches_cleared(sample, framework):
    tables = read_processed_tables(sample)
    with_paths = list(dict.fromkeys(tables["selection_paths"]["region_code"]))
    picked = with_paths[:3] + tables["ranking"]["region_code"].tolist()[:3]
    warm = {(c, lang): report_context(sample, c, lang, framework) for c in picked for lang in ("id", "en")}
    assert any(c.what_it_takes.paths for c in warm.values())  # the gap analysis is exercised
    for (code, language), context in warm.items():
        _clear_caches()
        assert _same_context(context, report_context(sample, code, language, framework)), (code, language)


def test_a_rewritten_processed_file_is_read_again(processed, tmp_path, framework):
    source, codes = processed
    folder = tmp_path / "processed"
    shutil.copytree(source, folder)
    before = report_context(folder, codes[0], "en", framework)
    old_lookups = round_lookups(processed_version(folder))
    scores = pd.read_csv(folder / "scores.csv", dtype={"region_code": str})
    scores["aspect_struktur"] = scores["aspect_struktur"] + 10.0
    scores.to_csv(folder / "scores.csv", index=False, lineterminator="\n")
    submissions = pd.read_csv(folder / "submissions_clean.csv", dtype={"region_code": str})
    submissions.loc[submissions["region_code"] == codes[0], "official_name"] = "Kota Berganti Nama"
    submissions.to_csv(folder / "submissions_clean.csv", index=False, lineterminator="\n")
    os.utime(folder / "scores.csv", ns=(1, 1))  # even with an older mtime, the new version is a new key
    after = report_context(folder, codes[0], "en", framework)
    assert round_lookups(processed_version(folder)) is not old_lookups
    assert after.region.name == "Kota Berganti Nama" != before.region.name
    position = after.chart.codes.index("aspect_struktur")
    assert after.chart.national[position] == pytest.approx(before.chart.national[position] + 10.0)
    assert after.chart.region[position] == pytest.approx(before.chart.region[position] + 10.0)
    _clear_caches()
    assert _same_context(after, report_context(folder, codes[0], "en", framework))


def test_round_lookups_hold_at_most_two_rounds(processed, tmp_path):
    source, codes = processed
    for k in range(3):
        shutil.copytree(source, tmp_path / f"round{k}")
        report_context(tmp_path / f"round{k}", codes[0], "id")
    assert region_module._round_lookups.cache_info().currsize <= 2
    assert tables_module._read_tables.cache_info().currsize <= 2


def test_languages_and_frameworks_do_not_share_labels(processed, framework):
    folder, codes = processed
    assert framework_labels(framework, "id") is framework_labels(framework, "id")
    assert framework_labels(framework, "id").indicators != framework_labels(framework, "en").indicators
    english = report_context(folder, codes[0], "en", framework)
    indonesian = report_context(folder, codes[0], "id", framework)
    assert english.chart.labels != indonesian.chart.labels
    aggregates = framework.aggregates.copy()
    aggregates.loc[aggregates["code"] == "aspect_struktur", "label_en"] = "Structure (renamed)"
    renamed = dataclasses.replace(framework, aggregates=aggregates)
    assert FrameworkKey(renamed) != FrameworkKey(framework) and FrameworkKey(framework) == FrameworkKey(framework)
    assert "Structure (renamed)" in report_context(folder, codes[0], "en", renamed).chart.labels
    assert "Structure (renamed)" not in report_context(folder, codes[0], "en", framework).chart.labels
    assert "Structure (renamed)" not in report_context(folder, codes[0], "id", renamed).chart.labels


def test_unknown_region_raises_as_before(processed):
    folder, _ = processed
    with pytest.raises(ValueError) as raised:
        report_context(folder, "9999", "id")
    assert str(raised.value) == ("region_code 9999 is not in submissions_clean.csv: it was not accepted in this "
                                 "round (see quarantine.csv), or the processed folder is from another round")
