"""Render planned rows as the cells a region types, and write them as the files regions send.

Workbooks as ``.xlsx`` (openpyxl), ``.xlsm``, ``.xls`` (xlwt) and ``.ods`` (OpenDocument XML); text as
``;``-separated Windows-1252 CSV or Excel's UTF-16 tab-separated "Unicode text".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from openpyxl import Workbook

from smartcity_analysis.config import Framework
from smartcity_analysis.synthetic.helpers import group_digits, locale_number
from smartcity_analysis.synthetic.parameters import SampleParameters
from smartcity_analysis.synthetic.plan import HOSTILE_NOTES, PlannedFile, PlannedRow

FIRST_NAMES = ("Agus", "Budi", "Dewi", "Siti", "Rina", "Andi", "Yusuf", "Fitri", "Hendra", "Wahyu", "Putu",
               "Made", "Nur", "Ratna", "Joko", "Sri", "Fransiskus", "Maria", "Teguh", "Lestari")


LAST_NAMES = ("Santoso", "Wijaya", "Lestari", "Hidayat", "Saputra", "Pratama", "Nugroho", "Siregar",
              "Harahap", "Rahmawati", "Setiawan", "Kurniawan", "Wibowo", "Simanjuntak", "Tanjung", "Mahuze")


PHONE_PREFIXES = ("0812", "0813", "0821", "0852", "0856", "0857", "0877", "0878", "0811", "0895")


INDONESIAN_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                     "Oktober", "November", "Desember")


@dataclass(frozen=True)
class Cell:
    """One written cell: its value, the mess it carries, and what a correct parser reads from it."""

    value: Any
    tags: tuple[str, ...] = ()
    denoted: Any = None
    number_format: str | None = None


EXTRA_COLUMN = "Keterangan Tambahan"


@dataclass(frozen=True)
class RenderedFile:
    """A file's bytes and, per data row, the cells written (field id -> cell)."""

    payload: bytes
    cells: tuple[Mapping[str, Cell], ...]


def render_file(file: PlannedFile, framework: Framework, rng: np.random.Generator,
                 parameters: SampleParameters) -> RenderedFile:
    """Render a planned file as bytes, and the cells written for each of its data rows."""
    columns = [c for c in framework.field_ids() if c not in file.omit]
    if file.extra_column:
        columns.insert(len(columns) - 1, EXTRA_COLUMN)
    if file.shuffle_columns:
        columns = [columns[int(i)] for i in rng.permutation(len(columns))]
    headers = [_header(c, file, framework, rng) for c in columns]
    cells = tuple(MappingProxyType({c: _render_cell(c, row, file, framework, rng) for c in columns})
                  for row in file.rows)
    table = [[row_cells[c] for c in columns] for row_cells in cells]
    if file.kind == "csv":
        text = _tsv_utf16_bytes if file.form == "utf16_txt" else _csv_bytes
        return RenderedFile(text(headers, table), cells)
    stamp = _stamp(file, parameters)
    if file.form == "xls":
        return RenderedFile(_xls_bytes(headers, table, _instructions(framework)), cells)
    if file.form == "ods":
        return RenderedFile(_ods_bytes(headers, table, _instructions(framework), stamp), cells)
    title = _title(file) if file.form == "titled" else None
    return RenderedFile(_xlsx_bytes(headers, table, _instructions(framework), stamp, macro_enabled=file.form == "xlsm",
                                    title=title), cells)


def _header(column: str, file: PlannedFile, framework: Framework, rng: np.random.Generator) -> Cell:
    if column == EXTRA_COLUMN:
        return Cell(column, ("extra_column",))
    text = column if file.header_kind == "id" else str(framework.fields.at[column, "label_id"])
    cases = {"asis": text, "lower": text.lower(), "upper": text.upper(), "title": text.title()}
    text = cases[file.header_case]
    pad = int(rng.choice(4, p=[0.8, 0.08, 0.08, 0.04]))
    text = (" " if pad in (1, 3) else "") + text + (" " if pad in (2, 3) else "")
    return Cell(text, ("header_stray_space",) if pad else ())


