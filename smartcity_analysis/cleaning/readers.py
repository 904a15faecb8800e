"""Read a round's submission files (workbooks and text exports) into one table of rows as typed.

Only the folder itself is read (no sub-folders), files sorted by name; everything else in it (a folder, a
hidden or Office lock file) is listed with the reason it was not read. A file's **content** decides how it is
read, its name only whether it is tried: ``.xlsx``/``.xlsm`` (zip) with openpyxl, ``.xls`` (Excel 97-2003)
and ``.ods`` with python-calamine, ``.csv``/``.txt`` as text in UTF-8 (BOM or not), UTF-16 (Excel's "Unicode
text") or Windows-1252, split on ``;``, ``,`` or tab. In a workbook every sheet whose header row (one of the
first :data:`HEADER_SEARCH_ROWS` rows, so a form's title and blank lines above it are fine) matches the
template is read; instruction sheets are skipped. Headers match a field's id or label (Indonesian
``label_id``, or ``label_en``) ignoring case and spaces. Values are kept as the person typed them, so the
parser sees everything; only invisible control characters are removed, each removal logged. Personal-data
columns (``pii`` fields) are dropped here, before anything else sees them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import operator
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import python_calamine

from smartcity_analysis.config import Framework

logger = logging.getLogger(__name__)

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
TEXT_SUFFIXES = (".csv", ".txt")
SUPPORTED_SUFFIXES = (*WORKBOOK_SUFFIXES, *TEXT_SUFFIXES)
IDENTITY_FIELDS = ("region_code", "region_name")
MIN_MATCHED_COLUMNS = 3
# Government templates put a title, a subtitle and blank lines above the header; ten rows is generous.
HEADER_SEARCH_ROWS = 10
HEADER_LINE_CHARS = 10_000
# Tried in this order after the byte-order marks: UTF-8 first, because Windows-1252 decodes almost any bytes
# and so cannot be falsified; a Windows-1252 file with accented letters is almost never valid UTF-8.
CSV_ENCODINGS = ("utf-8", "cp1252", "latin-1")
# Indonesian Excel exports with ';', Excel's "Unicode text" with tab; ',' is accepted. The separator whose
# header matches the most template columns wins, ties in this order.
CSV_SEPARATORS = (";", ",", "\t")
# Text with more than this share of control characters (and at least BINARY_CONTROL_MIN of them) is a binary
# file saved as text. A few stray ones in a short form are removed and logged instead.
BINARY_CONTROL_SHARE = 0.10
BINARY_CONTROL_MIN = 16
SOURCE_COLUMNS = ["row_seq", "source_file", "source_sheet", "source_row"]
CHANGE_COLUMNS = ["row_seq", "field", "original_value", "cleaned_value", "rule", "message"]
CONTROL_RULE = "control_characters_removed"
_SPACES = re.compile(r"\s+")
# C0/C1 control characters except tab, line feed and carriage return (which a multi-line note may hold),
# zero-width characters, bidirectional overrides and a stray byte-order mark: invisible, never meant.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                      "\u2066-\u2069\ufeff]")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}


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
    """One sheet (or text file) read: its name, header row, rows, unknown columns and reading changes.

    Attributes
    ----------
    changes : list of tuple
        ``(source_row, field, original, cleaned, rule, message)`` per cell the reader changed (control
        characters removed).
    """

    file: str
    sheet: str | None
    rows: pd.DataFrame
    unknown_columns: list[str]
    header_row: int = 1
    changes: list[tuple[Any, ...]] = field(default_factory=list)


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
        ``{name, sheet, header_row, rows}`` per sheet read.
    files_rejected : list of dict
        ``{name, reason}`` per file that was tried and could not be read.
    unknown_columns : list of dict
        ``{file, sheet, column}`` per header cell that matches no field.
    files_skipped : list of dict
        ``{name, reason}`` per entry of the folder that was not tried (a folder, a hidden or lock file).
    changes : pandas.DataFrame
        Values the reader changed, in the parser's change columns (:data:`CHANGE_COLUMNS`).
    """

    rows: pd.DataFrame
    files_read: list[dict[str, Any]] = field(default_factory=list)
    files_rejected: list[dict[str, str]] = field(default_factory=list)
    unknown_columns: list[dict[str, Any]] = field(default_factory=list)
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGE_COLUMNS))


