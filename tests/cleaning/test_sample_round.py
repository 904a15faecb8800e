"""End to end: the cleaning stage on the bundled sample round."""

import json
import re

import pandas as pd
import pytest

from smartcity_analysis.cleaning.stage import run_cleaning
from smartcity_analysis.paths import NOTEBOOKS_DIR, SAMPLE_SUBMISSIONS_DIR
from tests.raw_files import personal_values


def _raw_personal_values():
    """Read every respondent name and phone straight from the raw files (every format), bypassing the package."""
    return personal_values(SAMPLE_SUBMISSIONS_DIR)


@pytest.fixture(scope="module")
def personal():
    values = _raw_personal_values()
    assert len(values) >= 88, "the sample round should carry a respondent on every row"
    return values


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    run_cleaning(SAMPLE_SUBMISSIONS_DIR, folder)
    return folder


def test_every_row_is_accounted_for(processed):
    summary = json.loads((processed / "cleaning_summary.json").read_text())
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_superseded"] + summary["rows_quarantined"]
    clean = pd.read_csv(processed / "submissions_clean.csv", dtype={"region_code": str})
    quarantine = pd.read_csv(processed / "quarantine.csv")
    superseded = pd.read_csv(processed / "superseded.csv")
    assert (len(clean), len(superseded), len(quarantine)) == (
        summary["rows_accepted"], summary["rows_superseded"], summary["rows_quarantined"])
    # the sample round's design (docs/sample_round.md): 88 regions, 6 resubmissions, 8 junk rows, 1 corrupt file
    assert (summary["rows_read"], len(clean), len(superseded), len(quarantine)) == (102, 88, 6, 8)
    assert clean["region_code"].is_unique and clean["region_code"].str.fullmatch(r"\d{4}").all()
    assert [f["name"] for f in summary["files_rejected"]] == ["kota_subulussalam_rusak.xlsx"]
    # each (file, row) ends in exactly one place
    places = pd.concat([clean[["source_file", "source_row"]], quarantine[["source_file", "source_row"]],
                        superseded[["source_file", "source_row"]]])
    assert not places.duplicated().any() and len(places) == summary["rows_read"]


def test_the_round_folder_is_read_in_full_in_every_format(processed):
    summary = json.loads((processed / "cleaning_summary.json").read_text(encoding="utf-8"))
    on_disk = sorted(p.name for p in SAMPLE_SUBMISSIONS_DIR.iterdir())
    read = {f["name"] for f in summary["files_read"]}
    rejected = {f["name"] for f in summary["files_rejected"]}
    assert rejected == {"kota_subulussalam_rusak.xlsx"}  # the one truncated workbook, on purpose
    assert read | rejected == set(on_disk) and not summary["files_skipped"]
    assert {p.rsplit(".", 1)[-1] for p in read} == {"xlsx", "xlsm", "xls", "ods", "csv", "txt"}
    titled = [f for f in summary["files_read"] if f["header_row"] != 1]
    assert [(f["sheet"], f["header_row"], f["rows"]) for f in titled] == [("Data", 3, 1)]


def test_quarantine_reasons_are_the_documented_codes(processed):
    quarantine = pd.read_csv(processed / "quarantine.csv")
    assert quarantine["reason_code"].value_counts().to_dict() == {
        "ambiguous_region": 2, "region_conflict": 2, "missing_region": 2, "unknown_region": 2}
    assert quarantine["detail"].str.contains(r"row \d+").all()


def test_no_personal_data_leaves_raw(processed, personal):
    digits = {re.sub(r"\D", "", v) for v in personal if re.sub(r"\D", "", v).isdigit()}
    for path in processed.iterdir():
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).to_csv()
        else:
            text = path.read_text(encoding="utf-8")
        for value in personal:
            assert value not in text, f"respondent data {value!r} found in {path.name}"
        for number in (d for d in digits if len(d) >= 9):  # phones typed with spaces or dashes, as digits
            assert number not in text, f"respondent phone {number} found in {path.name}"


def test_no_personal_data_in_the_committed_notebooks(personal):
    for path in sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        leaked = sorted(v for v in personal if v in text)
        assert not leaked, f"respondent data {leaked[:3]} found in {path.name}"