def _render_cell(column: str, row: PlannedRow, file: PlannedFile, framework: Framework,
                 rng: np.random.Generator) -> Cell:
    missing = dict(row.missing)
    if column in missing:
        marker = missing[column]
        return Cell(marker or None, ("missing_marker",), None)
    anomaly, _, target = (row.anomaly or "").partition(":")
    if target == column:
        return _anomaly_cell(anomaly, row.values[column], row.values, file, rng)
    if column in _META_RENDERERS:
        return _META_RENDERERS[column](row, file, rng)
    value = row.values[column]
    kind = str(framework.fields.at[column, "type"])
    if kind == "integer":
        return _integer_cell(int(value), file, rng)
    if kind == "number":
        return _number_cell(float(value), 2, file, rng)
    if kind == "money":
        return _money_cell(int(value), file, rng)
    if kind == "percent":
        return _percent_cell(float(value), file, rng)
    if kind == "boolean":
        return _boolean_cell(bool(value), file, rng)
    if kind == "ordinal":
        return _ordinal_cell(column, str(value), framework, rng)
    if kind == "likert":
        return _likert_cell(int(value), file, rng)
    raise ValueError(f"sample generator: no renderer for field {column!r} of type {kind!r}")


def _anomaly_cell(anomaly: str, value: Any, values: Mapping[str, Any], file: PlannedFile,
                  rng: np.random.Generator) -> Cell:
    if anomaly == "apbd_juta_slip":
        in_juta = int(value) // 1_000_000
        return Cell(group_digits(str(in_juta), "."), ("money_juta_slip",), in_juta)
    if anomaly == "likert_out_of_range":
        return Cell(6 if file.kind == "xlsx" else "6", ("out_of_range",), 6)
    if anomaly == "hdi_out_of_range":
        return Cell("172" if file.kind == "csv" else 172.0, ("out_of_range",), 172.0)
    if anomaly == "percent_out_of_range":
        return Cell("105%" if rng.random() < 0.5 else "105", ("out_of_range",), 105.0)
    if anomaly == "pad_above_apbd":
        bigger = int(values["apbd_total_idr"]) * 13 // 10
        cell = _money_cell(bigger, file, rng)
        return replace(cell, tags=cell.tags + ("rule_break",))
    if anomaly == "ict_staff_above_staff":
        more = int(values["civil_servants"]) + max(5, int(values["civil_servants"]) // 5)
        cell = _integer_cell(more, file, rng)
        return replace(cell, tags=cell.tags + ("rule_break",))
    if anomaly == "percent_fraction":
        whole = int(round(float(value)))
        return Cell(f"0,{whole:02d}", ("percent_fraction",), float(whole))
    if anomaly == "excel_percent_cell":
        return Cell(round(float(value) / 100, 4), ("excel_percent_cell",), float(value), "0.0%")
    if anomaly == "in_progress_word":
        word = ("Proses", "Dalam penyusunan", "Sedang disusun")[int(rng.integers(0, 3))]
        return Cell(word, ("in_progress_word",), None)
    if anomaly == "regulation_in_penyusunan":
        return Cell("Dalam penyusunan", ("in_progress_word_ordinal",), "draf")
    raise ValueError(f"sample generator: unknown anomaly {anomaly!r}")


def _locale(file: PlannedFile, rng: np.random.Generator) -> str:
    return file.locale if file.locale != "mixed" else ("id", "en")[int(rng.integers(0, 2))]


def _integer_cell(value: int, file: PlannedFile, rng: np.random.Generator) -> Cell:
    grouped_ok = value >= 1000 and _locale(file, rng) == "id"
    form = ("native", "grouped", "float")[rng.choice(3, p=[0.5, 0.35, 0.15])]
    if form == "grouped" and grouped_ok:
        return Cell(group_digits(str(value), "."), ("indonesian_number",), value)
    if form == "float":
        return Cell(f"{value}.0", ("excel_float",), value)
    return Cell(value if file.kind == "xlsx" else str(value), (), value)


def _number_cell(value: float, decimals: int, file: PlannedFile, rng: np.random.Generator) -> Cell:
    if file.kind == "xlsx" and rng.random() < 0.5:
        return Cell(value, (), value)
    locale = _locale(file, rng)
    text = locale_number(value, decimals, locale, grouped=locale == "id")
    return Cell(text, ("indonesian_number",) if locale == "id" else ("english_number",), value)


_UNITS = (  # (threshold, word choices, multiplier, decimals)
    (1e12, ("T", "triliun", "Triliun"), 10**12, 2),
    (1e9, ("M", "miliar", "Milyar"), 10**9, 2),
    (1e6, ("jt", "juta", "Juta"), 10**6, 0),
    (0, ("rb", "ribu"), 10**3, 0),
)


def _money_cell(value: int, file: PlannedFile, rng: np.random.Generator) -> Cell:
    form = ("plain", "grouped", "shorthand", "english")[rng.choice(4, p=[0.25, 0.2, 0.45, 0.1])]
    prefix = ("Rp ", "Rp. ", "Rp", "IDR ", "")[rng.choice(5, p=[0.35, 0.2, 0.1, 0.15, 0.2])]
    prefix_tag = ("money_prefix",) if prefix else ()
    if form == "plain":
        return Cell(value if file.kind == "xlsx" else str(value), (), value)
    if form == "grouped":
        cents = ",00" if rng.random() < 0.3 else ""
        return Cell(prefix + group_digits(str(value), ".") + cents, ("indonesian_number",) + prefix_tag, value)
    if form == "english":
        return Cell(prefix + group_digits(str(value), ",") + ".00", ("english_number",) + prefix_tag, value)
    return _shorthand_cell(value, prefix, _locale(file, rng), rng)


def _shorthand_cell(value: int, prefix: str, locale: str, rng: np.random.Generator) -> Cell:
    candidates = [u for u in _UNITS if value >= u[0]][:2]
    _, words, multiplier, decimals = candidates[int(rng.integers(0, len(candidates)))]
    step = multiplier // 10**decimals
    quanta = int(round(value / step))
    whole, fraction = divmod(quanta, 10**decimals)
    fraction_text = str(fraction).zfill(decimals).rstrip("0") if decimals else ""
    whole_text = group_digits(str(whole), ".") if locale == "id" else str(whole)
    number = whole_text + (("," if locale == "id" else ".") + fraction_text if fraction_text else "")
    word = words[int(rng.integers(0, len(words)))]
    space = " " if rng.random() < 0.7 else ""
    tags = ("money_shorthand",) + (("money_prefix",) if prefix else ())
    return Cell(f"{prefix}{number}{space}{word}", tags, quanta * step)


def _percent_cell(value: float, file: PlannedFile, rng: np.random.Generator) -> Cell:
    if file.kind == "xlsx" and rng.random() < 0.4:
        return Cell(value, (), value)
    locale = _locale(file, rng)
    number = locale_number(value, 0 if value == int(value) else 1, locale, grouped=False)
    decimal_tag = (("indonesian_number",) if locale == "id" else ("english_number",)) if "," in number or (
        "." in number) else ()
    if rng.random() < 0.5:
        return Cell(number + ("%" if rng.random() < 0.7 else " %"), ("percent_sign",) + decimal_tag, value)
    return Cell(number, ("percent_bare",) + decimal_tag, value)


def _boolean_cell(value: bool, file: PlannedFile, rng: np.random.Generator) -> Cell:
    if file.kind == "xlsx" and rng.random() < 0.15:
        return Cell(value, ("excel_bool",), value)
    word = file.boolean_words[0 if value else 1]
    tag = {"✓": "check_mark", "✗": "check_mark", "V": "check_mark", "1": "boolean_digit",
           "0": "boolean_digit"}
    if word in ("1", "0") and file.kind == "xlsx":
        return Cell(int(word), ("boolean_digit",), value)
    word = (word, word.upper(), word.lower())[rng.choice(3, p=[0.7, 0.15, 0.15])]
    return Cell(word, (tag.get(word, "boolean_word"),), value)


def _ordinal_cell(column: str, value: str, framework: Framework, rng: np.random.Generator) -> Cell:
    variants = [k for k, v in framework.vocabulary["ordinal_variants"][column].items()
                if v == value and k != value and k != "dalam penyusunan"]
    if variants and rng.random() < 0.35:
        word = variants[int(rng.integers(0, len(variants)))]
        return Cell(word.title() if rng.random() < 0.5 else word, ("ordinal_variant",), value)
    word = (value, value.title(), value.upper())[rng.choice(3, p=[0.5, 0.35, 0.15])]
    return Cell(word, (), value)


def _likert_cell(value: int, file: PlannedFile, rng: np.random.Generator) -> Cell:
    if rng.random() < 0.1:
        return Cell(f"{value}.0", ("excel_float",), value)
    return Cell(value if file.kind == "xlsx" else str(value), (), value)


def _submission_id(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    return Cell(f"GMSC21-{int(rng.integers(1, 1000)):03d}", (), None)


def _region_code_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    code = row.identity[0]
    if file.kind == "xlsx" and isinstance(code, str) and code.isdigit() and rng.random() < 0.5:
        return Cell(int(code), (), code)
    return Cell(code, (), code)


def _region_name_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    return Cell(row.identity[1], (), row.identity[1])


def _province_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    return Cell(row.province, (), row.province)


def _year_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    form = int(rng.choice(3, p=[0.6, 0.25, 0.15]))
    cell = (2021 if file.kind == "xlsx" else "2021", "2021", "2021.0")[form]
    return Cell(cell, ("excel_float",) if form == 2 else (), 2021)


def _class_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    return Cell(row.values["assessment_class"], (), row.values["assessment_class"])


def _date_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    when = row.submitted_at
    if when is None:
        return Cell(None, ("undated",), None)
    form = row.date_form or file.date_form
    day = dt.datetime(when.year, when.month, when.day)
    if form == "excel":
        return Cell(when, ("date_excel_cell",), when, "dd/mm/yyyy hh:mm")
    if form == "iso":
        return Cell(f"{when:%Y-%m-%d}", ("date_iso",), day)
    if form == "iso_time":
        return Cell(f"{when:%Y-%m-%d %H:%M}", ("date_iso",), when)
    if form == "dayfirst":
        return Cell(f"{when:%d/%m/%Y}", ("date_dayfirst",), day)
    if form == "dayfirst_time":
        return Cell(f"{when:%d/%m/%Y %H:%M}", ("date_dayfirst",), when)
    month = INDONESIAN_MONTHS[when.month - 1]
    month = ("Nopember", month, "Nov")[int(rng.integers(0, 3))] if when.month == 11 else month
    return Cell(f"{when.day} {month} {when.year}", ("date_month_name",), day)


def _respondent_name_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    first = FIRST_NAMES[int(rng.integers(0, len(FIRST_NAMES)))]
    last = LAST_NAMES[int(rng.integers(0, len(LAST_NAMES)))]
    title = ("", ", S.Kom.", ", S.T., M.T.", ", S.E.")[rng.choice(4, p=[0.55, 0.2, 0.15, 0.1])]
    return Cell(f"{first} {last}{title}", ("pii_name",), None)


def _respondent_phone_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    prefix = PHONE_PREFIXES[int(rng.integers(0, len(PHONE_PREFIXES)))]
    digits = prefix + "".join(str(int(d)) for d in rng.integers(0, 10, 8))
    form = int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))
    if form == 3 and file.kind == "xlsx":
        return Cell(int(digits), ("pii_phone",), None)
    text = (digits, f"{digits[:4]}-{digits[4:8]}-{digits[8:]}",
            f"+62 {digits[1:4]} {digits[4:8]} {digits[8:]}", digits)[form]
    return Cell(text, ("pii_phone",), None)