# --- Headers ------------------------------------------------------------------------------------------------

def normalise_header(text: Any) -> str:
    """Return a header cell for matching: control characters removed, lower case, trimmed, spaces collapsed."""
    return _SPACES.sub(" ", _CONTROL.sub("", "" if text is None else str(text))).strip().casefold()


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
        The header row's cells as read.
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
            unknown.append(_CONTROL.sub("", str(cell)).strip())
        else:
            columns[position] = field_id
    return HeaderMatch(columns, unknown)


def find_header(table: Sequence[Sequence[Any]], lookup: Mapping[str, str]) -> tuple[int, HeaderMatch] | None:
    """Find the header row among the first :data:`HEADER_SEARCH_ROWS` rows of a sheet.

    Returns
    -------
    (int, HeaderMatch) or None
        The header's position in ``table`` (0 = the sheet's row 1) and its match: the row matching the most
        template fields, the earliest on a tie; None when no row there matches the template.
    """
    best: tuple[int, HeaderMatch] | None = None
    for position, row in enumerate(table[:HEADER_SEARCH_ROWS]):
        match = match_header(row, lookup)
        if match.matches_template() and (best is None or len(match.columns) > len(best[1].columns)):
            best = (position, match)
    return best


# --- Rows ---------------------------------------------------------------------------------------------------

def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not _CONTROL.sub("", value).strip())


