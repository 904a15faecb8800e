"""Read a round's submission files (workbooks and text exports) into one table of rows as typed.

Only the folder itself is read (no sub-folders), files sorted by name; everything else in it (a folder, a
hidden or Office lock file) is listed with the reason it was not read. A file's **content** decides how it is
read, its name only whether it is tried: ``.xlsx``/``.xlsm`` (zip) with python-calamine and openpyxl together,
``.xls`` (Excel 97-2003) and ``.ods`` with python-calamine, an HTML table (what web portals export as ``.xls``)
with BeautifulSoup, ``.csv``/``.txt`` as text in UTF-8 (BOM or not), UTF-16 (Excel's "Unicode text") or
Windows-1252, split on ``;``, ``,`` or tab. A file read as something other than its name says carries a note.
A file's cost follows its data, not its formatting or its declared size: see :data:`MAX_FILE_BYTES` and the
limits after it. In a workbook every sheet whose header row (one of the
first :data:`HEADER_SEARCH_ROWS` rows, so a form's title and blank lines above it are fine) matches the
template is read; instruction sheets are skipped. Headers match a field's id or label (Indonesian
``label_id``, or ``label_en``) ignoring case and spaces. Values are kept as the person typed them, so the
parser sees everything; only invisible control characters are removed, each removal logged. Personal-data
columns (``pii`` fields) are dropped here, before anything else sees them.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import logging
import operator
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

import openpyxl
import pandas as pd
import python_calamine
from bs4 import BeautifulSoup

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
# and so cannot be falsified; a Windows-1252 file with accented letters is almost never valid UTF-8. Bytes
# Windows-1252 leaves undefined are read as Latin-1. In a UTF-8 text only the bytes that are not UTF-8 are
# read as Windows-1252 (decode_marking_strays).
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
# Limits on what one file may cost (docs/reliability.md). A real submission is a few kB to a few MB; the
# largest legitimate shape known, a sheet formatted down to Excel's last row (1,048,576), is an 84 MB part.
MAX_FILE_BYTES = 50_000_000  # any file, as stored on disk
MAX_TEXT_BYTES = 5_000_000  # a text export or an HTML table, read whole (~150,000 rows: about 300 MB to read)
MAX_SHEET_CELLS = 1_000_000  # one sheet's data area, rows x columns (a national batch of 514 rows: ~30,000)
MAX_PART_BYTES = 100_000_000  # one part of a zip workbook (a sheet's XML), unpacked
MAX_UNPACKED_BYTES = 200_000_000  # all parts of a zip workbook together, unpacked
SNIFF_BYTES = 1024  # how much of a file's start names its format
STRAY_RULE = "windows_1252_bytes_read"
NOTE_LINES_SHOWN = 10
_CHUNK = 1 << 20
_STRAY = re.compile("[\udc80-\udcff]+")  # bytes that are not UTF-8, as Python's surrogateescape keeps them
_LINE_BREAK = re.compile("\r\n|\r|\n")  # as a text editor counts lines
_HTML_START = re.compile(rb"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title"
                         rb"|table|style)\b", re.IGNORECASE | re.DOTALL)
_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_WORKSHEET_PART = re.compile(r"(?:^|/)worksheets/[^/]+\.xml$", re.IGNORECASE)
# A formula element, bare or with a namespace prefix (``<f>``, ``<f t="shared" .../>``, ``<x:f>``).
_FORMULA_TOKENS = (b"<f>", b"<f ", b"<f/", b":f>", b":f ", b":f/")
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # a zip member's local header: signature, then name and extra lengths
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
        characters removed, bytes that are not UTF-8 read as Windows-1252).
    notes : tuple of str
        How the file was read when that is worth saying: a file that is not what its name says (an HTML
        table or text saved as ``.xls``), lines whose bytes were not UTF-8.
    """

    file: str
    sheet: str | None
    rows: pd.DataFrame
    unknown_columns: list[str]
    header_row: int = 1
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawTable:
    """One sheet as read, before its header is found.

    Attributes
    ----------
    sheet : str or None
        The sheet's name (None for a text file, or an HTML file holding one table).
    rows : list of list
        The cells from the sheet's row 1 (a text file's first record), so positions give the row numbers.
    notes : tuple of str
        See :attr:`SheetRead.notes`.
    cell_changes : tuple of tuple
        ``(row_number, column_position, original, cleaned, rule, message)`` per cell the reader changed.
    read_as : str or None
        ``"html"`` or ``"text"`` when the file is not what its name says, else None.
    """

    sheet: str | None
    rows: list[list[Any]]
    notes: tuple[str, ...] = ()
    cell_changes: tuple[tuple[Any, ...], ...] = ()
    read_as: str | None = None


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
        ``{name, sheet, header_row, rows}`` per sheet read, with ``notes`` (a list of str) when the reader
        has something to say about how the file was read (see :attr:`SheetRead.notes`).
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
    """Decode text bytes: a UTF-16 or UTF-8 byte-order mark first, then UTF-8, then Windows-1252.

    UTF-16 without a mark is recognised by its zero bytes (every other byte of Latin text is zero). Text that
    is UTF-8 except for a few bytes (a ``café`` typed in another program) stays UTF-8, and only the bytes that
    are not UTF-8 are read as Windows-1252 (see :func:`decode_marking_strays`).
    """
    return repair_strays(decode_marking_strays(data))


