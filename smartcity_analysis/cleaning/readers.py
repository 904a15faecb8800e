"""Read a round's submission files (``.xlsx`` and ``.csv``) into one table of rows as typed.

Only the folder itself is read (no sub-folders), files sorted by name. In a workbook every sheet whose first
row matches the template is read; instruction sheets are skipped. Headers match a field's id or label
(Indonesian ``label_id``, or ``label_en``) ignoring case and spaces. Values are kept as the person typed them
(CSV cells as text; workbook cells as openpyxl reads them: text, numbers, dates), so the parser sees
everything. Personal-data columns (``pii`` fields) are dropped here, before anything else sees them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from smartcity_analysis.config import Framework

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".xlsx", ".csv")
IDENTITY_FIELDS = ("region_code", "region_name")
MIN_MATCHED_COLUMNS = 3
# Tried in this order: UTF-8 first (a BOM is dropped), because Windows-1252 decodes any bytes and so cannot
# be falsified; a Windows-1252 file with accented letters is almost never valid UTF-8.
CSV_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
# Indonesian Excel exports with ';'; ',' and tab are accepted. The separator whose header matches the most
# template columns wins, ties in this order.
CSV_SEPARATORS = (";", ",", "\t")
SOURCE_COLUMNS = ["row_seq", "source_file", "source_sheet", "source_row"]
_SPACES = re.compile(r"\s+")


class UnreadableFileError(Exception):
    """A submission file that cannot be read; the message is the plain reason shown to the analyst."""


@dataclass(frozen=True)
class HeaderMatch:
    """How a sheet's header row maps to the template.

    Attributes
    ----------
    columns : dict of int to str
        Column position -> field id, for every recognised header cell (first occurrence of a field).
    unknown : list of str
        Header cells that match no field (or repeat one already matched), as typed.
    """

    columns: dict[int, str]
    unknown: list[str]

    def matches_template(self) -> bool:
        """Return True when enough columns match, including an identity column (code or name)."""
        fields = set(self.columns.values())
        return len(fields) >= MIN_MATCHED_COLUMNS and any(f in fields for f in IDENTITY_FIELDS)


@dataclass(frozen=True)
class SheetRead:
    """One sheet (or CSV file) read: its name, rows and unknown columns."""

    file: str
    sheet: str | None
    rows: pd.DataFrame
    unknown_columns: list[str]


@dataclass(frozen=True)
class SubmissionBatch:
    """Everything read from a submissions folder.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per non-blank submitted row: ``row_seq`` (reading order), ``source_file``, ``source_sheet``,
        ``source_row`` (the row number the spreadsheet shows), then one object column per template field
        present in any file (personal-data fields excluded).
    files_read : list of dict
        ``{name, sheet, rows}`` per sheet read.
    files_rejected : list of dict
        ``{name, reason}`` per file that could not be read.
    unknown_columns : list of dict
        ``{file, sheet, column}`` per header cell that matches no field.
    """

    rows: pd.DataFrame
    files_read: list[dict[str, Any]] = field(default_factory=list)
    files_rejected: list[dict[str, str]] = field(default_factory=list)
    unknown_columns: list[dict[str, Any]] = field(default_factory=list)


def normalise_header(text: Any) -> str:
    """Return a header cell for matching: lower case, trimmed, inner whitespace collapsed."""
    return _SPACES.sub(" ", "" if text is None else str(text)).strip().casefold()


def header_lookup(framework: Framework) -> dict[str, str]:
    """Map every normalised field id, Indonesian label and English label to its field id."""
    lookup: dict[str, str] = {}
    for field_id, row in framework.fields.iterrows():
        for name in (row["label_en"], row["label_id"], field_id):
            if isinstance(name, str) and name.strip():
                lookup[normalise_header(name)] = field_id
    return lookup


def match_header(header: Sequence[Any], lookup: Mapping[str, str]) -> HeaderMatch:
    """Match a header row against the template.

    Parameters
    ----------
    header : sequence
        The first row's cells as read.
    lookup : Mapping of str to str
        From :func:`header_lookup`.

    Returns
    -------
    HeaderMatch
        Recognised columns by position, and the unknown header cells (blank cells are ignored).
    """
    columns: dict[int, str] = {}
    unknown: list[str] = []
    for position, cell in enumerate(header):
        key = normalise_header(cell)
        if not key:
            continue
        field_id = lookup.get(key)
        if field_id is None or field_id in columns.values():
            unknown.append(str(cell).strip())
        else:
            columns[position] = field_id
    return HeaderMatch(columns, unknown)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def rows_to_frame(table: Sequence[Sequence[Any]], match: HeaderMatch, pii_fields: Iterable[str]
                  ) -> pd.DataFrame:
    """Turn a sheet's data rows into a frame of template columns, skipping fully blank rows.

    Parameters
    ----------
    table : sequence of sequences
        The sheet's rows including the header row (row 1).
    match : HeaderMatch
        The header's mapping.
    pii_fields : iterable of str
        Fields dropped here, so personal data goes no further.

    Returns
    -------
    pandas.DataFrame
        ``source_row`` (header is row 1, first data row is 2) and one object column per matched field.
    """
    kept = {pos: fid for pos, fid in match.columns.items() if fid not in set(pii_fields)}
    records = []
    for number, row in enumerate(table[1:], start=2):
        if all(_is_blank(v) for v in row):
            continue
        record: dict[str, Any] = {"source_row": number}
        record.update({fid: row[pos] if pos < len(row) else None for pos, fid in kept.items()})
        records.append(record)
    return pd.DataFrame(records, columns=["source_row", *kept.values()], dtype=object)


# --- CSV ----------------------------------------------------------------------------------------------------

def decode_csv_bytes(data: bytes) -> str:
    """Decode CSV bytes, trying :data:`CSV_ENCODINGS` in order."""
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError("the text encoding is not recognised; save it again as CSV UTF-8")


def split_csv_text(text: str, lookup: Mapping[str, str]) -> list[list[str]]:
    """Split CSV text into rows with the separator whose header best matches the template."""
    best: list[list[str]] | None = None
    best_score = -1
    for separator in CSV_SEPARATORS:
        first_line = text.splitlines()[0] if text else ""
        header = next(csv.reader([first_line], delimiter=separator), [])
        score = len(match_header(header, lookup).columns)
        if score > best_score:
            best_score = score
            best = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    return best or []


def read_csv_table(path: Path, lookup: Mapping[str, str]) -> list[list[str]]:
    """Read a CSV file as rows of text (nothing converted)."""
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFileError("the file is empty")
    if b"\x00" in data[:4096]:
        raise UnreadableFileError("not a text CSV file (binary content); export the sheet again as CSV")
    try:
        return split_csv_text(decode_csv_bytes(data), lookup)
    except csv.Error as error:
        raise UnreadableFileError(f"the CSV cannot be split into columns ({error})") from error


# --- XLSX ---------------------------------------------------------------------------------------------------

def _cell_value(cell: Any, formula_value: Any) -> Any:
    """Return what a person sees in a cell: a percent-formatted 0.82 is the text ``82%``."""
    value = formula_value if cell.data_type == "f" else cell.value
    if isinstance(value, int | float) and not isinstance(value, bool) and "%" in (cell.number_format or ""):
        return f"{round(value * 100, 10):g}%"
    if isinstance(value, dt.time):
        return value.isoformat()
    return getattr(value, "text", value)


def _sheet_tables(path: Path) -> list[tuple[str, list[list[Any]]]]:
    """Return each sheet's rows; formula cells give their cached value, or their text when none."""
    try:
        book = openpyxl.load_workbook(path, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, Exception) as error:  # corrupt files raise anything
        raise UnreadableFileError(f"not a readable Excel workbook ({type(error).__name__}); "
                                  "open it in Excel and save it again as .xlsx") from error
    cached = None
    if any(c.data_type == "f" for ws in book.worksheets for row in ws.iter_rows() for c in row):
        cached = openpyxl.load_workbook(path, data_only=True)
    tables = []
    for sheet in book.worksheets:
        values_sheet = cached[sheet.title] if cached is not None else None
        table = []
        for row in sheet.iter_rows():
            table.append([_cell_value(c, _formula_result(c, values_sheet)) for c in row])
        tables.append((sheet.title, table))
    return tables


