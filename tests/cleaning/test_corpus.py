"""The bad-input corpus: hand-made hostile files and generated ones, each beside a good file.

For every case: the cleaner does not crash; every entry of the folder is read, rejected or skipped, each with
a reason; every row read is accepted, superseded, quarantined or set aside as another year exactly once (blank
rows and the rows above a header are not rows, as documented); a generated file is read with exactly as many rows
as it has non-blank rows; every message names the file and the row as the spreadsheet shows it (and the
column, for a changed value); and the good file beside the case gives the same clean row as it does alone.

Cases run in batches, one temporary folder and one in-process cleaning per batch, to keep the suite fast.
:func:`corpus_size` counts them for ``docs/reliability.md``.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from smartcity_analysis.cleaning.readers import SUPPORTED_SUFFIXES
from smartcity_analysis.cleaning.stage import run_cleaning
from tests.spreadsheets import ods, text, xls, xlsx

GOOD_NAME = "zz_good_kota_bandung.csv"
GOOD_ROWS = [["Kode Wilayah", "Nama Kabupaten/Kota", "Provinsi", "Tahun Asesmen", "Tanggal Pengisian", "IPM",
              "Jumlah Penduduk (jiwa)", "Catatan"],
             ["3273", "Kota Bandung", "Jawa Barat", "2021", "31/12/2021 23:59", "81,5", "2.452.943",
              "=HYPERLINK(\"http://x\")"]]
HEADER = ["Kode Wilayah", "Nama Kabupaten/Kota", "Tahun Asesmen", "IPM", "Jumlah Penduduk (jiwa)", "Total APBD (Rp)",
          "Catatan"]
ROW = ["3204", "Kab. Bandung", "2021", "72,45", "3.721.111", "Rp 5,2 T", "Data per Desember 2020"]
EXTENSIONS = SUPPORTED_SUFFIXES
WRITERS = {".xlsx": xlsx, ".xlsm": lambda rows: xlsx(rows, macro_enabled=True), ".xls": xls, ".ods": ods,
           ".csv": lambda rows: text(rows, ";").encode("cp1252", "replace"),
           ".txt": lambda rows: text(rows, "\t").encode("utf-16")}
GENERATED_BATCHES = 12
GENERATED_PER_BATCH = 10
EXTRA_FOLDERS = ("x.xlsx", "lampiran")  # folders in the first hand-made batch
LARGE_FILES = 2  # the 20,000-row and the 5,000-column file


def _good_bytes() -> bytes:
    return text(GOOD_ROWS, ";").encode("cp1252")


def _rng_bytes(seed: int, size: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def _openpyxl_bytes(rows: list[list[object]], *, sheets: int = 1) -> bytes:
    book = openpyxl.Workbook()
    for k in range(sheets):
        sheet = book.active if k == 0 else book.create_sheet(f"Data{k}")
        for row in rows:
            sheet.append(row)  # a text starting with "=" is written as a formula, never computed
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _error_cells() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(ROW)
    for column, error in ((4, "#REF!"), (5, "#DIV/0!"), (6, "#VALUE!")):
        cell = sheet.cell(row=2, column=column, value=error)
        cell.data_type = "e"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _docx_like() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _with(row_changes: dict[int, object], header: list[str] | None = None) -> list[list[object]]:
    row = list(ROW)
    for position, value in row_changes.items():
        row[position] = value
    return [header or HEADER, row]


LONG = "panjang " * 12_500  # 100,000 characters
HOSTILE_TEXT = {
    "markup": ["3204", "<b>Kab.</b> Bandung<script>alert(1)</script>", "2021", "72,45", "1", "1", "<img src=x>"],
    "formulas": ["3204", "=cmd|' /C calc'!A0", "2021", "+72", "-1", "@SUM(1)", "\t=1+1"],
    "carriage_return": ["3204", "Kab. Bandung", "2021", "72,45", "1", "1", "\r=1+1"],
    "nan_inf": ["3204", "Kab. Bandung", "2021", "NaN", "inf", "-inf", "nan"],
    "huge_numbers": ["123456789012345678901234567890", "Kab. Bandung", "2021", "1e309",
                     "123456789012345678901234567890", "Rp 999999999999999999999999999999 T", "x"],
    "long_text": ["3204", LONG, "2021", LONG, LONG, LONG, LONG],
    "control_characters": ["32\x0004", "Kab.\x01 Bandung\u202e", "20\x1f21", "72,\x7f45", "1\ufeff", "1\u200b",
                           "catatan\x0b\x0c"],
    "full_width_digits": ["３２０４", "Kab. Bandung", "２０２１", "７２,４５", "1", "1", "x"],
    "cyrillic_lookalikes": [None, "Кота Бандунг", "2021", "72,45", "1", "1", "Кab. Bandung (Cyrillic К, а)"],
    "cyrillic_code_letters": ["З2О4", "Kab. Bandung", "2021", "72,45", "1", "1", "З and О are Cyrillic"],
    "arabic_digits": ["٣٢٠٤", "Kab. Bandung", "٢٠٢١", "٧٢", "1", "1", "x"],
    "year_missing": ["3204", "Kab. Bandung", None, "72,45", "1", "1", "x"],
    "year_garbage": ["3204", "Kab. Bandung", "dua ribu", "72,45", "1", "1", "x"],
    "no_identity": [None, None, "2021", "72,45", "1", "1", "only values"],
    "code_only": ["3204", None, None, None, None, None, None],
    "another_year": ["3204", "Kab. Bandung", "2019", "72,45", "1", "1", "an earlier round"],
}


def hand_made_cases() -> list[tuple[str, bytes]]:
    """Return the hand-made corpus: (file name, bytes)."""
    good = {ext: WRITERS[ext]([HEADER, ROW]) for ext in EXTENSIONS}
    cases: list[tuple[str, bytes]] = []
    for ext in EXTENSIONS:
        stem = ext.lstrip(".")
        cases += [(f"{stem}_empty{ext}", b""), (f"{stem}_spaces{ext}", b"   \r\n\t  \n"),
                  (f"{stem}_random{ext}", _rng_bytes(len(cases), 3000)),
                  (f"{stem}_plain_words{ext}", b"Terlampir data kesiapan smart city kami.\r\n"),
                  (f"{stem}_only_nuls{ext}", b"\x00" * 64)]
        cases += [(f"{stem}_truncated_{cut}{ext}", good[ext][: len(good[ext]) * cut // 100]) for cut in (3, 50, 97)]
        for name, row in HOSTILE_TEXT.items():
            rows = [HEADER, row]
            if ext in (".xlsx", ".xlsm"):
                rows = [[ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r] for r in rows]
            if ext == ".xls":
                rows = [[v[:32767] if isinstance(v, str) else v for v in r] for r in rows]
            if ext == ".ods":
                rows = [[ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r] for r in rows]
            cases.append((f"{stem}_{name}{ext}", WRITERS[ext](rows)))
    ole_encrypted = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le")
    title = [["FORMULIR KESIAPAN SMART CITY"], [], ["Kabupaten Bandung"]]
    cases += [
        ("password.xlsx", ole_encrypted), ("password.xls", ole_encrypted),
        ("formulas_no_cache.xlsx", _openpyxl_bytes([HEADER, ["=1000+2204", "Kab. Bandung", "2021", "=A1*2",
                                                             "=SUM(1,2)", "=1/0", "=HYPERLINK(\"x\")"]])),
        ("error_cells.xlsx", _error_cells()),
        ("two_data_sheets.xlsx", _openpyxl_bytes([HEADER, ROW], sheets=2)),
        ("duplicated_headers.csv", text([HEADER + ["IPM", "Kode Wilayah"], ROW + ["99", "1101"]], ";").encode()),
        ("missing_identity_header.csv", text([["Tahun Asesmen", "IPM", "PAD (Rp)"], ["2021", "70", "1"]], ";")
         .encode()),
        ("two_columns_only.csv", text([["Kode Wilayah", "IPM"], ["3204", "70"]], ";").encode()),
        ("header_only.csv", text([HEADER], ";").encode()),
        ("header_only.xlsx", xlsx([HEADER])),
        ("blank_rows_between.csv", text([HEADER, [""] * 7, ROW, [" "] * 7, ["", "", "\x00"], ROW], ";").encode()),
        ("mixed_separators.csv", (";".join(HEADER) + "\r\n" + ",".join(ROW) + "\r\n" + ";".join(ROW)).encode()),
        ("tab_header_semicolon_rows.txt", ("\t".join(HEADER) + "\n" + ";".join(ROW) + "\n").encode("utf-16")),
        ("unbalanced_quote.csv", (";".join(HEADER) + '\n3204;"Kab. Bandung;2021;72\n3273;x\n').encode()),
        ("quoted_newlines.csv", text([HEADER, ["3204", "Kab.\nBandung", "2021", "72,45", "1", "1", "a;b\r\nc"]],
                                     ";").encode()),
        ("cr_only_lines.csv", text([HEADER, ROW], ";").replace("\r\n", "\r").encode()),
        ("lf_only_lines.csv", text([HEADER, ROW], ";").replace("\r\n", "\n").encode()),
        ("bom_in_the_middle.csv", (";".join(HEADER) + "\n\ufeff" + ";".join(ROW)).encode("utf-8-sig")),
        ("utf8_bom_utf16_body.csv", b"\xef\xbb\xbf" + text([HEADER, ROW], ";").encode("utf-16-le")),
        ("odd_length_utf16.txt", text([HEADER, ROW], "\t").encode("utf-16")[:-1]),
        ("rows_longer_and_shorter.csv", text([HEADER, ROW + ["extra", "more"], ROW[:2]], ";").encode()),
        ("title_rows.xlsx", xlsx([*title, HEADER, ROW])), ("title_rows.csv", text([*title, HEADER, ROW], ";").encode()),
        ("title_rows.xls", xls([*title, HEADER, ROW])), ("title_rows.ods", ods([*title, HEADER, ROW])),
        ("ods_named.xlsx", ods([HEADER, ROW])), ("xls_named.ods", xls([HEADER, ROW])),
        ("docx_renamed.xlsx", _docx_like()), ("zip_renamed.xlsm", _docx_like()),
        ("<img src=x onerror=alert(1)>.csv", text([HEADER, ROW], ";").encode()),
        ("nama 'kutip' \"ganda\" & spasi.csv", text([HEADER, ROW], ";").encode()),
        ("ünïcødé_ファイル.csv", text([HEADER, ROW], ";").encode()),
        ("a" * 200 + ".csv", text([HEADER, ROW], ";").encode()),
        ("surat.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), ("lampiran.zip", _docx_like()),
        ("laporan.docx", _docx_like()), ("NO_EXTENSION", text([HEADER, ROW], ";").encode()),
        ("~$kab_bandung.xlsx", b"\x06Diskominfo" + b"\x00" * 40), (".~lock.kab_bandung.ods#", b"x"),
        (".hidden.csv", text([HEADER, ROW], ";").encode()),
    ]
    return cases


def expected_rows(rows: list[list[object]]) -> int:
    """Count a generated table's non-blank data rows (header in row 1), independently of the reader."""
    def blank(value: object) -> bool:
        return value is None or all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in str(value))

    return sum(not all(blank(v) for v in row) for row in rows[1:])