def decode_marking_strays(data: bytes) -> str:
    """Decode text bytes as :func:`decode_csv_bytes` does, but leave bytes that are not UTF-8 marked.

    A UTF-8 text (a byte-order mark, or at least one valid multi-byte character) keeps each byte that is not
    UTF-8 as a lone surrogate (Python's ``surrogateescape``: byte 0xE9 is U+DCE9), so the reader can say
    where it was; :func:`repair_strays` reads them as Windows-1252. A text with no multi-byte UTF-8
    character at all is a Windows-1252 file (Excel's "CSV" on Windows) and is decoded whole, nothing marked.
    """
    for bom, encoding in _UTF16_BOMS.items():
        if data.startswith(bom):
            return _decode(data[len(bom):], encoding)
    if data.startswith(b"\xef\xbb\xbf"):  # the file says it is UTF-8: any stray byte is marked
        return data[3:].decode("utf-8", "surrogateescape")
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(0) * 3 >= len(sample):
        odd_zeros, even_zeros = sample[1::2].count(0), sample[0::2].count(0)
        return _decode(data, "utf-16-le" if odd_zeros > even_zeros else "utf-16-be")
    text = data.decode("utf-8", "surrogateescape")
    if _STRAY.search(text) is None or not _has_multibyte_utf8(text):
        return text if _STRAY.search(text) is None else _windows_1252(data)
    return text


def _has_multibyte_utf8(text: str) -> bool:
    """Return True when a decoded text holds a character beyond ASCII that was not a stray byte."""
    return any(ord(c) > 0x7F for c in _STRAY.sub("", text))