def visible_escapes(text: str) -> str:
    r"""Return ``text`` with each control character written as an escape (``\x00``, ``\u200b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def strip_control(value: Any) -> tuple[Any, str | None]:
    """Remove control characters from a text cell.

    Returns
    -------
    value, removed : object, str or None
        The cell without them (other types unchanged), and the escaped characters removed (None when none).
    """
    if not isinstance(value, str) or not _CONTROL.search(value):
        return value, None
    removed = "".join(dict.fromkeys(_CONTROL.findall(value)))
    return _CONTROL.sub("", value), visible_escapes(removed)


def rows_to_frame(table: Sequence[Sequence[Any]], match: HeaderMatch, pii_fields: Iterable[str],
                  header_row: int = 1) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """Turn a sheet's data rows into a frame of template columns, skipping fully blank rows.

    Parameters
    ----------
    table : sequence of sequences
        The sheet's rows from row 1 (the header is row ``header_row``).
    match : HeaderMatch
        The header's mapping.
    pii_fields : iterable of str
        Fields dropped here, so personal data goes no further.
    header_row : int
        The header's row number as the spreadsheet shows it (1 when the header is the first row).

    Returns
    -------
    rows : pandas.DataFrame
        ``source_row`` (the spreadsheet's row number) and one object column per matched field.
    changes : list of tuple
        ``(source_row, field, original, cleaned, rule, message)`` per cell whose control characters were
        removed (the original written with visible escapes).
    """
    pii = set(pii_fields)
    kept = {pos: fid for pos, fid in match.columns.items() if fid not in pii}
    if kept and is_plain_text(table[header_row:]):
        return plain_rows_to_frame(table, kept, header_row), []
    return cell_rows_to_frame(table, kept, header_row)


def cell_rows_to_frame(table: Sequence[Sequence[Any]], kept: Mapping[int, str], header_row: int
                       ) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """:func:`rows_to_frame` cell by cell, for any cells: control characters removed, each removal listed."""
    records, changes = [], []
    for number, row in enumerate(table[header_row:], start=header_row + 1):
        if all(_is_blank(v) for v in row):
            continue
        record: dict[str, Any] = {"source_row": number}
        for pos, fid in kept.items():
            value, removed = strip_control(row[pos] if pos < len(row) else None)
            if removed is not None:
                changes.append((number, fid, visible_escapes(row[pos]), value, CONTROL_RULE,
                                f"invisible control characters {removed} removed from the cell; check the "
                                "value and type it again if it looks wrong"))
            record[fid] = value
        records.append(record)
    return pd.DataFrame(records, columns=["source_row", *kept.values()], dtype=object), changes


def is_plain_text(rows: Sequence[Sequence[Any]]) -> bool:
    """Return True when every cell is text and none holds a control character (most text files)."""
    try:
        return _CONTROL.search("".join(map("".join, rows))) is None
    except TypeError:  # a cell that is not text (a workbook's numbers, dates, empty cells)
        return False


def plain_rows_to_frame(table: Sequence[Sequence[Any]], kept: Mapping[int, str], header_row: int
                        ) -> pd.DataFrame:
    """:func:`rows_to_frame` for rows of text without control characters, column by column.

    Nothing is removed from such cells, and a row is blank when its cells joined are empty or only
    whitespace (each cell is then blank); a short row's missing cells are None, as in :func:`rows_to_frame`.
    """
    numbers, rows = [], []
    for number, row in enumerate(table[header_row:], start=header_row + 1):
        joined = "".join(row)
        if joined and not joined.isspace():
            numbers.append(number)
            rows.append(row)
    columns = ["source_row", *kept.values()]
    if not rows:
        return pd.DataFrame([], columns=columns, dtype=object)
    width = max(kept) + 1
    rows = [row if len(row) >= width else [*row, *[None] * (width - len(row))] for row in rows]
    picked = zip(*map(operator.itemgetter(*kept), rows), strict=True) if len(kept) > 1 else (
        map(operator.itemgetter(*kept), rows),)
    data = {"source_row": numbers} | {fid: list(cells) for fid, cells in zip(kept.values(), picked, strict=True)}
    return pd.DataFrame(data, columns=columns, dtype=object)


# --- Text files (CSV, Excel's "Unicode text") ---------------------------------------------------------------

def decode_csv_bytes(data: bytes) -> str:
    """Decode text bytes: a UTF-16 or UTF-8 byte-order mark first, then :data:`CSV_ENCODINGS` in order.

    UTF-16 without a mark is recognised by its zero bytes (every other byte of Latin text is zero).
    """
    for bom, encoding in _UTF16_BOMS.items():
        if data.startswith(bom):
            return _decode(data[len(bom):], encoding)
    if data.startswith(b"\xef\xbb\xbf"):
        return _decode(data[3:], "utf-8")
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(0) * 3 >= len(sample):
        odd_zeros, even_zeros = sample[1::2].count(0), sample[0::2].count(0)
        return _decode(data, "utf-16-le" if odd_zeros > even_zeros else "utf-16-be")
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError("the text encoding is not recognised; save it again as CSV UTF-8")  # pragma: no cover


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise UnreadableFileError(f"the text is not valid {encoding.upper()} (byte {error.start}); "
                                  "save it again as CSV UTF-8") from error


def choose_separator(text: str, lookup: Mapping[str, str]) -> str:
    """Return the separator whose header row best matches the template (ties: :data:`CSV_SEPARATORS` order).

    The header may be any of the first :data:`HEADER_SEARCH_ROWS` lines; only their first
    :data:`HEADER_LINE_CHARS` characters are looked at (a header is short; a 100,000-character note is not).
    """
    head = "\n".join(line[:HEADER_LINE_CHARS] for line in text.splitlines()[:HEADER_SEARCH_ROWS])
    best_separator, best_score = CSV_SEPARATORS[0], -1
    for separator in CSV_SEPARATORS:
        rows = list(csv.reader(io.StringIO(head, newline=""), delimiter=separator))
        score = max((len(match_header(r, lookup).columns) for r in rows), default=0)
        if score > best_score:
            best_separator, best_score = separator, score
    return best_separator


def split_csv_text(text: str, lookup: Mapping[str, str]) -> list[list[str]]:
    """Split text into rows with the separator of :func:`choose_separator`.

    Raises
    ------
    UnreadableFileError
        When a quote is never closed (everything after it would be one cell, rows silently lost), or a cell
        is longer than the csv module's limit.
    """
    separator = choose_separator(text, lookup)
    try:
        # Strict parsing that meets nothing to object to splits exactly as the lenient parsing below does
        # (the two differ only where strict parsing raises), so a well-formed file is split once.
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True))
    except csv.Error:
        pass
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise UnreadableFileError(f"a cell holds more than {csv.field_size_limit():,} characters; shorten "
                                      "it (attach long text as a document) and send the file again") from error
        raise UnreadableFileError(f"the text cannot be split into columns ({error})") from error
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True):
            pass
    except csv.Error as error:
        # Strict parsing also refuses a quote inside a cell ('"x"y'), which spreadsheets accept; only a quote
        # still open at the end of the file loses rows.
        if "unexpected end of data" in str(error):
            raise UnreadableFileError(
                f"row {len(rows)}: a cell opens a quote (\") that is never closed, so every line after it would "
                "be read as that one cell; close the quote or delete it, and send the file again") from error
    return rows


def read_text_table(data: bytes, lookup: Mapping[str, str]) -> list[list[str]]:
    """Read a text export as rows of text (nothing converted).

    Raises
    ------
    UnreadableFileError
        When the file is empty, is binary, or cannot be split into columns.
    """
    text = decode_csv_bytes(data)
    if not _CONTROL.sub("", text).strip():
        raise UnreadableFileError("the file is empty")
    controls = len(_CONTROL.findall(text[:20000]))
    if controls >= BINARY_CONTROL_MIN and controls > BINARY_CONTROL_SHARE * min(len(text), 20000):
        raise UnreadableFileError("not a text file (binary content); open it in Excel and save it again as "
                                  "CSV or as an Excel workbook")
    return split_csv_text(text, lookup)


def read_csv_table(path: Path, lookup: Mapping[str, str]) -> list[list[str]]:
    """Read a CSV or text file as rows of text (see :func:`read_text_table`)."""
    return read_text_table(path.read_bytes(), lookup)


# --- Workbooks ----------------------------------------------------------------------------------------------

def _cell_value(cell: Any, formula_value: Any) -> Any:
    """Return what a person sees in a cell: a percent-formatted 0.82 is the text ``82%``."""
    value = formula_value if cell.data_type == "f" else cell.value
    if isinstance(value, int | float) and not isinstance(value, bool) and "%" in (cell.number_format or ""):
        return f"{round(value * 100, 10):g}%"
    if isinstance(value, dt.time):
        return value.isoformat()
    return getattr(value, "text", value)


def openpyxl_tables(data: bytes) -> list[tuple[str, list[list[Any]]]]:
    """Return each sheet's rows of an ``.xlsx``/``.xlsm``; formulas give their cached value, else their text.

    openpyxl is used here (not calamine) because it sees number formats (a percent cell) and formula text.
    """
    # From the bytes, not the path: openpyxl refuses a workbook by its name (an .xlsx saved as .xls).
    book = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
    cached = None
    if any(c.data_type == "f" for ws in book.worksheets for row in ws.iter_rows() for c in row):
        cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    tables = []
    for sheet in book.worksheets:
        values_sheet = cached[sheet.title] if cached is not None else None
        table = [[_cell_value(c, _formula_result(c, values_sheet)) for c in row] for row in sheet.iter_rows()]
        tables.append((sheet.title, table))
    return tables


def _formula_result(cell: Any, values_sheet: Any) -> Any:
    if cell.data_type != "f" or values_sheet is None:
        return None
    cached = values_sheet.cell(row=cell.row, column=cell.column).value
    # Never computed (e.g. written by a script): keep the formula text, so the parser reports it.
    return cached if cached is not None else getattr(cell.value, "text", cell.value)


def _calamine_value(value: Any) -> Any:
    """Return a calamine cell as openpyxl gives it: blank as None, a date as a datetime, a time as text."""
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool | int | dt.datetime):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.time):
        return value.isoformat()
    return None if value is None else str(value)  # durations, error cells


def calamine_tables(data: bytes) -> list[tuple[str, list[list[Any]]]]:
    """Return each sheet's rows of an ``.xls``/``.ods`` (or any workbook) read with python-calamine.

    Rows start at the sheet's row 1 (``skip_empty_area=False``), so row numbers are the spreadsheet's.
    calamine gives values, not number formats: a percent-formatted cell arrives as its fraction (0.82).
    """
    with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
        return [(name, [[_calamine_value(v) for v in row]
                        for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)])
                for name in book.sheet_names]


def sniff_container(head: bytes) -> str:
    """Name a file's container from its first bytes: ``zip``, ``ole`` (Excel 97-2003) or ``text``."""
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    return "text"


def workbook_tables(data: bytes) -> list[tuple[str, list[list[Any]]]]:
    """Read a workbook's sheets by its content: openpyxl for Office Open XML, calamine for the rest.

    Raises
    ------
    UnreadableFileError
        When the workbook is password-protected or neither reader can open it.
    """
    container = sniff_container(data[:8])
    if container == "ole" and "EncryptedPackage".encode("utf-16-le") in data:
        raise UnreadableFileError("the workbook is password-protected; remove the password (File > Info > "
                                  "Protect Workbook) and send it again")
    # A zip is Office Open XML unless it is an OpenDocument one; a zip too broken to tell goes to openpyxl
    # first, whose error ("BadZipFile") says most about it.
    is_ooxml = container == "zip" and not _zip_has(data, "content.xml")
    readers = (openpyxl_tables, calamine_tables) if is_ooxml else (calamine_tables,)
    error: BaseException | None = None
    for reader in readers:
        try:
            return reader(data)
        except (KeyboardInterrupt, SystemExit):
            raise
        # Corrupt files raise anything, and calamine's Rust panics (pyo3 PanicException) are BaseExceptions;
        # the next reader may still cope.
        except BaseException as exc:
            error = error or exc
    # Worded as before the other formats were read: the committed stage-01 notebook checks this output.
    raise UnreadableFileError(f"not a readable Excel workbook ({type(error).__name__}); "
                              "open it in Excel and save it again as .xlsx")


def _zip_has(data: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return member in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


# --- Files and folders --------------------------------------------------------------------------------------

def file_tables(path: Path, lookup: Mapping[str, str]) -> list[tuple[str | None, list[list[Any]]]]:
    """Return the sheets of one file as rows of cells, choosing the reader by the file's content.

    A text file is one sheet named ``None``. A workbook saved under a text name (or the other way round)
    is still read by what it is.

    Raises
    ------
    UnreadableFileError
        When the file is empty, not a spreadsheet, corrupt or password-protected.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFileError(f"not a spreadsheet ({path.suffix or 'no extension'}); submissions must be "
                                  "Excel or LibreOffice workbooks (.xlsx, .xlsm, .xls, .ods) or CSV/TXT exports")
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFileError("the file is empty")
    if sniff_container(data[:8]) != "text":
        return list(workbook_tables(data))
    if suffix in WORKBOOK_SUFFIXES:
        raise UnreadableFileError(f"not a readable Excel workbook (the {suffix} file holds text, not a "
                                  "workbook); open it in Excel and save it again as .xlsx")
    return [(None, read_text_table(data, lookup))]


def read_submission_file(path: Path, framework: Framework, lookup: Mapping[str, str] | None = None
                         ) -> list[SheetRead]:
    """Read one file's sheets that match the template.

    Parameters
    ----------
    path : Path
        A workbook (``.xlsx``, ``.xlsm``, ``.xls``, ``.ods``) or a text export (``.csv``, ``.txt``).
    framework : Framework
        For the template fields and the personal-data fields.
    lookup : Mapping, optional
        From :func:`header_lookup`; computed when not given.

    Returns
    -------
    list of SheetRead
        One per matching sheet (a text file is one sheet, named ``None``).

    Raises
    ------
    UnreadableFileError
        When the file is empty, corrupt, not a spreadsheet or has no sheet matching the template.
    """
    lookup = lookup if lookup is not None else header_lookup(framework)
    sheets = []
    for sheet_name, table in file_tables(path, lookup):
        found = find_header(table, lookup)
        if found is None:
            continue
        position, match = found
        rows, changes = rows_to_frame(table, match, framework.pii_fields, header_row=position + 1)
        sheets.append(SheetRead(path.name, sheet_name, rows, match.unknown, position + 1, changes))
    if not sheets:
        raise UnreadableFileError(
            f"no sheet has the template's header in its first {HEADER_SEARCH_ROWS} rows (at least "
            f"{MIN_MATCHED_COLUMNS} template columns, including Kode Wilayah or Nama Kabupaten/Kota); copy "
            "the data into the official template")
    return sheets


def skip_reason(path: Path) -> str | None:
    """Return why an entry of the round folder is not read (None when it is tried as a submission)."""
    if path.is_dir():
        return ("a folder: only files directly in the round folder are read; move any submission in it up "
                "into the round folder")
    if path.name.startswith("~$"):
        return "an Office lock file (the workbook was open when the folder was copied): not a submission"
    if path.name.startswith("."):
        return "a hidden file: not a submission"
    if not path.is_file():
        return "not a regular file"
    return None


def list_round_entries(submissions_dir: Path) -> tuple[list[Path], list[dict[str, str]]]:
    """Split a round folder's entries, sorted by name, into files to read and entries skipped with a reason."""
    files, skipped = [], []
    for path in sorted(submissions_dir.iterdir(), key=lambda p: p.name):
        reason = skip_reason(path)
        if reason is None:
            files.append(path)
        else:
            skipped.append({"name": path.name, "reason": reason})
    return files, skipped


def list_submission_files(submissions_dir: Path) -> list[Path]:
    """Return the files of the folder that are tried as submissions, sorted by name."""
    return list_round_entries(submissions_dir)[0]


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
        The rows, the sheets read, the files rejected and the entries skipped with their reason, the unknown
        columns, and the values the reader changed.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist.
    """
    folder = Path(submissions_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {folder}")
    lookup = header_lookup(framework)
    files, skipped = list_round_entries(folder)
    for entry in skipped:
        logger.warning("%s not read: %s", entry["name"], entry["reason"])
    sheets, files_rejected = [], []
    for path in files:
        try:
            sheets.extend(read_submission_file(path, framework, lookup))
        except UnreadableFileError as error:
            logger.warning("%s rejected: %s", path.name, error)
            files_rejected.append({"name": path.name, "reason": str(error)})
    files_read, unknown_columns = [], []
    for sheet in sheets:
        files_read.append({"name": sheet.file, "sheet": sheet.sheet, "header_row": sheet.header_row,
                           "rows": len(sheet.rows)})
        for column in sheet.unknown_columns:
            logger.warning("%s%s: unknown column %r ignored", sheet.file,
                           f" [{sheet.sheet}]" if sheet.sheet else "", column)
            unknown_columns.append({"file": sheet.file, "sheet": sheet.sheet, "column": column})
    rows = _combine([s.rows.assign(source_file=s.file, source_sheet=s.sheet) for s in sheets], framework)
    return SubmissionBatch(rows, files_read, files_rejected, unknown_columns, skipped,
                           _reading_changes(sheets, rows))


def _reading_changes(sheets: list[SheetRead], rows: pd.DataFrame) -> pd.DataFrame:
    """Key each sheet's reading changes by ``row_seq`` (sheets are stacked in reading order)."""
    records, offset = [], 0
    for sheet in sheets:
        seq = dict(zip(sheet.rows["source_row"], range(offset, offset + len(sheet.rows)), strict=True))
        records += [(seq[r], fid, original, cleaned, rule, message)
                    for r, fid, original, cleaned, rule, message in sheet.changes]
        offset += len(sheet.rows)
    frame = pd.DataFrame(records, columns=CHANGE_COLUMNS)
    return frame.astype({"row_seq": "int64"}) if len(frame) else frame


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
