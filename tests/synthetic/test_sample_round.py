"""Tests of the seeded sample-round generator (smartcity_analysis.synthetic)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import python_calamine
from openpyxl import load_workbook

from smartcity_analysis.paths import SAMPLE_SUBMISSIONS_DIR
from smartcity_analysis.synthetic.sample_round import SampleRound, generate_sample_round

REQUIRED_MESS = [
    "indonesian_number", "english_number", "excel_float", "money_shorthand", "money_prefix", "money_juta_slip",
    "percent_sign", "percent_bare", "percent_fraction", "excel_percent_cell", "boolean_word", "boolean_digit",
    "check_mark", "in_progress_word", "missing_marker", "code_dotted", "code_float", "papua_old_code",
    "bare_twin_with_code", "spelling_variant", "type_abbreviation", "name_only", "ambiguous_region",
    "region_conflict", "missing_region", "unknown_region", "resubmission", "out_of_range", "rule_break",
    "date_iso", "date_dayfirst", "date_month_name", "date_excel_cell", "pii_name", "pii_phone", "hostile_note",
]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def round_a(tmp_path_factory) -> SampleRound:
    return generate_sample_round(tmp_path_factory.mktemp("a") / "sample-2021", seed=2021)


@pytest.fixture(scope="module")
def tree_a(round_a) -> dict[str, bytes]:
    return _tree(round_a.out_dir.parent)


def _sheet_rows(path: Path) -> list[list[object]]:
    """Read the data sheet of a submission back raw, whatever its format (independently of the cleaner)."""
    if path.suffix in (".csv", ".txt"):
        encoding, separator = ("cp1252", ";") if path.suffix == ".csv" else ("utf-16", "\t")
        return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding)), delimiter=separator))
    if path.suffix in (".xls", ".ods"):
        with python_calamine.CalamineWorkbook.from_path(str(path)) as book:
            rows = book.get_sheet_by_name("Data").to_python(skip_empty_area=False)
        return [[None if v == "" else v for v in row] for row in rows]
    return [list(r) for r in load_workbook(path)["Data"].iter_rows(values_only=True)]


def _data_rows(path: Path) -> list[dict[str, object]]:
    """Read a submission file back raw: header cells stripped and lower-cased, values untouched."""
    rows = _sheet_rows(path)
    start = next(i for i, row in enumerate(rows)
                 if {str(c).strip().lower() for c in row} & {"region_code", "kode wilayah"})
    header = [str(h).strip().lower() for h in rows[start]]
    return [dict(zip(header, r, strict=True)) for r in rows[start + 1:]]


def _readable(round_: SampleRound) -> list[Path]:
    return [round_.out_dir / n for n in round_.files_written if n not in round_.files_rejected_expected]


def test_same_seed_gives_identical_bytes(tmp_path, tree_a):
    generate_sample_round(tmp_path / "sample-2021", seed=2021)
    assert _tree(tmp_path) == tree_a


def test_different_seed_gives_different_output(tmp_path, tree_a):
    other = generate_sample_round(tmp_path / "sample-2021", seed=7)
    assert _tree(tmp_path) != tree_a
    assert other.rows_written == 88 + 6 + 8


def test_committed_sample_equals_a_fresh_generation(tree_a):
    committed = SAMPLE_SUBMISSIONS_DIR.parent
    assert SAMPLE_SUBMISSIONS_DIR.is_dir(), "run `make sample` to generate the bundled sample round"
    fresh = {k: v for k, v in tree_a.items() if k.split("/")[0] in {"sample-2021", "broken-examples"}
             or k == "invitations-2021.csv"}
    stored = {k: v for k, v in _tree(committed).items() if k in fresh or k.startswith("sample-2021/")}
    assert stored == fresh


def test_invitations_participants_and_classes(round_a):
    invitations = round_a.invitations
    assert round_a.invited == len(invitations) == 150
    assert invitations["region_code"].is_unique
    assert invitations["province_name"].nunique() == 38
    assert round_a.submitted == invitations["assessment_class"].notna().sum() == 88
    assert invitations["assessment_class"].value_counts().to_dict() == {f"Kelas {c}": 22 for c in "ABCD"}
    written = pd.read_csv(round_a.invitations_file, dtype={"region_code": str})
    assert list(written.columns) == ["region_code", "official_name", "province_name", "invited",
                                     "assessment_class"]
    assert not any(p.suffix == ".csv" and "invitation" in p.name for p in round_a.out_dir.iterdir())


def test_accounting_is_predictable(round_a):
    assert round_a.rows_accepted_expected == 88
    assert dict(round_a.quarantine_expected) == {"ambiguous_region": 2, "region_conflict": 2,
                                                 "missing_region": 2, "unknown_region": 2}
    assert round_a.superseded_expected == 6
    assert round_a.rows_written == 88 + 6 + 8
    assert sum(len(_data_rows(p)) for p in _readable(round_a)) == round_a.rows_written
    assert len(round_a.truth) == 88 and round_a.truth["region_code"].is_unique


def test_every_planted_mess_is_counted_several_times(round_a):
    missing = [m for m in REQUIRED_MESS if round_a.mess_counts.get(m, 0) < 1]
    assert not missing
    rare = {"bare_twin_with_code", "spelling_variant", "name_only", "papua_old_code"}
    assert all(round_a.mess_counts[m] >= 2 for m in REQUIRED_MESS if m not in rare | {"renamed_region"})


def test_files_look_like_real_submissions(round_a):
    xlsx = [p for p in _readable(round_a) if p.suffix == ".xlsx"]
    csvs = [p for p in _readable(round_a) if p.suffix == ".csv"]
    assert xlsx and csvs
    for path in xlsx:
        assert load_workbook(path).sheetnames == ["Petunjuk", "Data"]
    raw = b"".join(p.read_bytes() for p in csvs)
    assert b";" in raw and b"\r\n" in raw and "km²".encode("cp1252") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    cells = [v for p in _readable(round_a) for row in _data_rows(p) for v in row.values()]
    texts = [v for v in cells if isinstance(v, str)]
    assert any(t.startswith(("Rp", "IDR")) for t in texts)
    assert any(isinstance(v, dt.datetime) for v in cells)
    assert "<script>alert(1)</script>" in texts and "=1+1" in texts
    assert any("keterangan tambahan" in _data_rows(p)[0] for p in csvs)  # an unknown extra column


def test_identity_mess_is_in_the_raw_files(round_a):
    rows = [r for p in _readable(round_a) for r in _data_rows(p)]

    def code(r):
        return r.get("region_code", r.get("kode wilayah"))

    def name(r):
        return r.get("region_name", r.get("nama kabupaten/kota"))

    codes = {str(code(r)) for r in rows}
    assert codes & {"9101", "91.09", "9102", "9271.0"}  # pre-2022 Papua codes
    assert any(name(r) == "Bandung" and code(r) in (None, "") for r in rows)  # ambiguous, no code
    names = {str(name(r)) for r in rows}
    assert {"Kota Tanjungpinang", "Baubau", "Kabupaten Fakfak", "Kabupaten Toba Samosir"} <= names


def test_some_files_come_in_the_other_formats_regions_send(round_a):
    by_suffix = {}
    for path in _readable(round_a):
        by_suffix.setdefault(path.suffix, []).append(path)
    assert {".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"} <= set(by_suffix)
    (xls,) = by_suffix[".xls"]
    assert xls.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # a real Excel 97-2003 (OLE2) file
    (ods,) = by_suffix[".ods"]
    with zipfile.ZipFile(ods) as archive:
        assert archive.namelist()[0] == "mimetype"
        assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    (xlsm,) = by_suffix[".xlsm"]
    with zipfile.ZipFile(xlsm) as archive:
        assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in archive.read("[Content_Types].xml")
    (txt,) = by_suffix[".txt"]
    assert txt.read_bytes()[:2] == b"\xff\xfe" and "\t" in txt.read_bytes().decode("utf-16")
    assert round_a.mess_counts["form_titled"] == 1
    titled = [p for p in by_suffix[".xlsx"] if _sheet_rows(p)[0][0] and str(_sheet_rows(p)[0][0]).startswith(
        "FORMULIR")]
    assert len(titled) == 1
    sheet = load_workbook(titled[0])["Data"]
    assert sheet.merged_cells.ranges and all(v is None for v in next(sheet.iter_rows(min_row=2, values_only=True)))


def test_regeneration_removes_stale_files_of_every_format(tmp_path):
    out = tmp_path / "sample-2021"
    out.mkdir()
    stale = [out / f"stale{suffix}" for suffix in (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt")]
    for path in stale:
        path.write_bytes(b"old")
    (out / "keep.pdf").write_bytes(b"not a submission format: left alone")
    generate_sample_round(out, seed=2021)
    assert not any(p.exists() for p in stale)
    assert (out / "keep.pdf").exists()


def test_rejected_file_is_unreadable_and_broken_examples_exist(round_a):
    (rejected,) = round_a.files_rejected_expected
    with pytest.raises(zipfile.BadZipFile):
        load_workbook(round_a.out_dir / rejected)
    assert (round_a.broken_dir / "kosong.csv").read_bytes() == b""
    with pytest.raises(zipfile.BadZipFile):
        load_workbook(round_a.broken_dir / "bukan_excel.xlsx")


def test_workbook_timestamps_are_fixed(round_a):
    path = next(p for p in _readable(round_a) if p.suffix == ".xlsx")
    with zipfile.ZipFile(path) as archive:
        assert {i.date_time[0] for i in archive.infolist()} == {2021}
        assert b"2021-11-" in archive.read("docProps/core.xml")


def test_values_follow_the_drivers(round_a):
    truth = round_a.truth
    for column in ("hdi", "households_internet_pct", "spbe_index"):
        assert truth["readiness"].corr(truth[column].astype(float), method="spearman") > 0.5
    by_type = truth.groupby("region_type")["hdi"].mean()
    assert by_type["Kota"] > by_type["Kabupaten"]
    likert = ["leadership_score", "governance_score", "infrastructure_score", "regulation_score"]
    by_class = truth.groupby("assessment_class")[likert].mean().astype(float).mean(axis=1)
    assert by_class["Kelas C"] == by_class.max()