# --- Running a batch and checking it ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_alone(tmp_path_factory, framework) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("good_alone")
    (folder / GOOD_NAME).write_bytes(_good_bytes())
    return run_cleaning(folder, folder.parent / "good_alone_out", framework).clean


def run_batch(folder: Path, cases: list[tuple[str, bytes]], framework, folders: tuple[str, ...] = ()):
    """Write the cases and the good file into ``folder``, clean it in-process and return the result."""
    folder.mkdir(parents=True)
    for name, payload in cases:
        (folder / name).write_bytes(payload)
    for name in folders:
        (folder / name).mkdir()
    (folder / GOOD_NAME).write_bytes(_good_bytes())
    return run_cleaning(folder, folder.parent / (folder.name + "_out"), framework)


def check_batch(folder: Path, result, good_alone: pd.DataFrame) -> None:
    """Assert the corpus invariants on one cleaned batch."""
    summary = result.summary
    read = {f["name"] for f in summary["files_read"]}
    rejected = [f["name"] for f in summary["files_rejected"]]
    skipped = [f["name"] for f in summary["files_skipped"]]
    assert not read & set(rejected) and len(rejected) == len(set(rejected))
    assert sorted(read | set(rejected) | set(skipped)) == sorted(p.name for p in folder.iterdir())
    for entry in summary["files_rejected"] + summary["files_skipped"]:
        assert isinstance(entry["reason"], str) and len(entry["reason"]) > 10 and "Traceback" not in entry["reason"]
    assert summary["rows_read"] == sum(f["rows"] for f in summary["files_read"])
    tables = (result.clean, result.superseded, result.quarantine, result.other_years)
    placed = pd.concat([t[["source_file", "source_row"]] for t in tables])
    assert len(placed) == summary["rows_read"] and set(placed["source_file"]) <= read
    # (file, row) names one row, except in a workbook with several data sheets (the outputs carry no sheet).
    sheets = pd.Series([f["name"] for f in summary["files_read"]]).value_counts()
    single_sheet = placed[placed["source_file"].map(sheets).eq(1)]
    assert not single_sheet.duplicated().any()
    for _, row in result.quarantine.iterrows():
        assert row["detail"].startswith(f"{row['source_file']} row {row['source_row']}: ")
    for _, row in result.log.iterrows():
        assert row["detail"].startswith(f"{row['source_file']} row {row['source_row']}, column ")
        assert row["rule"] and row["original_value"] is not None
    good = result.clean[result.clean["source_file"] == GOOD_NAME].reset_index(drop=True)
    pd.testing.assert_frame_equal(good, good_alone)


