"""Files as offices and portals really produce them, each read beside one good file by the public reader.

A sheet formatted down to row 1,048,576 (here to row 20,000, so the suite stays fast: the benchmark reads the
full one), a zip bomb (here against a 1 MB limit), an HTML table or a text export saved as ``.xls``, a UTF-8
CSV with one stray Windows-1252 byte. For each: both files are accounted for, and the values are the ones typed.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from smartcity_analysis.cleaning import readers
from smartcity_analysis.cleaning.readers import (
    STRAY_RULE,
    last_formula_row,
    openpyxl_tables,
    read_submissions,
    sniff_container,
    unpacked_size,
)
from tests.spreadsheets import bomb_xlsx, formatted_column_xlsx, html_table, text, text_as_workbook, xls

GOOD = [["Kode Wilayah", "Nama Kabupaten/Kota", "Tahun Asesmen", "IPM"], ["3204", "Kab. Bandung", "2021", "72,45"]]
HEADER = ["Kode Wilayah", "Nama Kabupaten/Kota", "Tahun Asesmen", "IPM", "OPD Terhubung Jaringan Intra (%)", "Catatan"]
ROW = ["3273", "Kota Bandung", 2021, 81.5, ("percent", 0.82), "ok"]
LAST_ROW = 20_000


@pytest.fixture
def beside_good(tmp_path, framework):
    """Return a function that reads a round folder holding one file beside the good CSV."""
    def read(name: str, payload: bytes):
        (tmp_path / name).write_bytes(payload)
        (tmp_path / "good.csv").write_bytes(text(GOOD, ";").encode("utf-8"))
        return read_submissions(tmp_path, framework)

    return read


def _accounted(batch, name: str) -> dict:
    """Assert both files are accounted for and the good one read; return the odd file's outcome."""
    read = {f["name"]: f for f in batch.files_read}
    rejected = {f["name"]: f["reason"] for f in batch.files_rejected}
    assert set(read) | set(rejected) == {name, "good.csv"} and not set(read) & set(rejected)
    assert read["good.csv"]["rows"] == 1
    assert batch.rows.loc[batch.rows["source_file"] == "good.csv", "region_code"].tolist() == ["3204"]
    return read.get(name) or {"reason": rejected[name]}


def _values(batch, name: str) -> list[dict]:
    rows = batch.rows[batch.rows["source_file"] == name]
    return rows.drop(columns=["row_seq", "source_file", "source_sheet"]).dropna(axis=1, how="all").to_dict("records")


# --- A sheet formatted down to the last row ------------------------------------------------------------------

def test_a_sheet_formatted_far_below_its_data_is_read_to_its_last_row_with_data(beside_good):
    payload = formatted_column_xlsx([HEADER, ROW], last_row=LAST_ROW)
    batch = beside_good("diformat.xlsx", payload)
    assert _accounted(batch, "diformat.xlsx")["rows"] == 1
    assert _values(batch, "diformat.xlsx") == [{"source_row": 2, "region_code": "3273", "region_name": "Kota Bandung",
                                                "assessment_year": 2021, "hdi": 81.5, "opd_connected_pct": "82%",
                                                "notes": "ok"}]
    ((sheet, rows),) = openpyxl_tables(payload)
    assert (sheet, len(rows)) == ("Data", 2)  # the 19,998 formatted rows below the data are never kept


def test_data_after_a_long_run_of_formatted_empty_rows_is_not_missed(beside_good):
    rows = [HEADER, ROW, *[[None]] * 4_997, ["3204", "Kab. Bandung", 2021, 70, ("percent", 0.5), "jauh"]]
    batch = beside_good("celah.xlsx", formatted_column_xlsx(rows, last_row=LAST_ROW))
    assert _accounted(batch, "celah.xlsx")["rows"] == 2
    found = _values(batch, "celah.xlsx")
    assert [(r["source_row"], r["region_code"], r["opd_connected_pct"]) for r in found] == [
        (2, "3273", "82%"), (5_000, "3204", "50%")]  # the row numbers the spreadsheet shows


