"""Write small spreadsheets in every format regions send, for the reading tests and the bad-input corpus."""

from __future__ import annotations

import csv
import datetime as dt
import io
import struct
import zipfile
import zlib
from xml.sax.saxutils import escape

import xlwt

from smartcity_analysis.synthetic.cells import Cell, _ods_bytes, _xlsx_bytes


def text(rows: list[list[object]], separator: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def xlsx(rows: list[list[object]], *, macro_enabled: bool = False) -> bytes:
    cells = [[Cell(v) for v in row] for row in rows]
    return _xlsx_bytes(cells[0], cells[1:], [["Petunjuk"]], dt.datetime(2021, 11, 8), macro_enabled=macro_enabled)


def xls(rows: list[list[object]]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("Petunjuk").write(0, 0, "Isi sheet Data")
    sheet = book.add_sheet("Data")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ods(rows: list[list[object]]) -> bytes:
    cells = [[Cell(v) for v in row] for row in rows]
    return _ods_bytes(cells[0], cells[1:], [["Petunjuk"]], dt.datetime(2021, 11, 8))


FORMATS = {
    "a.xlsx": lambda rows: xlsx(rows),
    "a.xlsm": lambda rows: xlsx(rows, macro_enabled=True),
    "a.xls": xls,
    "a.ods": ods,
    "utf8.csv": lambda rows: text(rows, ";").encode("utf-8"),
    "utf8_bom.csv": lambda rows: text(rows, ";").encode("utf-8-sig"),
    "cp1252.csv": lambda rows: text(rows, ";").encode("cp1252"),
    "comma.csv": lambda rows: text(rows, ",").encode("utf-8"),
    "unicode_text.txt": lambda rows: text(rows, "\t").encode("utf-16"),  # Excel's "Unicode text"
    "utf16_semicolon.csv": lambda rows: text(rows, ";").encode("utf-16"),
    "utf16le_no_bom.txt": lambda rows: text(rows, "\t").encode("utf-16-le"),
    "utf16be_no_bom.txt": lambda rows: text(rows, "\t").encode("utf-16-be"),
    "portal_html.xls": lambda rows: html_table(rows),  # what web portals export under a workbook's name
    "tab_text.xls": lambda rows: text_as_workbook(rows),
}


# --- Files whose cost is in their formatting, their packing or their disguise ----------------------------------

EXCEL_LAST_ROW = 1_048_576
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{_MAIN_NS}" '
        f'xmlns:r="{_REL_NS}"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>'),
    # Style 1: a yellow fill (what "format the whole column" gives); style 2: percent (numFmtId 9, "0%").
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
        '</fill><fill><patternFill patternType="solid"><fgColor rgb="FFFFFF00"/></patternFill></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="0" fillId="2" borderId="0" xfId="0" applyFill="1"/>'
        '<xf numFmtId="9" fontId="0" fillId="2" borderId="0" xfId="0" applyNumberFormat="1" applyFill="1"/>'
        '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'),
}


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_cell(ref: str, value: object) -> str:
    """One cell of sheet XML: a number, a percent (a float in a ``%`` cell), a formula ``=..|cached`` or text."""
    if isinstance(value, bool) or value is None:
        return f'<c r="{ref}" s="1"/>'
    if isinstance(value, int | float):
        return f'<c r="{ref}" s="1"><v>{value!r}</v></c>'
    if isinstance(value, tuple):  # ("percent", 0.82) or ("formula", "SUM(1,2)", cached or None)
        if value[0] == "percent":
            return f'<c r="{ref}" s="2"><v>{value[1]!r}</v></c>'
        cached = "" if value[2] is None else f"<v>{value[2]!r}</v>"
        return f'<c r="{ref}" s="1"><f>{escape(value[1])}</f>{cached}</c>'
    return f'<c r="{ref}" s="1" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def formatted_rows_xml(rows: list[list[object]], last_row: int, columns: int):
    """Yield a sheet's XML in pieces: ``rows`` from row 1, then styled empty rows down to ``last_row``.

    Every row below the data has a row style and one styled empty cell, as a spreadsheet program writes a
    column formatted down to the sheet's last row; the dimension claims the whole formatted area.
    """
    last_column = _column_letter(columns)
    yield (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_MAIN_NS}">'
           f'<dimension ref="A1:{last_column}{last_row}"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
           f'<sheetFormatPr defaultRowHeight="15"/><cols><col min="1" max="{columns}" width="14" style="1" '
           'customWidth="1"/></cols><sheetData>')
    for number, row in enumerate(rows, start=1):
        cells = "".join(_sheet_cell(f"{_column_letter(c)}{number}", v) for c, v in enumerate(row, start=1))
        yield f'<row r="{number}" spans="1:{columns}">{cells}</row>'
    chunk = []
    for number in range(len(rows) + 1, last_row + 1):
        chunk.append(f'<row r="{number}" spans="1:{columns}" s="1" customFormat="1"><c r="A{number}" s="1"/></row>')
        if len(chunk) == 10_000:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk) + "</sheetData></worksheet>"


