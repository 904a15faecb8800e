import datetime as dt

import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from smartcity_analysis.cleaning.readers import (
    UnreadableFileError,
    decode_csv_bytes,
    decode_marking_strays,
    header_lookup,
    match_header,
    normalise_header,
    read_submission_file,
    read_submissions,
    stray_lines,
    stray_note,
)


@pytest.fixture(scope="module")
def lookup(framework):
    return header_lookup(framework)


@pytest.mark.parametrize(("cell", "key"), [
    ("  Kode   Wilayah ", "kode wilayah"), ("REGION_CODE", "region_code"), (None, ""), (2021, "2021"),
])
def test_normalise_header(cell, key):
    assert normalise_header(cell) == key


@pytest.mark.parametrize(("header", "fields", "unknown"), [
    (["region_code", "region_name", "hdi"], ["region_code", "region_name", "hdi"], []),
    (["  KODE wilayah", "nama  kabupaten/kota ", "ipm "], ["region_code", "region_name", "hdi"], []),
    (["Kode Wilayah", "Region code (Kemendagri)", "IPM"], ["region_code", "hdi"], ["Region code (Kemendagri)"]),
    (["Kode Wilayah", "Kolom Aneh", None, "IPM"], ["region_code", "hdi"], ["Kolom Aneh"]),
])
def test_match_header(header, fields, unknown, lookup):
    match = match_header(header, lookup)
    assert list(match.columns.values()) == fields
    assert match.unknown == unknown


@pytest.mark.parametrize(("header", "matches"), [
    (["Kode Wilayah", "Tahun Asesmen", "IPM"], True),
    (["Nama Kabupaten/Kota", "Tahun Asesmen", "IPM"], True),
    (["Tahun Asesmen", "IPM", "PAD (Rp)"], False),  # no identity column
    (["Kode Wilayah", "IPM"], False),  # too few
    (["Petunjuk pengisian"], False),
])
def test_sheet_matches_template(header, matches, lookup):
    assert match_header(header, lookup).matches_template() is matches


def test_decode_csv_bytes_order():
    assert decode_csv_bytes("\ufeffKode;Révisi".encode()) == "Kode;Révisi"
    assert decode_csv_bytes("Kode;Révisi".encode("cp1252")) == "Kode;Révisi"


@pytest.mark.parametrize(("payload", "text"), [
    ("km²;caf".encode() + b"\xe9", "km²;café"),  # UTF-8 stays UTF-8; only the stray byte is Windows-1252
    (b"\xef\xbb\xbfKode;caf\xe9", "Kode;café"),  # a byte-order mark says UTF-8 even with no other accent
    (b"R\xe9visi \x80 5", "Révisi € 5"),  # no UTF-8 character at all: a Windows-1252 file
    ("é".encode() + b"\x81", "é\x81"),  # a byte Windows-1252 leaves undefined is Latin-1 (removed later, logged)
])
def test_decode_keeps_utf8_and_reads_only_stray_bytes_as_windows_1252(payload, text):
    assert decode_csv_bytes(payload) == text


def test_stray_lines_are_counted_as_an_editor_counts_them():
    marked = decode_marking_strays("a\r\nb\rc\nd é".encode() + b" \xe9\xe8 \r\n\xe0")
    assert stray_lines(marked) == [4, 5]
    assert stray_note(marked).startswith("lines 4, 5: ") and "(éèà)" in stray_note(marked)
    assert stray_note(decode_marking_strays("é".encode())) is None


def write_csv(path, text, encoding):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(("separator", "encoding"), [(";", "cp1252"), (",", "utf-8-sig"), (";", "utf-8")])
def test_read_csv_any_separator_and_encoding(tmp_path, framework, separator, encoding):
    lines = [["Kode Wilayah", "Nama Kabupaten/Kota", "IPM", "Catatan", "Nama Pengisi"],
             ["3273", "Kota Bandung", "72,45", "Révisi ke-2", "Budi"],
             ["", "", "", "", ""],
             ["32.04", "Kab. Bandung", "70", "", "Siti"]]
    quote = '"{}"'.format
    text = "\r\n".join(separator.join(quote(c) if separator in c else c for c in row) for row in lines)
    path = write_csv(tmp_path / "a.csv", text + "\r\n", encoding)
    (sheet,) = read_submission_file(path, framework)
    assert sheet.sheet is None
    expected = pd.DataFrame({"source_row": [2, 4], "region_code": ["3273", "32.04"],
                             "region_name": ["Kota Bandung", "Kab. Bandung"], "hdi": ["72,45", "70"],
                             "notes": ["Révisi ke-2", ""]}, dtype=object)
    assert_frame_equal(sheet.rows, expected)  # read as text; pii column dropped; blank row 3 skipped