def _notes_cell(row: PlannedRow, file: PlannedFile, rng: np.random.Generator) -> Cell:
    if row.note is None:
        return Cell(None, (), None)
    return Cell(row.note, ("hostile_note",) if row.note in HOSTILE_NOTES else (), row.note)


_META_RENDERERS = MappingProxyType({
    "submission_id": _submission_id,
    "region_code": _region_code_cell,
    "region_name": _region_name_cell,
    "province_name": _province_cell,
    "assessment_year": _year_cell,
    "assessment_class": _class_cell,
    "submitted_at": _date_cell,
    "respondent_name": _respondent_name_cell,
    "respondent_phone": _respondent_phone_cell,
    "notes": _notes_cell,
    EXTRA_COLUMN: lambda row, file, rng: Cell(("Diisi oleh Diskominfo", "Sudah diverifikasi", None)[
        int(rng.integers(0, 3))], (), None),
})


def _csv_bytes(headers: list[Cell], table: list[list[Cell]]) -> bytes:
    """Return a ``;``-separated Windows-1252 CSV with CRLF line ends, as Indonesian Excel exports it."""
    return _delimited_bytes(headers, table, ";", "cp1252")


def _tsv_utf16_bytes(headers: list[Cell], table: list[list[Cell]]) -> bytes:
    """Return Excel's "Unicode text" export: UTF-16 little-endian with a byte-order mark, tab-separated, CRLF."""
    return _delimited_bytes(headers, table, "\t", "utf-16")