def _formula_result(cell: Any, values_sheet: Any) -> Any:
    if cell.data_type != "f" or values_sheet is None:
        return None
    cached = values_sheet.cell(row=cell.row, column=cell.column).value
    # Never computed (e.g. written by a script): keep the formula text, so the parser reports it.
    return cached if cached is not None else getattr(cell.value, "text", cell.value)


# --- Files and folders --------------------------------------------------------------------------------------

def read_submission_file(path: Path, framework: Framework, lookup: Mapping[str, str] | None = None
                         ) -> list[SheetRead]:
    """Read one file's sheets that match the template.

    Parameters
    ----------
    path : Path
        A ``.xlsx`` or ``.csv`` file.
    framework : Framework
        For the template fields and the personal-data fields.
    lookup : Mapping, optional
        From :func:`header_lookup`; computed when not given.

    Returns
    -------
    list of SheetRead
        One per matching sheet (a CSV is one sheet, named ``None``).

    Raises
    ------
    UnreadableFileError
        When the file is empty, corrupt, not a spreadsheet or has no sheet matching the template.
    """
    lookup = lookup if lookup is not None else header_lookup(framework)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        tables: list[tuple[str | None, list[list[Any]]]] = [(None, read_csv_table(path, lookup))]
    elif suffix == ".xlsx":
        if path.stat().st_size == 0:
            raise UnreadableFileError("the file is empty")
        tables = list(_sheet_tables(path))
    elif suffix == ".xls":
        raise UnreadableFileError("old Excel format (.xls); open it in Excel and save it as .xlsx")
    else:
        raise UnreadableFileError(f"not a spreadsheet ({path.suffix or 'no extension'}); "
                                  "submissions must be .xlsx or .csv")
    sheets = []
    for sheet_name, table in tables:
        match = match_header(table[0] if table else [], lookup)
        if not match.matches_template():
            continue
        rows = rows_to_frame(table, match, framework.pii_fields)
        sheets.append(SheetRead(path.name, sheet_name, rows, match.unknown))
    if not sheets:
        raise UnreadableFileError(
            "no sheet has the template's header in row 1 (at least 3 template columns, including "
            "Kode Wilayah or Nama Kabupaten/Kota); copy the data into the official template")
    return sheets