HAND_MADE = hand_made_cases()
HAND_BATCHES = [HAND_MADE[i:i + 20] for i in range(0, len(HAND_MADE), 20)]


@pytest.mark.parametrize("batch", range(len(HAND_BATCHES)))
def test_hand_made_corpus(tmp_path, framework, good_alone, batch):
    cases = HAND_BATCHES[batch]
    folders = EXTRA_FOLDERS if batch == 0 else ()
    result = run_batch(tmp_path / "round", cases, framework, folders)
    check_batch(tmp_path / "round", result, good_alone)


def corpus_size() -> dict[str, int]:
    """Count the corpus cases: hand-made files and folders, large files, generated files."""
    return {"hand-made": len(HAND_MADE) + len(EXTRA_FOLDERS) + LARGE_FILES,
            "generated": GENERATED_BATCHES * GENERATED_PER_BATCH}


def test_the_corpus_has_at_least_200_cases_of_the_named_kinds():
    assert sum(corpus_size().values()) >= 200
    names = [n for n, _ in HAND_MADE]
    assert len(names) == len(set(names)) >= 150
    for ext in EXTENSIONS:
        assert {f"{ext[1:]}_random{ext}", f"{ext[1:]}_truncated_50{ext}", f"{ext[1:]}_long_text{ext}"} <= set(names)