def _delimited_bytes(headers: list[Cell], table: list[list[Cell]], delimiter: str, encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([h.value for h in headers])
    for cells in table:
        writer.writerow(["" if c.value is None else c.value for c in cells])
    return buffer.getvalue().encode(encoding)


TITLE_ROWS = 2  # a titled form: the title in row 1 (merged across the columns), row 2 blank, header in row 3


def _title(file: PlannedFile) -> str:
    return "FORMULIR KESIAPAN GERAKAN MENUJU 100 SMART CITY 2021 (" + file.name.rsplit(".", 1)[0] + ")"


def _xlsx_bytes(headers: list[Cell], table: list[list[Cell]], instructions: list[list[str]],
                stamp: dt.datetime, *, macro_enabled: bool = False, title: str | None = None) -> bytes:
    """Return a workbook: instructions sheet ``Petunjuk`` before data sheet ``Data``, fixed timestamps.

    ``macro_enabled`` gives an ``.xlsm`` (the macro-enabled content type, no macros); ``title`` puts a
    merged title line and a blank line above the header, as government templates do.
    """
    workbook = Workbook()
    guide = workbook.active
    guide.title = "Petunjuk"
    for line in instructions:
        guide.append(line)
    sheet = workbook.create_sheet("Data")
    offset = 0
    if title is not None:
        sheet.cell(row=1, column=1, value=title)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=min(8, len(headers)))
        offset = TITLE_ROWS
    for col, header in enumerate(headers, start=1):
        sheet.cell(row=offset + 1, column=col, value=header.value)
    for r, cells in enumerate(table, start=offset + 2):
        for col, cell in enumerate(cells, start=1):
            _write_cell(sheet, r, col, cell)
    workbook.properties.creator = "Diskominfo"
    workbook.properties.lastModifiedBy = "Diskominfo"
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _fixed_zip(buffer.getvalue(), stamp, macro_enabled=macro_enabled)