def test_formulas_give_their_cached_value_or_their_text_when_never_computed(beside_good):
    rows = [HEADER, ["3273", "Kota Bandung", ("formula", "2020+1", 2021), ("formula", "80+1.5", 81.5),
                     ("formula", "41/50", None), ("formula", "\"ok\"", None)]]
    batch = beside_good("rumus.xlsx", formatted_column_xlsx(rows, last_row=LAST_ROW))
    assert _accounted(batch, "rumus.xlsx")["rows"] == 1
    (row,) = _values(batch, "rumus.xlsx")
    assert (row["assessment_year"], row["hdi"]) == (2021, 81.5)
    assert (row["opd_connected_pct"], row["notes"]) == ("=41/50", "=\"ok\"")  # reported by the parser


def test_a_row_holding_only_formulas_never_computed_is_still_read():
    rows = [HEADER, ROW, [None], [("formula", "1000+2204", None), ("formula", "\"Kab. Bandung\"", None)]]
    payload = formatted_column_xlsx(rows, last_row=LAST_ROW)
    assert last_formula_row(payload) == 4
    ((_, table),) = openpyxl_tables(payload)
    assert len(table) == 4 and table[3][:2] == ["=1000+2204", "=\"Kab. Bandung\""]


# --- Zip bombs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("declared", "reason"), [
    (None, r"part xl/worksheets/sheet1\.xml of the workbook declares 4\.\d MB unpacked, beyond the 1\.0 MB"),
    (100_000, r"part xl/worksheets/sheet1\.xml of the workbook unpacks to more than 1\.0 MB although its header "
              r"declares 0\.1 MB"),
])
def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_with_its_reason(beside_good, monkeypatch, declared,
                                                                               reason):
    monkeypatch.setattr(readers, "MAX_PART_BYTES", 1_000_000)
    batch = beside_good("bom.xlsx", bomb_xlsx(5_000_000, declared_bytes=declared))
    refused = _accounted(batch, "bom.xlsx")["reason"]
    assert re.match(reason, refused) and "send it again" in refused


def test_the_whole_workbook_is_limited_too(beside_good, monkeypatch):
    monkeypatch.setattr(readers, "MAX_UNPACKED_BYTES", 1_000_000)
    batch = beside_good("besar.xlsx", formatted_column_xlsx([HEADER, ROW], last_row=LAST_ROW))
    assert re.match(r"the workbook declares 1\.\d MB unpacked, beyond the 1\.0 MB",
                    _accounted(batch, "besar.xlsx")["reason"])


def test_unpacked_size_counts_the_real_bytes_not_the_declared_ones():
    payload = bomb_xlsx(3_000_000, declared_bytes=1_000)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        part = archive.getinfo("xl/worksheets/sheet1.xml")
    with zipfile.ZipFile(io.BytesIO(bomb_xlsx(3_000_000))) as archive:
        real = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    assert part.file_size == 1_000 and real > 2_000_000
    assert unpacked_size(payload, part, 10_000_000) == real
    assert 1_000_000 < unpacked_size(payload, part, 1_000_000) <= 1_000_000 + (1 << 20)  # stops just past it


def test_a_file_too_large_to_be_a_submission_is_refused_unread(beside_good, monkeypatch):
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 1_000)
    batch = beside_good("raksasa.csv", text([*GOOD, *[GOOD[1]] * 100], ";").encode())
    assert "beyond the 0.0 MB" in _accounted(batch, "raksasa.csv")["reason"]


@pytest.mark.parametrize("name", ["banyak.xlsx", "banyak.xls"])
def test_a_sheet_with_more_cells_of_data_than_the_limit_is_refused(beside_good, monkeypatch, name):
    monkeypatch.setattr(readers, "MAX_SHEET_CELLS", 100)
    rows = [HEADER[:4], *[["3273", "Kota Bandung", "2021", "81,5"]] * 30]
    payload = formatted_column_xlsx(rows, last_row=40) if name.endswith("x") else xls(rows)
    reason = _accounted(beside_good(name, payload), name)["reason"]
    assert reason.startswith("sheet Data holds more than 100 cells of data")