def test_named_hostile_cases_are_read_or_rejected_as_documented(tmp_path, framework, good_alone):
    chosen = ["password.xlsx", "ods_named.xlsx", "xls_named.ods", "title_rows.xls", "txt_control_characters.txt",
              "docx_renamed.xlsx", "header_only.csv", "blank_rows_between.csv", "csv_full_width_digits.csv"]
    cases = [c for c in HAND_MADE if c[0] in chosen]
    result = run_batch(tmp_path / "round", cases, framework)
    check_batch(tmp_path / "round", result, good_alone)
    reasons = {f["name"]: f["reason"] for f in result.summary["files_rejected"]}
    rows = {f["name"]: f["rows"] for f in result.summary["files_read"]}
    assert "password-protected" in reasons["password.xlsx"]
    assert "not a readable Excel workbook" in reasons["docx_renamed.xlsx"]
    assert rows["ods_named.xlsx"] == rows["xls_named.ods"] == rows["title_rows.xls"] == 1
    assert rows["header_only.csv"] == 0 and rows["blank_rows_between.csv"] == 2
    control = result.log[result.log["source_file"] == "txt_control_characters.txt"]
    assert (control["rule"] == "control_characters_removed").sum() == 7
    assert not result.clean["region_code"].str.fullmatch(r"[0-9]{4}").eq(False).any()  # ASCII codes only


# --- Generated cases (hypothesis) ---------------------------------------------------------------------------

LOOKALIKE = "３２٣٢ЗОКоаеАВ"
CONTROL = "\x00\x01\x1f\x7f\u200b\u202e\ufeff"
ALPHABET = st.sampled_from(list("0123456789.,;-+=@%<>/\"'& ab_KkotaBndug\t\n" + LOOKALIKE + CONTROL + "éÉ²"))
CELL = st.one_of(st.none(), st.text(ALPHABET, max_size=12), st.sampled_from(["3204", "2021", "Kab. Bandung", "",
                                                                              "72,45", "#REF!", "=1+1", "-"]))
