"""End to end: the cleaning stage on the bundled sample round."""

import json
import re

import openpyxl
import pandas as pd
import pytest

from smartcity_analysis.cleaning.readers import normalise_header
from smartcity_analysis.cleaning.stage import run_cleaning
from smartcity_analysis.paths import NOTEBOOKS_DIR, SAMPLE_SUBMISSIONS_DIR

PII_HEADERS = {"respondent_name", "respondent_phone", "nama pengisi", "no. hp pengisi"}


def _raw_personal_values():
    """Read every respondent name and phone straight from the raw files, bypassing the package's reader."""
    values = set()
    for path in sorted(SAMPLE_SUBMISSIONS_DIR.iterdir()):
        if path.suffix == ".csv":
            table = pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
            tables = [table]
        else:
            try:
                workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
            except Exception:  # the bundled round holds one corrupt workbook on purpose
                continue
            tables = []
            for sheet in workbook.worksheets:
                rows = list(sheet.iter_rows(values_only=True))
                if rows:
                    tables.append(pd.DataFrame(rows[1:], columns=[str(c) for c in rows[0]]).astype(str))
        for table in tables:
            for column in table.columns:
                if normalise_header(column) in PII_HEADERS:
                    values |= {v.strip() for v in table[column] if v and v.strip() not in ("", "None")}
    return values


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
