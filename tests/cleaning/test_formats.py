"""Every format a regional office sends is read, with the same rows and values whatever the format."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pandas as pd
import pytest
import xlwt

from smartcity_analysis.cleaning.readers import (
    HEADER_SEARCH_ROWS,
    decode_csv_bytes,
    read_submission_file,
    read_submissions,
)
from smartcity_analysis.cleaning.stage import run_cleaning
from tests.spreadsheets import FORMATS
from tests.spreadsheets import ods as _ods
from tests.spreadsheets import text as _text
from tests.spreadsheets import xls as _xls
from tests.spreadsheets import xlsx as _xlsx

HEADER = ["Kode Wilayah", "Nama Kabupaten/Kota", "Tahun Asesmen", "IPM", "Catatan"]
ROWS = [["3273", "Kota Bandung", "2021", "81,5", "Sudah lengkap"],
        ["3204", "Kab. Bandung", "2021", "72,45", "Data per Desember 2020 – résumé"]]


def _as_text(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(v) for v in row] for row in frame.drop(columns="source_row").to_numpy().tolist()]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_gives_the_same_rows(tmp_path, framework, name):
    path = tmp_path / name
    path.write_bytes(FORMATS[name]([HEADER, *ROWS]))
    (sheet,) = read_submission_file(path, framework)
    assert sheet.header_row == 1
    assert sheet.rows["source_row"].tolist() == [2, 3]
    assert _as_text(sheet.rows) == [[r[0], r[1], r[2], r[3], r[4]] for r in ROWS]


@pytest.mark.parametrize("name", ["a.xlsx", "a.xls", "a.ods", "cp1252.csv", "unicode_text.txt"])
def test_a_title_and_blank_lines_above_the_header_are_skipped(tmp_path, framework, name):
    title = [["FORMULIR KESIAPAN SMART CITY 2021"] + [None] * 4, [None] * 5, ["Diisi oleh Diskominfo"] + [None] * 4]
    table = [[("" if v is None else v) for v in row] for row in title] if name.endswith((".csv", ".txt")) else title
    path = tmp_path / name
    path.write_bytes(FORMATS[name]([*table, HEADER, *ROWS]))
    (sheet,) = read_submission_file(path, framework)
    assert sheet.header_row == 4
    assert sheet.rows["source_row"].tolist() == [5, 6]  # the rows the spreadsheet shows
    assert _as_text(sheet.rows)[0][:2] == ["3273", "Kota Bandung"]


def test_a_merged_title_cell_above_the_header_is_skipped(tmp_path, framework):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "KUESIONER GERAKAN MENUJU 100 SMART CITY"
    sheet.merge_cells("A1:E2")
    for r, row in enumerate([HEADER, *ROWS], start=3):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=value)
    path = tmp_path / "merged.xlsx"
    book.save(path)
    (read,) = read_submission_file(path, framework)
    assert (read.header_row, read.rows["source_row"].tolist()) == (3, [4, 5])


def test_a_header_below_the_search_window_is_reported(tmp_path, framework):
    path = tmp_path / "deep.csv"
    path.write_bytes(_text([["judul"]] * HEADER_SEARCH_ROWS + [HEADER, *ROWS], ";").encode("utf-8"))
    with pytest.raises(Exception, match=f"first {HEADER_SEARCH_ROWS} rows"):
        read_submission_file(path, framework)


def test_workbooks_are_read_by_content_not_by_name(tmp_path, framework):
    (tmp_path / "really_xlsx.xls").write_bytes(_xlsx([HEADER, *ROWS]))
    (tmp_path / "really_xls.xlsx").write_bytes(_xls([HEADER, *ROWS]))
    (tmp_path / "really_xlsx.csv").write_bytes(_xlsx([HEADER, *ROWS]))
    batch = read_submissions(tmp_path, framework)
    assert [(f["name"], f["rows"]) for f in batch.files_read] == [
        ("really_xls.xlsx", 2), ("really_xlsx.csv", 2), ("really_xlsx.xls", 2)]
    assert not batch.files_rejected


def test_a_nul_character_is_removed_and_logged_not_fatal(tmp_path, framework):
    rows = [HEADER, ["3273", "Kota\x00 Bandung", "2021", "81,5", "ok\u200b"]]
    (tmp_path / "nul.csv").write_bytes(_text(rows, ";").encode("utf-8"))
    result = run_cleaning(tmp_path, tmp_path / "out", framework)
    assert result.summary["rows_accepted"] == 1 and not result.summary["files_rejected"]
    assert result.clean.loc[0, "region_name"] == "Kota Bandung"
    removed = result.log[result.log["rule"] == "control_characters_removed"]
    assert removed["field"].tolist() == ["region_name", "notes"]
    assert removed["original_value"].tolist() == ["Kota\\x00 Bandung", "ok\\u200b"]
    detail = removed["detail"].iloc[0]
    assert "nul.csv row 2" in detail and "Nama Kabupaten/Kota" in detail and "\\x00" in detail


def test_binary_content_under_a_text_name_is_rejected_with_a_reason(tmp_path, framework):
    (tmp_path / "image.csv").write_bytes(bytes(range(256)) * 20)
    batch = read_submissions(tmp_path, framework)
    assert batch.files_rejected == [{"name": "image.csv", "reason": batch.files_rejected[0]["reason"]}]
    assert "binary" in batch.files_rejected[0]["reason"]


def test_a_password_protected_workbook_is_named_as_such(tmp_path, framework):
    # An encrypted Office file is an OLE2 container holding an "EncryptedPackage" stream.
    ole = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64
    (tmp_path / "terkunci.xlsx").write_bytes(ole)
    (reason,) = [f["reason"] for f in read_submissions(tmp_path, framework).files_rejected]
    assert "password-protected" in reason and "remove the password" in reason


def test_everything_in_the_folder_is_read_rejected_or_skipped_with_a_reason(tmp_path, framework):
    (tmp_path / "good.csv").write_bytes(_text([HEADER, *ROWS], ";").encode("utf-8"))
    (tmp_path / "x.xlsx").mkdir()  # a folder with a workbook's name
    (tmp_path / "~$good.xlsx").write_bytes(b"\x06Diskominfo" + b"\x00" * 40)  # Excel's lock file
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "surat_pengantar.pdf").write_bytes(b"%PDF-1.4\n")
    result = run_cleaning(tmp_path, tmp_path.parent / "out_everything", framework)
    summary = json.loads((tmp_path.parent / "out_everything" / "cleaning_summary.json").read_text())
    listed = ([f["name"] for f in summary["files_read"]] + [f["name"] for f in summary["files_rejected"]]
              + [f["name"] for f in summary["files_skipped"]])
    assert sorted(listed) == sorted(p.name for p in tmp_path.iterdir())
    skipped = {f["name"]: f["reason"] for f in summary["files_skipped"]}
    assert "a folder" in skipped["x.xlsx"] and "lock file" in skipped["~$good.xlsx"]
    assert "hidden" in skipped[".DS_Store"]
    assert "not a spreadsheet (.pdf)" in summary["files_rejected"][0]["reason"]
    assert result.summary["rows_accepted"] == 2


def test_decode_recognises_utf16_with_and_without_a_mark():
    text = "Kode Wilayah\tIPM\r\n3273\t81,5\r\n"
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        assert decode_csv_bytes(text.encode(encoding)) == text


def test_xls_and_ods_give_numbers_and_dates_as_openpyxl_does(tmp_path, framework):
    when = dt.datetime(2021, 11, 8, 10, 30)
    header = ["Kode Wilayah", "Tahun Asesmen", "IPM", "Tanggal Pengisian", "Punya Command Center"]
    for name in ("typed.xls", "typed.ods"):
        rows = [header, [3273, 2021, 81.5, when, True]]
        if name.endswith(".xls"):
            book = xlwt.Workbook()
            sheet = book.add_sheet("Data")
            for c, value in enumerate(rows[0]):
                sheet.write(0, c, value)
            for c, value in enumerate(rows[1]):
                style = xlwt.easyxf(num_format_str="dd/mm/yyyy hh:mm") if isinstance(value, dt.datetime) else None
                sheet.write(1, c, value, style) if style else sheet.write(1, c, value)
            buffer = io.BytesIO()
            book.save(buffer)
            payload = buffer.getvalue()
        else:
            payload = _ods(rows)
        (tmp_path / name).write_bytes(payload)
        (sheet_read,) = read_submission_file(tmp_path / name, framework)
        row = sheet_read.rows.iloc[0]
        assert (row["region_code"], row["assessment_year"], row["hdi"], row["submitted_at"]) == (
            3273, 2021, 81.5, when)
        assert type(row["region_code"]) is int
