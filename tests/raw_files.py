"""Read raw submission files back for the tests, independently of the package's reader.

The tests that check for personal data must see every respondent name and phone in the raw files, whatever
the format, without trusting the code under test to find them.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import python_calamine

from smartcity_analysis.cleaning.readers import normalise_header

PII_HEADERS = {"respondent_name", "respondent_phone", "nama pengisi", "no. hp pengisi"}


def sheet_tables(path: Path) -> list[list[list[object]]]:
    """Return every sheet of a raw file as rows of cells (a text file is one sheet); [] when unreadable."""
    data = path.read_bytes()
    if path.suffix in (".csv", ".txt"):
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text, separator = data.decode("utf-16"), "\t"
        else:
            text, separator = data.decode("cp1252"), ";"
        return [list(csv.reader(io.StringIO(text), delimiter=separator))]
    try:
        if path.suffix in (".xlsx", ".xlsm"):
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            return [[list(r) for r in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]
        with python_calamine.CalamineWorkbook.from_path(str(path)) as book:
            return [book.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in book.sheet_names]
    except Exception:  # the bundled round holds one corrupt workbook on purpose
        return []


def personal_values(folder: Path) -> set[str]:
    """Return every respondent name and phone typed in the files of ``folder`` (header found in any row)."""
    values = set()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        for rows in sheet_tables(path):
            found = _personal_columns(rows)
            if found is None:
                continue
            start, columns = found
            for row in rows[start + 1:]:
                values |= {str(row[i]).strip() for i in columns
                           if i < len(row) and row[i] not in (None, "") and str(row[i]).strip()}
    return values


def _personal_columns(rows: list[list[object]]) -> tuple[int, list[int]] | None:
    for start, header in enumerate(rows[:10]):
        columns = [i for i, cell in enumerate(header) if normalise_header(cell) in PII_HEADERS]
        if columns:
            return start, columns
    return None


def phone_digits(values: set[str]) -> set[str]:
    """Return the digit runs (9 or more) of the phone numbers among ``values``, as they may be re-typed."""
    digits = {re.sub(r"\D", "", v) for v in values}
    return {d for d in digits if len(d) >= 9}