def test_a_zero_byte_workbook_is_still_empty(beside_good):
    assert _accounted(beside_good("kosong.xlsx", b""), "kosong.xlsx")["reason"] == "the file is empty"


def test_a_sheet_declaring_entities_is_refused_never_expanded(beside_good):
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
              '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]>')
    payload = formatted_column_xlsx([HEADER, ["3273", "Kota Bandung", 2021, 81.5, ("formula", "1+1", 2), "&lol3;"]],
                                    last_row=10)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(payload)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            part = source.read(item)
            if item.filename.endswith("sheet1.xml"):
                part = laughs.encode() + part.split(b"?>", 1)[1].replace(b"&amp;lol3;", b"&lol3;")
            target.writestr(item, part)
    batch = beside_good("tawa.xlsx", buffer.getvalue())
    assert _accounted(batch, "tawa.xlsx")["reason"].startswith("not a readable Excel workbook")


# --- Files that are not what their name says -----------------------------------------------------------------

PORTAL = [HEADER[:4] + ["Catatan"], ["3273", "Kota Bandung", "2021", "81,5", "café – résumé"],
          ["3204", "Kab. Bandung", "2021", "72,45", ""]]


@pytest.mark.parametrize(("payload", "header_row"), [
    (html_table(PORTAL), 1),
    (html_table(PORTAL, charset="windows-1252", header_cells=False, title="Data Kesiapan Smart City 2021"), 2),
])
def test_an_html_table_saved_as_xls_is_read_as_html_with_a_note(beside_good, payload, header_row):
    batch = beside_good("ekspor_portal.xls", payload)
    read = _accounted(batch, "ekspor_portal.xls")
    assert (read["rows"], read["header_row"]) == (2, header_row)
    assert read["notes"] == ["the file is an HTML table saved with a .xls name (as web portals export); read as HTML"]
    found = _values(batch, "ekspor_portal.xls")
    assert [(r["region_code"], r["hdi"], r.get("notes")) for r in found] == [
        ("3273", "81,5", "café – résumé"), ("3204", "72,45", "")]
    assert [r["source_row"] for r in found] == [header_row + 1, header_row + 2]


def test_cells_spanning_rows_in_an_html_table_leave_their_places_empty(beside_good):
    page = (b"<html><body><table><tr><th>Provinsi</th><th>Kode Wilayah</th><th>Nama Kabupaten/Kota</th>"
            b"<th>IPM</th></tr><tr><td rowspan='2'>Jawa Barat</td><td>3273</td><td>Kota Bandung</td><td>81</td></tr>"
            b"<tr><td>3204</td><td>Kab. Bandung</td><td>72</td></tr></table></body></html>")
    batch = beside_good("gabung.xls", page)
    assert _accounted(batch, "gabung.xls")["rows"] == 2
    assert [(r["province_name"], r["region_code"], r["hdi"]) for r in _values(batch, "gabung.xls")] == [
        ("Jawa Barat", "3273", "81"), ("", "3204", "72")]


def test_text_saved_as_xls_is_read_as_text_with_a_note(beside_good):
    batch = beside_good("ekspor_aplikasi.xls", text_as_workbook(PORTAL))
    read = _accounted(batch, "ekspor_aplikasi.xls")
    assert read["rows"] == 2
    assert read["notes"] == ["the file is text (CSV or tab-separated) saved with a .xls name; read as text"]
    assert _values(batch, "ekspor_aplikasi.xls")[0]["notes"] == "café – résumé"


def test_a_real_binary_xls_still_goes_to_calamine_without_a_note(beside_good):
    assert sniff_container(xls(GOOD)[:1024]) == "ole"
    batch = beside_good("asli.xls", xls([HEADER[:4], ["3273", "Kota Bandung", "2021", "81,5"]]))
    read = _accounted(batch, "asli.xls")
    assert read["rows"] == 1 and "notes" not in read and read["sheet"] == "Data"


def test_a_page_without_a_table_is_refused_as_a_web_page(beside_good):
    batch = beside_good("halaman.xls", b"<!DOCTYPE html><html><body><p>Maaf, sesi habis</p></body></html>")
    assert "web page (HTML) with no table" in _accounted(batch, "halaman.xls")["reason"]


