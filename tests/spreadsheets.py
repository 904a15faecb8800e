"""Write small spreadsheets in every format regions send, for the reading tests and the bad-input corpus."""

from __future__ import annotations

import csv
import datetime as dt
import io

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
}