def _windows_1252(data: bytes) -> str:
    """Decode Windows-1252; its five undefined bytes as Latin-1 (control characters, removed and logged)."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return "".join(_byte_as_1252(b) for b in data)


def _byte_as_1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


def repair_strays(text: str) -> str:
    """Return ``text`` with each marked byte (see :func:`decode_marking_strays`) read as Windows-1252."""
    return _STRAY.sub(lambda m: "".join(_byte_as_1252(ord(c) - 0xDC00) for c in m.group()), text)


def escape_strays(text: str) -> str:
    r"""Return ``text`` with each marked byte written as an escape (``caf\xe9``)."""
    return _STRAY.sub(lambda m: "".join(f"\\x{ord(c) - 0xDC00:02x}" for c in m.group()), text)


def stray_lines(text: str) -> list[int]:
    """Return the line of each run of marked bytes in ``text``, numbered as a text editor shows them."""
    breaks = [m.end() for m in _LINE_BREAK.finditer(text)]
    return [bisect.bisect_right(breaks, m.start()) + 1 for m in _STRAY.finditer(text)]


def _line_list(lines: Sequence[int]) -> str:
    shown = sorted(set(lines))
    more = len(shown) - NOTE_LINES_SHOWN
    listed = ", ".join(map(str, shown[:NOTE_LINES_SHOWN])) + (f" and {more} more" if more > 0 else "")
    return f"line{'s' if len(shown) > 1 else ''} {listed}"


def stray_note(text: str) -> str | None:
    """Return the note naming the lines whose bytes were not UTF-8 in a UTF-8 text (None when none were)."""
    lines = stray_lines(text)
    if not lines:
        return None
    characters = "".join(dict.fromkeys(repair_strays("".join(m.group() for m in _STRAY.finditer(text)))))
    return (f"{_line_list(lines)}: bytes that are not UTF-8 in an otherwise UTF-8 file, read as Windows-1252 "
            f"({characters}); check the values on those lines and save the file again as CSV UTF-8")


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


def split_csv_text(text: str, lookup: Mapping[str, str], separator: str | None = None) -> list[list[str]]:
    """Split text into rows with ``separator`` (default: the one :func:`choose_separator` picks).

    Raises
    ------
    UnreadableFileError
        When a quote is never closed (everything after it would be one cell, rows silently lost), or a cell
        is longer than the csv module's limit.
    """
    separator = separator if separator is not None else choose_separator(text, lookup)
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
    """Read a text export as rows of text (nothing converted but stray bytes, see :func:`text_table`).

    Raises
    ------
    UnreadableFileError
        When the file is empty, is binary, or cannot be split into columns.
    """
    return text_table(data, lookup).rows


def text_table(data: bytes, lookup: Mapping[str, str]) -> RawTable:
    """Read a text export as one table of text, with a note and a cell change for each stray byte.

    A byte that is not UTF-8 in a UTF-8 file is read as Windows-1252; the note names its line as a text
    editor shows it, and the cell's change (rule :data:`STRAY_RULE`) gives the bytes as they were.

    Raises
    ------
    UnreadableFileError
        When the file is empty, is binary, or cannot be split into columns.
    """
    marked = decode_marking_strays(data)
    text = repair_strays(marked)
    if not _CONTROL.sub("", text).strip():
        raise UnreadableFileError("the file is empty")
    controls = len(_CONTROL.findall(text[:20000]))
    if controls >= BINARY_CONTROL_MIN and controls > BINARY_CONTROL_SHARE * min(len(text), 20000):
        raise UnreadableFileError("not a text file (binary content); open it in Excel and save it again as "
                                  "CSV or as an Excel workbook")
    if _STRAY.search(marked) is None:
        return RawTable(None, split_csv_text(text, lookup))
    rows = split_csv_text(marked, lookup, choose_separator(text, lookup))
    note = stray_note(marked)
    rows, changes = _repair_cells(rows, stray_lines(marked))
    return RawTable(None, rows, (note,) if note else (), changes)


def _repair_cells(rows: list[list[str]], lines: list[int]) -> tuple[list[list[str]], tuple[tuple[Any, ...], ...]]:
    """Read the marked bytes of each cell as Windows-1252, listing each cell changed with its lines.

    Splitting keeps every character but separators and quotes, so the cells' runs of marked bytes come in
    the order of the text's: the k-th run is on the k-th line of ``lines``.
    """
    runs = iter(lines)
    changes = []
    for number, row in enumerate(rows, start=1):
        for position, cell in enumerate(row):
            count = len(_STRAY.findall(cell))
            if not count:
                continue
            cell_lines = [line for line in (next(runs, None) for _ in range(count)) if line is not None]
            repaired = repair_strays(cell)
            bytes_seen = " ".join(dict.fromkeys(escape_strays(m.group()) for m in _STRAY.finditer(cell)))
            changes.append((number, position, escape_strays(cell), repaired, STRAY_RULE,
                            f"{_line_list(cell_lines)} of the file: the bytes {bytes_seen} are not UTF-8 (the rest "
                            "of the file is) and were read as Windows-1252; check the value and save the file "
                            "again as CSV UTF-8"))
            row[position] = repaired
    return rows, tuple(changes)


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

    Bounded by the data, not by the formatting: python-calamine (values only) says where each sheet's data
    ends and holds the formulas' cached values; openpyxl, in read-only mode, then streams each sheet once down
    to that row, for what calamine does not see: number formats (a percent cell) and formula text. A formula
    never computed (a workbook written by a script) has no value for calamine, so the rows are read down to the
    last row holding a formula too (:func:`last_formula_row`). Rows after the last one with a value are not
    kept, however far the sheet's formatting goes. When calamine cannot open the workbook, openpyxl alone
    streams every row (slower on a heavily formatted sheet) and formulas give their text.
    """
    formula_row = last_formula_row(data)
    values = _calamine_book(data)
    # From the bytes, not the path: openpyxl refuses a workbook by its name (an .xlsx saved as .xls).
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        return [(sheet.title, _sheet_rows(sheet, values, formula_row)) for sheet in book.worksheets]
    finally:
        book.close()
        if values is not None:
            values.close()