def formatted_column_xlsx(rows: list[list[object]], *, last_row: int = EXCEL_LAST_ROW, columns: int = 24) -> bytes:
    """Return an ``.xlsx`` whose one sheet holds ``rows`` and is formatted down to ``last_row`` (see above).

    Written part by part, the sheet streamed into the zip, so memory stays small whatever ``last_row`` is.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in _PACKAGE_PARTS.items():
            archive.writestr(name, part)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for piece in formatted_rows_xml(rows, last_row, columns):
                sheet.write(piece.encode("utf-8"))
    return buffer.getvalue()


def _deflate_repeated(head: bytes, block: bytes, repeats: int, tail: bytes) -> tuple[bytes, int]:
    """Return (raw deflate data, CRC-32) of ``head + block * repeats + tail``, compressing ``block`` once.

    A full flush ends a deflate block on a byte boundary with no reference to earlier data, so the block's
    compressed bytes can be copied ``repeats`` times: a 1.5 GB expansion costs one block and a CRC pass.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    middle = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.compress(tail) + compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    return start + middle * repeats + end, zlib.crc32(tail, crc)


def _zip_member(name: str, data: bytes, crc: int, declared: int, offset: int) -> tuple[bytes, bytes]:
    """Return a deflated member's local record and its central directory entry, its size given as ``declared``."""
    encoded = name.encode()
    fields = (20, 0, 8, 0, 0x5321, crc, len(data), declared, len(encoded))
    local = struct.pack("<4s5HIIIHH", b"PK\x03\x04", *fields, 0) + encoded + data
    central = struct.pack("<4s6HIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, offset) + encoded
    return local, central


def bomb_xlsx(expanded_bytes: int, *, declared_bytes: int | None = None) -> bytes:
    """Return a small ``.xlsx`` whose sheet XML expands to about ``expanded_bytes`` (a zip bomb).

    The other parts are a valid workbook's. ``declared_bytes`` writes a smaller size into the zip headers than
    the sheet really expands to (a header that lies), so only counting the bytes while decompressing finds it.
    """
    cells = "".join(f'<c r="{_column_letter(c)}2" t="inlineStr"><is><t>{"A" * 40}</t></is></c>'
                    for c in range(1, 25))
    block = (f'<row r="2">{cells}</row>' * 200).encode()
    head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN_NS}"><sheetData>'.encode()
    tail = b"</sheetData></worksheet>"
    repeats = max(1, expanded_bytes // len(block))
    sheet, crc = _deflate_repeated(head, block, repeats, tail)
    size = len(head) + len(block) * repeats + len(tail)
    records, directory = [], []
    for name, text_part in _PACKAGE_PARTS.items():
        part = text_part.encode()
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        local, central = _zip_member(name, packer.compress(part) + packer.flush(), zlib.crc32(part), len(part),
                                     sum(map(len, records)))
        records.append(local)
        directory.append(central)
    local, central = _zip_member("xl/worksheets/sheet1.xml", sheet, crc,
                                 size if declared_bytes is None else declared_bytes, sum(map(len, records)))
    records.append(local)
    directory.append(central)
    listing = b"".join(directory)
    end = struct.pack("<4s4HIIH", b"PK\x05\x06", 0, 0, len(directory), len(directory), len(listing),
                      sum(map(len, records)), 0)
    return b"".join(records) + listing + end


def html_table(rows: list[list[object]], *, charset: str = "utf-8", header_cells: bool = True,
               title: str | None = None) -> bytes:
    """Return an HTML page holding ``rows`` as one table, as web portals export it under an ``.xls`` name.

    ``header_cells`` writes the first row as ``<th>`` cells (else every row is ``<tr><td>``); ``title`` puts a
    title row spanning the table above the header. Encoded in ``charset``, which the ``<meta>`` declares.
    """
    def cells(row: list[object], tag: str) -> str:
        return "".join(f"<{tag}>{'' if v is None else escape(str(v))}</{tag}>" for v in row)

    lines = [f'<tr><td colspan="{len(rows[0])}"><b>{escape(title)}</b></td></tr>'] if title else []
    lines.append(f"<tr>{cells(rows[0], 'th' if header_cells else 'td')}</tr>")
    lines += [f"<tr>{cells(row, 'td')}</tr>" for row in rows[1:]]
    page = (f'<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta http-equiv="Content-Type" '
            f'content="text/html; charset={charset}"><title>Ekspor</title></head><body>\n<table border="1">\n'
            + "\n".join(lines) + "\n</table>\n</body></html>\n")
    return page.encode(charset)


def text_as_workbook(rows: list[list[object]], separator: str = "\t") -> bytes:
    """Return a text export (tab-separated by default, UTF-8) as applications save it under an ``.xls`` name."""
    return text(rows, separator).encode("utf-8")