def list_submission_files(submissions_dir: Path) -> list[Path]:
    """Return the files of the folder itself, sorted by name; hidden files (``.name``) are skipped."""
    return sorted((p for p in submissions_dir.iterdir() if p.is_file() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def read_submissions(submissions_dir: str | Path, framework: Framework) -> SubmissionBatch:
    """Read every submission file of a folder into one table.

    Parameters
    ----------
    submissions_dir : str or Path
        The round's folder (not recursed into).
    framework : Framework
        The template.

    Returns
    -------
    SubmissionBatch
        The rows, the sheets read, the files rejected with their reason, and the unknown columns.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist.
    """
    folder = Path(submissions_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {folder}")
    lookup = header_lookup(framework)
    frames, files_read, files_rejected, unknown_columns = [], [], [], []
    for path in list_submission_files(folder):
        try:
            sheets = read_submission_file(path, framework, lookup)
        except UnreadableFileError as error:
            logger.warning("%s rejected: %s", path.name, error)
            files_rejected.append({"name": path.name, "reason": str(error)})
            continue
        for sheet in sheets:
            files_read.append({"name": sheet.file, "sheet": sheet.sheet, "rows": len(sheet.rows)})
            for column in sheet.unknown_columns:
                logger.warning("%s%s: unknown column %r ignored", sheet.file,
                               f" [{sheet.sheet}]" if sheet.sheet else "", column)
                unknown_columns.append({"file": sheet.file, "sheet": sheet.sheet, "column": column})
            frames.append(sheet.rows.assign(source_file=sheet.file, source_sheet=sheet.sheet))
    return SubmissionBatch(_combine(frames, framework), files_read, files_rejected, unknown_columns)


def _combine(frames: list[pd.DataFrame], framework: Framework) -> pd.DataFrame:
    """Stack the sheets in reading order, with every non-personal template column present once."""
    field_columns = framework.field_ids(include_pii=False)
    columns = [*SOURCE_COLUMNS, *field_columns]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).astype({"row_seq": "int64"})
    rows = pd.concat([f.astype(object) for f in frames], ignore_index=True)
    rows = rows.reindex(columns=columns).astype({c: object for c in field_columns})
    rows["row_seq"] = range(len(rows))
    rows["source_row"] = rows["source_row"].astype("int64")
    return rows