def _calamine_book(data: bytes) -> Any:
    """Open a workbook with python-calamine, or return None when it cannot (openpyxl may still)."""
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # calamine's Rust panics (pyo3 PanicException) are BaseExceptions
        return None


def _calamine_sheet(values: Any, title: str) -> Any:
    if values is None or title not in values.sheet_names:
        return None
    return values.get_sheet_by_name(title)


def _sheet_rows(sheet: Any, values: Any, formula_row: int) -> list[list[Any]]:
    """Stream one read-only sheet's rows down to its last row with data; formulas filled by :func:`_formulas`."""
    values_sheet = _calamine_sheet(values, sheet.title)
    last_row = None
    if values_sheet is not None:
        end = values_sheet.end
        check_sheet_cells(sheet.title, end)
        last_row = max(0 if end is None else end[0] + 1, formula_row)
        if last_row == 0:
            return []
    sheet.reset_dimensions()  # the declared dimension may be the whole formatted area: pad rows to nothing
    table: list[list[Any]] = []
    formulas: list[tuple[int, int, Any]] = []
    blank_run = kept_cells = 0
    for number, row in enumerate(sheet.iter_rows(max_row=last_row), start=1):
        cells = []
        for position, cell in enumerate(row):
            if cell.data_type == "f":
                formulas.append((number, position, cell))
            cells.append(_cell_value(cell, None) if cell.data_type != "f" else cell.value)
        if all(v is None for v in cells):
            blank_run += 1  # kept only when a row with data follows: trailing formatted rows cost nothing
            continue
        table.extend([] for _ in range(blank_run))
        blank_run, kept_cells = 0, kept_cells + len(cells)
        if kept_cells > MAX_SHEET_CELLS:  # only without calamine's data area to check first
            raise _too_many_cells(sheet.title)
        table.append(cells)
    _formulas(table, formulas, values_sheet)
    return table


def _formulas(table: list[list[Any]], formulas: list[tuple[int, int, Any]], values_sheet: Any) -> None:
    """Put each formula's cached value (from calamine) in ``table``; one never computed keeps its text."""
    if not formulas:
        return
    cached_rows = [] if values_sheet is None else values_sheet.to_python(
        skip_empty_area=False, nrows=max(number for number, _, _ in formulas))
    for number, position, cell in formulas:
        row = cached_rows[number - 1] if number <= len(cached_rows) else []
        cached = _calamine_value(row[position]) if position < len(row) else None
        # Never computed (e.g. written by a script): keep the formula text, so the parser reports it.
        table[number - 1][position] = _cell_value(cell, cached if cached is not None
                                                  else getattr(cell.value, "text", cell.value))


def check_sheet_cells(title: str, end: tuple[int, int] | None) -> None:
    """Refuse a sheet whose data area (from row 1, column A to ``end``) holds over :data:`MAX_SHEET_CELLS` cells."""
    if end is not None and (end[0] + 1) * (end[1] + 1) > MAX_SHEET_CELLS:
        raise _too_many_cells(title)


def _too_many_cells(title: str) -> UnreadableFileError:
    return UnreadableFileError(f"sheet {title} holds more than {MAX_SHEET_CELLS:,} cells of data (rows x columns), "
                               "beyond what a submission may have (a real one holds a few thousand); the file was "
                               "not read. Send only the template's sheet with your region's rows")