KNOWN_HEADERS = ["Tahun Asesmen", "IPM", "Jumlah Penduduk (jiwa)", "Total APBD (Rp)", "Catatan", "Tanggal Pengisian",
                 "Regulasi Smart City", "Pusat Data"]


@st.composite
def generated_case(draw, index: int = 0) -> tuple[str, bytes, int | None]:
    """A file of one generated kind: random bytes, a truncated good file, or a table of hostile cells.

    Returns the name, the bytes and the rows the reader must find (None when the file may be rejected).
    """
    kind = draw(st.sampled_from(["bytes", "truncated", "table", "table", "table"]))
    ext = draw(st.sampled_from(EXTENSIONS))
    stem = f"gen{draw(st.integers(0, 10**9)):09d}"
    if kind == "bytes":
        return f"{stem}{ext}", draw(st.binary(max_size=1500)), None
    if kind == "truncated":
        payload = WRITERS[ext]([HEADER, ROW, ROW])
        return f"{stem}{ext}", payload[: draw(st.integers(0, len(payload) - 1))], None
    extra = draw(st.lists(st.sampled_from(KNOWN_HEADERS), min_size=2, max_size=5, unique=True))
    header = ["Kode Wilayah", *extra, draw(st.text(ALPHABET.filter(lambda c: c.isalpha()), min_size=1,
                                                    max_size=6))]
    rows = [header, *draw(st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)), max_size=6))]
    rows = [[_storable(v, ext) for v in row] for row in rows]
    return f"{stem}{ext}", WRITERS[ext](rows), expected_rows(rows)


def _storable(value: object, ext: str) -> object:
    """Return a cell as the format can hold it (XML formats cannot hold most control characters)."""
    if not isinstance(value, str):
        return value if ext not in (".csv", ".txt") else ("" if value is None else value)
    if ext in (".xlsx", ".xlsm", ".ods"):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if ext == ".csv":
        return value.encode("cp1252", "replace").decode("cp1252")
    return value


@settings(max_examples=GENERATED_BATCHES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(st.lists(generated_case(), min_size=GENERATED_PER_BATCH, max_size=GENERATED_PER_BATCH,
                unique_by=lambda c: c[0]))
def test_generated_corpus(tmp_path_factory, framework, good_alone, cases):
    folder = tmp_path_factory.mktemp("generated") / "round"
    result = run_batch(folder, [(name, payload) for name, payload, _ in cases], framework)
    check_batch(folder, result, good_alone)
    rows = {f["name"]: f["rows"] for f in result.summary["files_read"]}
    for name, _, expected in cases:
        if expected is not None:
            assert rows.get(name) == expected, f"{name}: {rows.get(name)} rows read, {expected} in the file"


# --- Large files ----------------------------------------------------------------------------------------------

def test_a_20000_row_file(tmp_path, framework, good_alone):
    codes = pd.read_csv(Path(__file__).resolve().parents[2] / "data/raw/reference/regions.csv", dtype=str)[
        "region_code"].tolist()
    codes = [c for c in codes if c != "3273"]
    start = dt.datetime(2021, 11, 8)  # each row sent a minute after the one above: the last one per region wins
    lines = ["Kode Wilayah;Tahun Asesmen;IPM;Tanggal Pengisian"] + [
        f"{codes[i % len(codes)]};2021;{60 + i % 30},5;{start + dt.timedelta(minutes=i):%d/%m/%Y %H:%M}"
        for i in range(20_000)]
    result = run_batch(tmp_path / "round", [("besar.csv", "\r\n".join(lines).encode())], framework)
    check_batch(tmp_path / "round", result, good_alone)
    assert result.summary["rows_read"] == 20_001
    assert (result.summary["rows_accepted"], result.summary["rows_superseded"]) == (len(codes) + 1,
                                                                                    20_000 - len(codes))


def test_a_5000_column_file(tmp_path, framework, good_alone):
    header = ["Kode Wilayah", "Nama Kabupaten/Kota", "Tahun Asesmen"] + [f"Kolom {i}" for i in range(4_997)]
    row = ["3204", "Kab. Bandung", "2021"] + [str(i) for i in range(4_997)]
    result = run_batch(tmp_path / "round", [("lebar.xlsx", xlsx([header, row]))], framework)
    check_batch(tmp_path / "round", result, good_alone)
    assert len(result.summary["unknown_columns"]) == 4_997 and result.summary["rows_accepted"] == 2