def _write_cell(sheet: Any, row: int, column: int, cell: Cell) -> None:
    if cell.value is None:
        return
    target = sheet.cell(row=row, column=column, value=cell.value)
    if isinstance(cell.value, str) and cell.value.startswith("="):
        target.data_type = "s"  # typed text, not a formula: the cleaner must still neutralise it on output
    if cell.number_format:
        target.number_format = cell.number_format


XLSX_MAIN_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN_TYPE = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def _fixed_zip(payload: bytes, stamp: dt.datetime, *, macro_enabled: bool = False) -> bytes:
    """Rewrite a workbook's zip with fixed entry dates, attributes and ``dcterms:modified``.

    With ``macro_enabled`` the workbook part gets the ``.xlsm`` content type, as Excel saves a macro-enabled
    workbook (without a ``vbaProject.bin`` when it has no macros).
    """
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = {}
    with zipfile.ZipFile(io.BytesIO(payload)) as source:
        for name in source.namelist():
            data = source.read(name)
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              lambda m: m.group(1) + iso.encode() + m.group(2), data)
            if name == "[Content_Types].xml" and macro_enabled:
                data = data.replace(XLSX_MAIN_TYPE, XLSM_MAIN_TYPE)
            entries[name] = data
    return _zip_bytes(entries, stamp)


