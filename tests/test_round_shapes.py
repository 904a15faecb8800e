"""Every round runs end to end: rounds of other shapes than the bundled sample, through the whole `smartcity run`.

Each shape departs from a plain round in one way (see `smartcity_analysis.synthetic.rounds.shape_matrix`). For each,
the run must exit 0, render a report for every accepted region, the index page and the round summary, and record in
`run_notes.csv` what it skipped or did differently (and show it to the reader).
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from smartcity_analysis.notes import read_notes
from smartcity_analysis.synthetic.rounds import shape_matrix, write_round

SHAPES = {shape.name: shape for shape in shape_matrix()}
QUOTA = 5

# What each shape must leave in run_notes.csv: (stage, analysis, action, reason_code); region-level notes are
# checked by the tests below.
EXPECTED_NOTES = {
    "one_region": {("02_readiness_index", "view:aspects", "skipped", "no_variation"),
                   ("03_readiness_profiles", "profiles", "skipped", "too_few_regions"),
                   ("04_rank_and_select", "monte_carlo", "skipped", "no_index"),
                   ("04_rank_and_select", "selection", "restricted", "no_eligible_region"),
                   ("04_rank_and_select", "panel_effect", "skipped", "no_assessor_scores")},
    "two_regions": {("02_readiness_index", "outlier_treatment", "skipped", "too_few_regions"),
                    ("03_readiness_profiles", "profiles", "skipped", "too_few_regions"),
                    ("04_rank_and_select", "selection", "restricted", "quota_not_binding"),
                    ("04_rank_and_select", "panel_effect", "skipped", "too_few_classes")},
    "five_regions": {("03_readiness_profiles", "profiles", "skipped", "too_few_regions"),
                     ("04_rank_and_select", "selection", "restricted", "quota_not_binding"),
                     ("04_rank_and_select", "panel_effect", "skipped", "too_few_classes")},
    "one_class": {("04_rank_and_select", "panel_effect", "skipped", "too_few_classes")},
    "no_assessor_scores": {("02_readiness_index", "indicator:leadership_score", "left_out", "no_data"),
                           ("02_readiness_index", "indicator:dim_governance", "left_out", "no_data"),
                           ("02_readiness_index", "aggregate:dimension_environment", "left_out", "no_child"),
                           ("04_rank_and_select", "panel_effect", "skipped", "no_assessor_scores")},
    "no_population_or_area": {("01_clean_submissions", "denominator:population", "substituted",
                               "reference_denominator"),
                              ("01_clean_submissions", "denominator:area_km2", "substituted",
                               "reference_denominator")},
    "columns_missing": {("01_clean_submissions", "denominator:population", "substituted", "reference_denominator"),
                        ("02_readiness_index", "indicator:spbe_index", "left_out", "no_data")},
    "constant_columns": {("02_readiness_index", "indicator:has_data_center", "left_out", "no_variation"),
                         ("02_readiness_index", "indicator:spbe_index", "left_out", "no_variation")},
    "several_years": {("01_clean_submissions", "assessment_year", "restricted", "other_years_present")},
    "half_quarantined": set(),
    "english_headers": set(),
    "only_kota": set(),
    "blank_region": {("02_readiness_index", "index", "skipped", "no_indicator_data")},
    "small_classes": {("04_rank_and_select", "panel_effect", "skipped", "too_few_classes")},
}


def _run(tmp: Path, name: str, quiet: bool = True) -> tuple[subprocess.CompletedProcess, Path, Path]:
    written = write_round(tmp / "submissions", SHAPES[name])
    processed, reports = tmp / "processed", tmp / "reports"
    command = [str(Path(sys.executable).parent / "smartcity"), "run", "--submissions", str(written.folder),
               "--processed", str(processed), "--reports", str(reports), "--quota", str(QUOTA), "--workers", "1"]
    completed = subprocess.run([*command, *(["--quiet"] if quiet else [])], capture_output=True, text=True,
                               timeout=600)
    return completed, processed, reports


@pytest.fixture(scope="module", params=sorted(SHAPES))
def shape_run(request, tmp_path_factory):
    name = request.param
    completed, processed, reports = _run(tmp_path_factory.mktemp(name), name)
    return name, completed, processed, reports


def test_the_matrix_covers_every_listed_shape():
    assert set(EXPECTED_NOTES) == set(SHAPES)
    assert {"one_region", "two_regions", "five_regions", "one_class", "no_assessor_scores", "no_population_or_area",
            "constant_columns", "several_years", "half_quarantined", "english_headers"} <= set(SHAPES)


def test_the_whole_job_completes(shape_run):
    name, completed, processed, reports = shape_run
    assert completed.returncode == 0, f"{name}: {completed.stderr[-2000:]}"
    assert completed.stdout == "", "--quiet prints nothing on stdout"
    assert "Kernel is running over TCP" not in completed.stderr
    accepted = pd.read_csv(processed / "submissions_clean.csv", dtype={"region_code": str})["region_code"]
    assert len(accepted) >= 1
    for code in accepted:
        assert (reports / "html" / f"{code}.html").is_file(), f"{name}: no report for {code}"
    for page in ("index.html", "html/06_round_summary.html", "html/04_rank_and_select.html"):
        assert (reports / page).is_file(), f"{name}: {page} missing"
    manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["failures"] == []


def test_the_run_records_what_it_degraded(shape_run):
    name, _, processed, _ = shape_run
    notes = read_notes(processed)
    found = set(notes[["stage", "analysis", "action", "reason_code"]].itertuples(index=False, name=None))
    missing = EXPECTED_NOTES[name] - found
    assert not missing, f"{name}: expected notes {missing}; found {sorted(found)}"
    assert (notes["message_id"] != "").all() and (notes["message_en"] != "").all()
    assert not (notes["action"] == "failed").any(), notes[notes["action"] == "failed"].to_dict("records")


def test_the_reader_sees_the_notes(shape_run):
    name, _, processed, reports = shape_run
    notes = read_notes(processed)
    summary = (reports / "html" / "06_round_summary.html").read_text(encoding="utf-8")
    index = (reports / "index.html").read_text(encoding="utf-8")
    for message in notes["message_id"]:
        shown = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
        assert shown[:60] in summary.replace("&#39;", "'"), f"{name}: the summary lacks a note: {message}"
    if len(notes):
        assert "Catatan putaran" in summary and "Catatan putaran" in index
    for row in notes[notes["region_code"] != ""].itertuples():
        page = (reports / "html" / f"{row.region_code}.html").read_text(encoding="utf-8")
        assert "Catatan pengolahan data" in page, f"{name}: report {row.region_code} lacks its notes"


def test_rows_are_accounted_for(shape_run):
    name, _, processed, _ = shape_run
    summary = json.loads((processed / "cleaning_summary.json").read_text(encoding="utf-8"))
    assert summary["rows_read"] == (summary["rows_accepted"] + summary["rows_superseded"]
                                    + summary["rows_quarantined"] + summary["rows_other_year"])
    shape = SHAPES[name]
    assert summary["rows_quarantined"] == shape.junk_rows
    if len(shape.years) > 1:
        other = pd.read_csv(processed / "other_years.csv", dtype={"region_code": str})
        assert summary["assessment_year"]["year"] == max(shape.years)
        assert set(other["assessment_year"]) == set(shape.years) - {max(shape.years)}
        assert len(other) == summary["rows_other_year"] > 0


def test_a_region_without_a_figure_gets_the_reference_one(tmp_path):
    completed, processed, reports = _run(tmp_path, "no_population_or_area")
    assert completed.returncode == 0
    clean = pd.read_csv(processed / "submissions_clean.csv", dtype={"region_code": str})
    reference = pd.read_csv(Path(__file__).parents[1] / "data" / "raw" / "reference" / "regions.csv",
                            dtype={"region_code": str}).set_index("region_code")
    assert (clean["population"].to_numpy() == reference.loc[clean["region_code"], "population"].to_numpy()).all()
    log = pd.read_csv(processed / "cleaning_log.csv", dtype={"region_code": str})
    substituted = log[log["rule"] == "reference_denominator"]
    assert len(substituted) == 2 * len(clean)
    assert substituted["detail"].str.contains("data/raw/reference/regions.csv").all()
    code = clean["region_code"].iloc[0]
    page = (reports / "html" / f"{code}.html").read_text(encoding="utf-8")
    assert "diambil dari tabel rujukan BPS" in page


def test_without_quiet_the_run_shows_its_stages(tmp_path):
    completed, _, _ = _run(tmp_path, "five_regions", quiet=False)
    assert completed.returncode == 0
    assert "stages: 100%" in completed.stderr and "region reports: 100%" in completed.stderr
    assert "Kernel is running over TCP" not in completed.stderr
    assert "5 region report(s)" in completed.stdout