def last_formula_row(data: bytes) -> int:
    """Return the last row holding a formula in any worksheet of a zip workbook (0 when there is none).

    Each worksheet part is streamed: first a byte search for a formula element, and only when one is there a
    light XML pass (expat, no DTD allowed) that notes the row of each formula element.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [name for name in archive.namelist() if _WORKSHEET_PART.search(name)]
        return max((_part_last_formula_row(archive, part) for part in parts), default=0)


def _part_last_formula_row(archive: zipfile.ZipFile, part: str) -> int:
    with archive.open(part) as stream:
        if not _holds_formula(stream):
            return 0
    with archive.open(part) as stream:
        return _formula_rows(stream)


def _holds_formula(stream: io.BufferedIOBase) -> bool:
    tail = b""
    while chunk := stream.read(_CHUNK):
        window = tail + chunk
        if any(token in window for token in _FORMULA_TOKENS):
            return True
        tail = window[-8:]
    return False


def _formula_rows(stream: io.BufferedIOBase) -> int:
    """Return the row of the last formula element in a worksheet's XML (rows without ``r`` follow the last)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    rows = {"current": 0, "last_formula": 0}

    def start(name: str, attributes: dict[str, str]) -> None:
        local = name.rpartition(" ")[2]
        if local == "row":
            number = attributes.get("r", "")
            rows["current"] = int(number) if number.isdigit() else rows["current"] + 1
        elif local == "f":
            rows["last_formula"] = rows["current"]

    def refuse_doctype(*_: Any) -> None:
        raise ValueError("a worksheet declares a DOCTYPE (entities), which no spreadsheet program writes")

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.ParseFile(stream)
    return rows["last_formula"]


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
        tables = []
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            check_sheet_cells(name, sheet.end)
            tables.append((name, [[_calamine_value(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]))
        return tables


def sniff_container(head: bytes) -> str:
    """Name a file's format from its first bytes (:data:`SNIFF_BYTES`): ``zip``, ``ole``, ``html`` or ``text``.

    ``ole`` is Excel 97-2003 (or an encrypted Office file); ``html`` a web page, what many portals and web
    applications export under an ``.xls`` name.
    """
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    if _HTML_START.match(head.removeprefix(b"\xef\xbb\xbf")):
        return "html"
    return "text"


def workbook_tables(data: bytes) -> list[tuple[str, list[list[Any]]]]:
    """Read a workbook's sheets by its content: openpyxl for Office Open XML, calamine for the rest.

    Raises
    ------
    UnreadableFileError
        When the workbook is password-protected, unpacks beyond the limits (:func:`check_zip_sizes`), or
        neither reader can open it.
    """
    container = sniff_container(data[:8])
    if container == "ole" and "EncryptedPackage".encode("utf-16-le") in data:
        raise UnreadableFileError("the workbook is password-protected; remove the password (File > Info > "
                                  "Protect Workbook) and send it again")
    if container == "zip":
        check_zip_sizes(data)
    # A zip is Office Open XML unless it is an OpenDocument one; a zip too broken to tell goes to openpyxl
    # first, whose error ("BadZipFile") says most about it.
    is_ooxml = container == "zip" and not _zip_has(data, "content.xml")
    readers = (openpyxl_tables, calamine_tables) if is_ooxml else (calamine_tables,)
    error: BaseException | None = None
    for reader in readers:
        try:
            return reader(data)
        except (KeyboardInterrupt, SystemExit, UnreadableFileError):
            raise  # a limit reached is the reason itself; no other reader is tried
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


# --- Limits on what a zip workbook unpacks to -----------------------------------------------------------------

def check_zip_sizes(data: bytes) -> None:
    """Refuse a zip workbook whose parts unpack beyond :data:`MAX_PART_BYTES` or, together, :data:`MAX_UNPACKED_BYTES`.

    The sizes the zip declares are checked first (nothing is unpacked for a part declared too large); then
    every part is unpacked, counting its bytes and keeping none, so a header that declares less than the part
    really holds is caught too. The cost is bounded by the limits. A zip too broken to list is left to the
    readers, whose error says so.

    Raises
    ------
    UnreadableFileError
        Naming the part, its size and the limit, and what to do.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    with archive:
        parts = archive.infolist()
    for part in parts:
        if part.file_size > MAX_PART_BYTES:
            raise _too_large(f"part {part.filename} of the workbook declares {_mb(part.file_size)} unpacked, beyond "
                             f"the {_mb(MAX_PART_BYTES)} a part may have")
    if sum(p.file_size for p in parts) > MAX_UNPACKED_BYTES:
        raise _too_large(f"the workbook declares {_mb(sum(p.file_size for p in parts))} unpacked, beyond the "
                         f"{_mb(MAX_UNPACKED_BYTES)} a workbook may have")
    total = 0
    for part in parts:
        size = unpacked_size(data, part, MAX_PART_BYTES)
        if size is None:
            continue
        if size > MAX_PART_BYTES:
            raise _too_large(f"part {part.filename} of the workbook unpacks to more than {_mb(MAX_PART_BYTES)} "
                             f"although its header declares {_mb(part.file_size)}: the file is damaged or made "
                             "to exhaust memory")
        total += size
        if total > MAX_UNPACKED_BYTES:
            raise _too_large(f"the workbook unpacks to more than {_mb(MAX_UNPACKED_BYTES)}, beyond what its "
                             "headers declare")


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _too_large(reason: str) -> UnreadableFileError:
    return UnreadableFileError(f"{reason} (a real submission is a few MB); the file was not read. Delete unused "
                               "rows and formatting, or copy the data into a new workbook, and send it again")


def unpacked_size(data: bytes, part: zipfile.ZipInfo, limit: int) -> int | None:
    """Return how many bytes a zip part really unpacks to, counting no further than just past ``limit``.

    The part's data is found from its local header and inflated in chunks that are counted and dropped;
    the declared size is not trusted. None when that cannot be told (an unknown compression, an encrypted
    part, damaged data): the readers then report the file as they find it.
    """
    header = data[part.header_offset:part.header_offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size:
        return None
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != _ZIP_MAGIC or part.flag_bits & 0x1:
        return None
    start = part.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    packed = memoryview(data)[start:start + part.compress_size]
    if part.compress_type == zipfile.ZIP_STORED:
        return len(packed)
    if part.compress_type != zipfile.ZIP_DEFLATED:
        return None
    try:
        return _inflated_size(packed, limit)
    except zlib.error:
        return None


def _inflated_size(packed: memoryview, limit: int) -> int:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    for offset in range(0, len(packed), _CHUNK):
        pending = packed[offset:offset + _CHUNK]
        while pending and not inflater.eof:
            total += len(inflater.decompress(pending, _CHUNK))
            if total > limit:
                return total
            pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    return total


# --- HTML tables saved with a spreadsheet's name --------------------------------------------------------------

def html_tables(data: bytes) -> list[tuple[str | None, list[list[str]]]]:
    """Return the tables of an HTML page as rows of text, as a browser (or Excel) lays them out.

    Header (``<th>``) and data (``<td>``) cells alike; a cell's text with its spaces collapsed; a cell spanning
    columns or rows leaves its other places empty, as a merged cell in a workbook does. One table is one sheet
    named None, several are ``table 1``, ``table 2``... in the page's order (nested tables are their own).

    Raises
    ------
    UnreadableFileError
        When the page holds no table.
    """
    soup = BeautifulSoup(_html_text(data), "html.parser")
    tables = [_html_rows(table) for table in soup.find_all("table")]
    tables = [rows for rows in tables if rows]
    if not tables:
        raise UnreadableFileError("the file is a web page (HTML) with no table in it, not a spreadsheet; open "
                                  "it in Excel and save it again as .xlsx")
    if len(tables) == 1:
        return [(None, tables[0])]
    return [(f"table {number}", rows) for number, rows in enumerate(tables, start=1)]


def _html_text(data: bytes) -> str:
    """Decode an HTML page by the charset its ``<meta>`` declares, else as a text export is decoded."""
    declared = _HTML_CHARSET.search(data[:SNIFF_BYTES * 4])
    if declared is not None:
        name = declared.group(1).decode("ascii").lower()
        if name.replace("-", "").replace("_", "") not in ("utf8", "unicode"):
            try:
                return data.decode(name, "replace")
            except LookupError:
                pass
    return decode_csv_bytes(data)


def _html_rows(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    covered: dict[int, int] = {}  # column -> rows still covered by a cell spanning rows above
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        row: list[str] = []
        for cell in tr.find_all(["td", "th"], recursive=False):
            _skip_covered(row, covered)
            across, down = _span(cell, "colspan"), _span(cell, "rowspan")
            for column in range(len(row), len(row) + across):
                if down > 1:
                    covered[column] = down - 1
            row += [" ".join(cell.get_text(" ").split()), *[""] * (across - 1)]
        while any(column >= len(row) for column in covered):
            row.append("")
            _skip_covered(row, covered)
        rows.append(row)
    return rows


def _skip_covered(row: list[str], covered: dict[int, int]) -> None:
    """Leave empty the places of ``row`` that a cell above still covers (its ``rowspan``)."""
    while covered.get(len(row), 0) > 0:
        covered[len(row)] -= 1
        if not covered[len(row)]:
            del covered[len(row)]
        row.append("")


def _span(cell: Any, attribute: str) -> int:
    """Return a cell's ``colspan``/``rowspan`` (1 when missing or not a number), at most 1,000."""
    text = str(cell.get(attribute, "1")).strip()
    return min(max(int(text), 1), 1000) if text.isdigit() else 1


# --- Files and folders --------------------------------------------------------------------------------------

def file_tables(path: Path, lookup: Mapping[str, str]) -> list[RawTable]:
    """Return the sheets of one file as rows of cells, choosing the reader by the file's content.

    A text file is one sheet named ``None``. A workbook saved under a text name (or the other way round)
    is still read by what it is; an HTML table or a text export saved under a workbook's name is read as HTML
    or text, with a note saying so.

    Raises
    ------
    UnreadableFileError
        When the file is empty, too large (:data:`MAX_FILE_BYTES`, :data:`MAX_TEXT_BYTES`), not a
        spreadsheet, corrupt or password-protected.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFileError(f"not a spreadsheet ({path.suffix or 'no extension'}); submissions must be "
                                  "Excel or LibreOffice workbooks (.xlsx, .xlsm, .xls, .ods) or CSV/TXT exports")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _too_large_file(size, MAX_FILE_BYTES)
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFileError("the file is empty")
    container = sniff_container(data[:SNIFF_BYTES])
    if container in ("zip", "ole"):
        return [RawTable(sheet, rows) for sheet, rows in workbook_tables(data)]
    if len(data) > MAX_TEXT_BYTES:
        raise _too_large_file(len(data), MAX_TEXT_BYTES)
    if container == "html":
        note = f"the file is an HTML table saved with a {suffix} name (as web portals export); read as HTML"
        return [RawTable(sheet, rows, (note,), read_as="html") for sheet, rows in html_tables(data)]
    if suffix not in WORKBOOK_SUFFIXES:
        return [text_table(data, lookup)]
    try:
        table = text_table(data, lookup)
    except UnreadableFileError as error:
        raise _text_not_workbook(suffix) from error
    note = f"the file is text (CSV or tab-separated) saved with a {suffix} name; read as text"
    return [RawTable(None, table.rows, (note, *table.notes), table.cell_changes, read_as="text")]


def _too_large_file(size: int, limit: int) -> UnreadableFileError:
    return UnreadableFileError(f"the file is {_mb(size)}, beyond the {_mb(limit)} a submission of this kind may "
                               "have (a real one is a few MB); the file was not read. Send only the data "
                               "sheet, without unused rows or pictures")


def _text_not_workbook(suffix: str) -> UnreadableFileError:
    return UnreadableFileError(f"not a readable Excel workbook (the {suffix} file holds text, not a workbook); "
                               "open it in Excel and save it again as .xlsx")


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
    tables = file_tables(path, lookup)
    for table in tables:
        found = find_header(table.rows, lookup)
        if found is None:
            continue
        position, match = found
        rows, changes = rows_to_frame(table.rows, match, framework.pii_fields, header_row=position + 1)
        changes = _reading_cell_changes(table, match, rows, framework.pii_fields) + changes
        sheets.append(SheetRead(path.name, table.sheet, rows, match.unknown, position + 1, changes, table.notes))
    if not sheets and tables and all(t.read_as == "text" for t in tables):
        raise _text_not_workbook(path.suffix.lower())
    if not sheets:
        raise UnreadableFileError(
            f"no sheet has the template's header in its first {HEADER_SEARCH_ROWS} rows (at least "
            f"{MIN_MATCHED_COLUMNS} template columns, including Kode Wilayah or Nama Kabupaten/Kota); copy "
            "the data into the official template")
    return sheets


def _reading_cell_changes(table: RawTable, match: HeaderMatch, rows: pd.DataFrame, pii_fields: Iterable[str]
                          ) -> list[tuple[Any, ...]]:
    """Key a table's cell changes by row and field: those in a template column of a data row read, not personal.

    The others (a header cell, an unknown column, a personal-data column) are told by the table's note.
    """
    pii, kept_rows = set(pii_fields), set(rows["source_row"])
    changes = []
    for number, position, original, cleaned, rule, message in table.cell_changes:
        field_id = match.columns.get(position)
        if field_id is not None and field_id not in pii and number in kept_rows:
            changes.append((number, field_id, original, cleaned, rule, message))
    return changes


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
                           "rows": len(sheet.rows)} | ({"notes": list(sheet.notes)} if sheet.notes else {}))
        for note in sheet.notes:
            logger.warning("%s%s: %s", sheet.file, f" [{sheet.sheet}]" if sheet.sheet else "", note)
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