def _zip_bytes(entries: Mapping[str, bytes], stamp: dt.datetime, stored: tuple[str, ...] = ()) -> bytes:
    """Return a zip of ``entries`` in the given order, with fixed dates and attributes (``stored`` uncompressed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    return out.getvalue()


def _xls_bytes(headers: list[Cell], table: list[list[Cell]], instructions: list[list[str]]) -> bytes:
    """Return an Excel 97-2003 workbook (BIFF8) written with xlwt: ``Petunjuk`` then ``Data``.

    xlwt is the only Python writer of real ``.xls`` files; it is unmaintained but the format is frozen, and the
    generator is its only user (the cleaner reads ``.xls`` with python-calamine). Its output has no timestamps.
    """
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    guide = workbook.add_sheet("Petunjuk")
    for r, line in enumerate(instructions):
        for c, text in enumerate(line):
            guide.write(r, c, text)
    sheet = workbook.add_sheet("Data")
    styles: dict[str, Any] = {}
    for c, header in enumerate(headers):
        sheet.write(0, c, header.value)
    for r, cells in enumerate(table, start=1):
        for c, cell in enumerate(cells):
            if cell.value is None:
                continue
            if cell.number_format:
                style = styles.setdefault(cell.number_format, xlwt.easyxf(num_format_str=cell.number_format))
                sheet.write(r, c, cell.value, style)
            else:
                sheet.write(r, c, cell.value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_MANIFEST = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                 b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                 b'manifest:version="1.2">'
                 b'<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
                 b'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                 b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                 b"</manifest:manifest>")
_ODS_NAMESPACES = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                   'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
                   'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"')


def _ods_bytes(headers: list[Cell], table: list[list[Cell]], instructions: list[list[str]],
               stamp: dt.datetime) -> bytes:
    """Return a LibreOffice Calc workbook (``.ods``): ``Petunjuk`` then ``Data``, with typed cells.

    Written directly as OpenDocument XML (a zip of three parts), so the bytes are fixed for a seed; numbers,
    booleans and dates are typed cells as Calc saves them.
    """
    guide = [[Cell(text) for text in line] for line in instructions]
    sheets = [("Petunjuk", guide), ("Data", [headers, *table])]
    body = "".join(f'<table:table table:name="{escape(name)}">' + "".join(
        "<table:table-row>" + "".join(_ods_cell(c) for c in row) + "</table:table-row>" for row in rows)
        + "</table:table>" for name, rows in sheets)
    content = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_ODS_NAMESPACES}>'
               f"<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>"
               "</office:document-content>")
    return _zip_bytes({"mimetype": ODS_MIMETYPE, "META-INF/manifest.xml": _ODS_MANIFEST,
                       "content.xml": content.encode("utf-8")}, stamp, stored=("mimetype",))


def _ods_cell(cell: Cell) -> str:
    value = cell.value
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, bool):
        typed = f'office:value-type="boolean" office:boolean-value="{str(value).lower()}"'
    elif isinstance(value, int | float):
        typed = f'office:value-type="float" office:value="{value!r}"'
    elif isinstance(value, dt.datetime):
        typed = f'office:value-type="date" office:date-value="{value:%Y-%m-%dT%H:%M:%S}"'
    else:
        typed = 'office:value-type="string"'
    return f"<table:table-cell {typed}><text:p>{escape(str(value))}</text:p></table:table-cell>"


def _instructions(framework: Framework) -> list[list[str]]:
    lines = [
        ["PETUNJUK PENGISIAN KUESIONER KESIAPAN GERAKAN MENUJU SMART CITY 2021"],
        ["1. Isi satu baris per kabupaten/kota pada sheet Data."],
        ["2. Nilai uang dalam Rupiah (Rp); luas wilayah dalam km²."],
        ["3. Skor 1-5: 1 = belum siap, 5 = sangat siap."],
        ["4. Data pribadi pengisi hanya untuk keperluan verifikasi."],
        ["5. Kirim ke Direktorat LAIP, Ditjen Aptika, Kementerian Kominfo."],
        [],
        ["Kolom", "Keterangan", "Satuan"],
    ]
    for _, spec in framework.fields.iterrows():
        unit = spec["unit"] if isinstance(spec["unit"], str) else ""
        lines.append([str(spec["label_id"]), str(spec["label_en"]), unit])
    return lines


def _stamp(file: PlannedFile, parameters: SampleParameters) -> dt.datetime:
    """Return the workbook's timestamp: its latest submission, or the round's last day when none is dated."""
    dated = [r.submitted_at for r in file.rows if r.submitted_at is not None]
    if dated:
        return max(dated)
    return dt.datetime.combine(parameters.round_days[-1], dt.time(17, 0))