def test_xlsx_instructions_sheet_first(tmp_path, framework):
    book = openpyxl.Workbook()
    book.active.title = "Petunjuk"
    book.active.append(["Petunjuk pengisian: isi sheet Data"])
    data = book.create_sheet("Data")
    data.append(["Kode Wilayah", "Nama Kabupaten/Kota", "Tanggal Pengisian", "IPM", "OPD Terhubung Jaringan Intra (%)",
                 "Nama Pengisi", "Extra"])
    data.append([3273, "Kota Bandung", dt.datetime(2021, 11, 3), 72.45, 0.82, "Budi", "x"])
    data["E2"].number_format = "0%"
    path = tmp_path / "w.xlsx"
    book.save(path)
    (sheet,) = read_submission_file(path, framework)
    assert sheet.sheet == "Data"
    assert sheet.unknown_columns == ["Extra"]
    row = sheet.rows.iloc[0]
    assert row["region_code"] == 3273 and row["hdi"] == 72.45
    assert row["submitted_at"] == dt.datetime(2021, 11, 3)
    assert row["opd_connected_pct"] == "82%"  # a percent-formatted cell is what the person saw
    assert "respondent_name" not in sheet.rows


def test_xlsx_formula_text_is_kept_for_notes(tmp_path, framework):
    book = openpyxl.Workbook()
    book.active.append(["Kode Wilayah", "Nama Kabupaten/Kota", "IPM", "Catatan"])
    book.active.append(["3273", "Kota Bandung", "72", "=1+1"])
    path = tmp_path / "f.xlsx"
    book.save(path)
    (sheet,) = read_submission_file(path, framework)
    assert sheet.rows.iloc[0]["notes"] == "=1+1"


@pytest.mark.parametrize(("name", "payload", "reason"), [
    ("empty.csv", b"", "empty"),
    ("empty.xlsx", b"", "empty"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "not a readable Excel workbook"),
    ("notes.pdf", b"%PDF-1.4", "not a spreadsheet"),
    ("notes.txt", b"hello", "no sheet has the template's header"),
    ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
    ("other.csv", b"a;b;c\n1;2;3\n", "no sheet has the template's header"),
])
def test_unreadable_files(tmp_path, framework, name, payload, reason):
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(UnreadableFileError, match=reason):
        read_submission_file(path, framework)


def test_read_submissions_keeps_going_after_rejections(tmp_path, framework):
    write_csv(tmp_path / "b.csv", "Kode Wilayah;Nama Kabupaten/Kota;IPM;Aneh\n3273;Kota Bandung;72\n", "cp1252")
    (tmp_path / "a_corrupt.xlsx").write_bytes(b"garbage")
    (tmp_path / "c_empty.csv").write_bytes(b"")
    (tmp_path / ".hidden.csv").write_bytes(b"ignored")
    (tmp_path / "sub").mkdir()
    write_csv(tmp_path / "sub" / "d.csv", "Kode Wilayah;Nama Kabupaten/Kota;IPM\n3204;Kab. Bandung;70\n", "utf-8")
    batch = read_submissions(tmp_path, framework)
    assert batch.files_read == [{"name": "b.csv", "sheet": None, "header_row": 1, "rows": 1}]
    assert [f["name"] for f in batch.files_rejected] == ["a_corrupt.xlsx", "c_empty.csv"]
    assert [f["name"] for f in batch.files_skipped] == [".hidden.csv", "sub"]
    assert batch.unknown_columns == [{"file": "b.csv", "sheet": None, "column": "Aneh"}]
    assert batch.rows[["row_seq", "source_file", "source_row", "region_code"]].values.tolist() == [
        [0, "b.csv", 2, "3273"]]
    assert not set(framework.pii_fields) & set(batch.rows.columns)
    assert "population" in batch.rows  # missing optional columns are present and empty