@pytest.mark.parametrize(("head", "container"), [
    (b"<html><head>", "html"), (b"\xef\xbb\xbf  <!DOCTYPE html>", "html"), (b"<!-- ekspor -->\n<table>", "html"),
    (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', "html"), (b"Kode Wilayah;IPM", "text"),
    (b"PK\x03\x04", "zip"), (bytes.fromhex("d0cf11e0a1b11ae1"), "ole"), (b"<b>bold</b> Kode;IPM", "text"),
])
def test_sniff_container(head, container):
    assert sniff_container(head) == container


# --- Text decoded as it was written --------------------------------------------------------------------------

def test_one_stray_windows_1252_byte_in_a_utf8_csv_spoils_nothing_else(beside_good):
    lines = ["Kode Wilayah;Nama Kabupaten/Kota;Tahun Asesmen;Luas Wilayah (km²);Catatan",
             "3273;Kota Bandung;2021;100;Data per Desember – lengkap",
             "3204;Kab. Bandung;2021;1.767,96;rapat di caf\udce9 Braga"]
    payload = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    assert b"caf\xe9 Braga" in payload and "km²".encode() in payload
    batch = beside_good("campur.csv", payload)
    read = _accounted(batch, "campur.csv")
    assert batch.unknown_columns == []  # the header Luas Wilayah (km²) is recognised
    found = _values(batch, "campur.csv")
    assert [(r["region_code"], r["area_km2"], r["notes"]) for r in found] == [
        ("3273", "100", "Data per Desember – lengkap"), ("3204", "1.767,96", "rapat di café Braga")]
    (note,) = read["notes"]
    assert note.startswith("line 3: bytes that are not UTF-8") and "(é)" in note
    (change,) = batch.changes.to_dict("records")
    assert (change["field"], change["original_value"], change["cleaned_value"], change["rule"]) == (
        "notes", "rapat di caf\\xe9 Braga", "rapat di café Braga", STRAY_RULE)
    assert change["message"].startswith("line 3 of the file: the bytes \\xe9 are not UTF-8")


def test_a_windows_1252_file_is_read_whole_without_a_note(beside_good):
    payload = text([HEADER[:4] + ["Catatan"], ["3273", "Kota Bandung", "2021", "81,5", "Révisi – café"]], ";")
    batch = beside_good("ansi.csv", payload.encode("cp1252"))
    read = _accounted(batch, "ansi.csv")
    assert "notes" not in read and batch.changes.empty
    assert _values(batch, "ansi.csv")[0]["notes"] == "Révisi – café"


def test_a_stray_byte_in_a_personal_data_column_is_noted_but_its_value_never_logged(beside_good):
    lines = ["Kode Wilayah;Nama Kabupaten/Kota;Tahun Asesmen;Nama Pengisi;Catatan", "3273;Kota Bandung;2021;"
             "Andr\udce9;résumé", "", "3204;Kab. Bandung;2021;Budi;ok"]
    batch = beside_good("pengisi.csv", "\n".join(lines).encode("utf-8", "surrogateescape"))
    assert _accounted(batch, "pengisi.csv")["notes"][0].startswith("line 2: ")
    assert batch.changes.empty and "Andr" not in str(batch.files_read)


def test_stray_bytes_on_several_lines_of_a_quoted_note_are_each_named():
    rows = ["Kode Wilayah;Nama Kabupaten/Kota;Tahun Asesmen;Catatan", '3273;Kota Bandung;2021;"baris satu\r\n'
            'caf\udce9\r\nna\udcefve"', "3204;Kab. Bandung;2021;ok – \udce0 la"]
    table = readers.text_table("\r\n".join(rows).encode("utf-8", "surrogateescape"), {})
    assert table.rows[1][3] == "baris satu\r\ncafé\r\nnaïve" and table.rows[2][3] == "ok – à la"
    assert [(n, p, m.split(" of the file")[0]) for n, p, _, _, _, m in table.cell_changes] == [
        (2, 3, "lines 3, 4"), (3, 3, "line 5")]
    assert table.notes[0].startswith("lines 3, 4, 5: ")

