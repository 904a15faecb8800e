"""Parse submitted values by field type (the framework's ``type``), saying what changed and why.

Every parser takes what the person typed (text from a CSV, or the cell value openpyxl read: ``str``,
``int``, ``float``, ``bool``, ``datetime``) and returns a :class:`Parsed`: the typed value (``None`` when
missing), the rule that changed it (``None`` when nothing was done) and a plain-language message. The rules
are stable identifiers documented in ``docs/cleaning.md``; an ambiguous value is never guessed, it becomes
missing with its own rule.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from smartcity_analysis.config import Framework

NUMERIC_TYPES = frozenset({"integer", "number", "money", "percent", "likert"})
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# Serial numbers Excel shows as dates between 1954 and 2119: wide enough for any submission date.
_EXCEL_SERIAL_RANGE = (20000, 80000)


@dataclass(frozen=True)
class Parsed:
    """The outcome of parsing one value.

    Attributes
    ----------
    value : object
        The typed value, or ``None`` when missing.
    rule : str or None
        The rule that changed or rejected the value; ``None`` when the value passed as typed.
    message : str
        What happened and, when the value was rejected, what to do; empty when nothing happened.
    """

    value: Any
    rule: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Vocabulary:
    """The framework's vocabulary, lower-cased once for fast look-ups."""

    missing_markers: frozenset[str]
    true_words: frozenset[str]
    false_words: frozenset[str]
    in_progress_words: frozenset[str]
    ordinal_variants: Mapping[str, Mapping[str, str]]
    month_names: Mapping[str, int]
    money_multipliers: Mapping[str, float]

    @classmethod
    def from_framework(cls, framework: Framework) -> Vocabulary:
        """Build the look-up tables from ``framework.vocabulary``."""
        vocab = framework.vocabulary

        def words(key: str) -> frozenset[str]:
            return frozenset(_lower(w) for w in vocab.get(key, ()))

        variants = {
            field_id: {_lower(k): str(v).lower() for k, v in table.items()}
            for field_id, table in (vocab.get("ordinal_variants") or {}).items()
        }
        return cls(
            missing_markers=words("missing_markers"),
            true_words=words("true_words"),
            false_words=words("false_words"),
            in_progress_words=words("in_progress_words"),
            ordinal_variants=variants,
            month_names={_lower(k): int(v) for k, v in (vocab.get("month_names") or {}).items()},
            money_multipliers={_lower(k): float(v)
                               for k, v in (vocab.get("money_multipliers") or {}).items()},
        )


@dataclass(frozen=True)
class FieldSpec:
    """What the parser needs to know about one template field."""

    id: str
    label: str
    type: str
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FieldSpec:
        """Build a spec from one row of ``Framework.fields``."""
        return cls(
            id=str(row["id"]),
            label=str(row["label_id"]),
            type=str(row["type"]),
            min=_optional_float(row.get("min")),
            max=_optional_float(row.get("max")),
            allowed=tuple(str(a).lower() for a in (row.get("allowed") or [])),
        )


def field_specs(framework: Framework) -> dict[str, FieldSpec]:
    """Return a :class:`FieldSpec` per template field id, in template order."""
    return {fid: FieldSpec.from_row(row) for fid, row in framework.fields.iterrows()}


# --- Canonical text: what decides whether a value "changed" -------------------------------------------------

def canonical_text(value: Any) -> str:
    """Return the text a value shows, used to decide whether cleaning changed it.

    ``None`` and NaN are ``""``; booleans ``true``/``false``; integral numbers without a decimal part
    (``3204.0`` -> ``3204``); other floats in their shortest form; a datetime at midnight as its ISO date,
    otherwise ISO date and time; text as typed.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def is_blank(value: Any) -> bool:
    """Return True for an empty cell: ``None``, NaN or text that is empty once trimmed."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not _SPACES.sub("", value)


# --- Numbers ------------------------------------------------------------------------------------------------

_PLAIN_INT = re.compile(r"\d+")
_DOT_DECIMAL = re.compile(r"\d+\.\d+")
_COMMA_DECIMAL = re.compile(r"\d+,\d+")
_ONE_GROUP_DOT = re.compile(r"[1-9]\d{0,2}\.\d{3}")
_ONE_GROUP_COMMA = re.compile(r"[1-9]\d{0,2},\d{3}")
_ID_THOUSANDS = re.compile(r"[1-9]\d{0,2}(\.\d{3})+(,\d+)?")
_EN_THOUSANDS = re.compile(r"[1-9]\d{0,2}(,\d{3})+(\.\d+)?")


def number_readings(text: str) -> list[tuple[float, str | None]]:
    """Return every plausible reading of a typed number as ``(value, rule)`` pairs.

    ``1.234`` has two readings (1.234 and Indonesian thousands 1234), as has ``1,234`` (Indonesian decimal
    1.234 and English thousands 1234); every other form has at most one. The rule is ``None`` for a plain
    number (``72``, ``72.45``), ``id_number_format`` for Indonesian separators and ``en_number_format`` for
    English thousands separators.

    Examples
    --------
    >>> number_readings("1.234.567,89")
    [(1234567.89, 'id_number_format')]
    >>> number_readings("1.234")
    [(1.234, None), (1234.0, 'id_number_format')]
    """
    body = _SPACES.sub("", text)
    sign = -1.0 if body.startswith("-") else 1.0
    body = body.lstrip("+-")
    if _PLAIN_INT.fullmatch(body):
        return [(sign * float(body), None)]
    if _ONE_GROUP_DOT.fullmatch(body):
        return [(sign * float(body), None), (sign * float(body.replace(".", "")), "id_number_format")]
    if _ONE_GROUP_COMMA.fullmatch(body):
        return [(sign * float(body.replace(",", ".")), "id_number_format"),
                (sign * float(body.replace(",", "")), "en_number_format")]
    if _DOT_DECIMAL.fullmatch(body):
        return [(sign * float(body), None)]
    if _COMMA_DECIMAL.fullmatch(body):
        return [(sign * float(body.replace(",", ".")), "id_number_format")]
    if _ID_THOUSANDS.fullmatch(body):
        return [(sign * float(body.replace(".", "").replace(",", ".")), "id_number_format")]
    if _EN_THOUSANDS.fullmatch(body):
        return [(sign * float(body.replace(",", "")), "en_number_format")]
    return []


def _in_range(value: float, spec: FieldSpec) -> bool:
    return (spec.min is None or value >= spec.min) and (spec.max is None or value <= spec.max)


def choose_reading(readings: list[tuple[float, str | None]], spec: FieldSpec, prefer_whole: bool) -> Parsed:
    """Pick one reading, or return missing with ``ambiguous_number`` when more than one fits.

    With ``prefer_whole`` (integer and money fields, whose values are whole) the only whole reading wins,
    so ``1.234`` is 1234. Otherwise the readings inside the field's range are kept; one left is the value,
    none or several is ambiguous.
    """
    if len(readings) == 1:
        value, rule = readings[0]
        return Parsed(value, rule)
    if prefer_whole:
        whole = [r for r in readings if float(r[0]).is_integer()]
        if len(whole) == 1:
            return Parsed(*whole[0])
    fitting = [r for r in readings if _in_range(r[0], spec)]
    if len(fitting) == 1:
        return Parsed(*fitting[0])
    shown = " or ".join(canonical_text(v) for v, _ in readings)
    return Parsed(None, "ambiguous_number",
                  f"could be {shown}; write the number without thousands separators (e.g. 1234 or 1,234)")


def _number_from_cell(value: Any) -> Parsed | None:
    """Return a Parsed for a numeric cell (int or float), or None for text."""
    if isinstance(value, bool):
        return Parsed(None, "unparseable_number", "a yes/no cell where a number is expected")
    if isinstance(value, int | float):
        return Parsed(float(value))
    return None


def parse_number(value: Any, spec: FieldSpec, prefer_whole: bool = False) -> Parsed:
    """Parse an Indonesian- or English-formatted number (``number`` fields and the base of the others)."""
    from_cell = _number_from_cell(value)
    if from_cell is not None:
        return from_cell
    readings = number_readings(str(value).strip())
    if not readings:
        return Parsed(None, "unparseable_number", "not a number; type digits only, e.g. 72,45")
    return choose_reading(readings, spec, prefer_whole)


def parse_integer(value: Any, spec: FieldSpec) -> Parsed:
    """Parse a whole number; ``1.234`` is Indonesian thousands (1234), ``3204.0`` is 3204."""
    return _whole(parse_number(value, spec, prefer_whole=True))


def _whole(parsed: Parsed) -> Parsed:
    """Return a parsed number as an ``int``, or missing with ``not_an_integer`` when it has a fraction."""
    if parsed.value is None:
        return parsed
    if not float(parsed.value).is_integer():
        return Parsed(None, "not_an_integer", "a whole number is expected here")
    return Parsed(int(parsed.value), parsed.rule)


_CURRENCY_PREFIX = re.compile(r"(rp\.?|idr)\s*")
_AMOUNT = re.compile(r"([-+]?\d[\d.,\s]*?)\s*([a-z]+)?\.?")


def parse_money(value: Any, spec: FieldSpec, multipliers: Mapping[str, float]) -> Parsed:
    """Parse a rupiah amount: ``Rp 12,5 M`` is 1.25e10 (``M`` is miliar), ``750 jt`` 7.5e8.

    A currency prefix (``Rp``, ``Rp.``, ``IDR``), a trailing ``,-`` or ``rupiah`` and a multiplier word
    (``money_multipliers``) are recognised. Without a multiplier the amount is whole rupiah, so ``1.234``
    is 1234; before a multiplier an ambiguous amount is read the Indonesian way (``20.727 jt`` is
    20 727 juta, ``1,5 M`` is 1.5 miliar).
    """
    from_cell = _number_from_cell(value)
    if from_cell is not None:
        return from_cell
    text = _SPACES.sub(" ", str(value)).strip().lower()
    prefix = _CURRENCY_PREFIX.match(text)
    text = text[prefix.end():] if prefix else text
    text = re.sub(r"(,-|\.-|rupiah)$", "", text).strip()
    match = _AMOUNT.fullmatch(text)
    unreadable = Parsed(None, "unparseable_number", "not an amount; type rupiah digits, e.g. 1.250.000.000")
    if match is None:
        return unreadable
    suffix = match[2] or ""
    if suffix and suffix not in multipliers:
        return Parsed(None, "unparseable_number", f"unknown unit {suffix!r}; use rb, jt, M or T")
    readings = number_readings(match[1])
    if not readings:
        return unreadable
    return _amount(readings, suffix, prefix is not None, spec, multipliers)


def _amount(readings: list[tuple[float, str | None]], suffix: str, prefixed: bool, spec: FieldSpec,
            multipliers: Mapping[str, float]) -> Parsed:
    """Return a rupiah amount from its number's readings, its multiplier word and whether it had a prefix."""
    factor = multipliers.get(suffix, 1.0)
    scaled = [(round(v * factor, 6), rule) for v, rule in readings]
    indonesian = [r for r in scaled if r[1] == "id_number_format"]
    if suffix and len(scaled) > 1 and len(indonesian) == 1:
        # Before a multiplier the amount is read the Indonesian way: `20.727 jt` is 20 727 juta,
        # `1,234 M` is 1.234 miliar.
        scaled = indonesian
    parsed = choose_reading(scaled, spec, prefer_whole=not suffix)
    if parsed.value is None:
        return parsed
    return Parsed(parsed.value, "money_shorthand" if (suffix or prefixed) else parsed.rule)


def parse_percent(value: Any, spec: FieldSpec) -> Parsed:
    """Parse a percentage (``82%``, ``82``, ``82,5``); a fraction below 1 without ``%`` is ambiguous."""
    from_cell = _number_from_cell(value)
    text = "" if from_cell is not None else str(value).strip()
    has_sign = text.endswith("%")
    return _percent(from_cell or parse_number(text.rstrip("%").strip(), spec), has_sign)


def _percent(parsed: Parsed, has_sign: bool) -> Parsed:
    """Return a parsed number as a percentage: a fraction below 1 without ``%`` is ambiguous."""
    if parsed.value is None:
        return parsed
    if not has_sign and 0 < parsed.value < 1:
        return Parsed(None, "ambiguous_percent_fraction",
                      f"{canonical_text(parsed.value)} could mean {canonical_text(parsed.value)} % or "
                      f"{canonical_text(round(parsed.value * 100, 10))} %; "
                      "type the percentage, e.g. 82 or 82 %")
    return Parsed(parsed.value, "percent_sign" if has_sign else parsed.rule)


def parse_boolean(value: Any, vocab: Vocabulary) -> Parsed:
    """Parse yes/no words; in-progress words (``Proses``) are neither and become missing."""
    if isinstance(value, bool):
        return Parsed(value)
    word = _lower(canonical_text(value))
    if word in vocab.true_words:
        return Parsed(True, "yes_no_word")
    if word in vocab.false_words:
        return Parsed(False, "yes_no_word")
    if word in vocab.in_progress_words:
        return Parsed(None, "in_progress_not_boolean",
                      "'in progress' is neither yes nor no; "
                      "answer Ya or Tidak (Tidak while not yet in place)")
    return Parsed(None, "unparseable_boolean", "not a yes/no answer; type Ya or Tidak")


def parse_ordinal(value: Any, spec: FieldSpec, vocab: Vocabulary) -> Parsed:
    """Map an ordinal word or a known variant to the field's lower-case allowed word."""
    word = _lower(canonical_text(value))
    variants = vocab.ordinal_variants.get(spec.id, {})
    target = variants.get(word) or (word if word in spec.allowed else None)
    if target is None:
        return Parsed(None, "unparseable_ordinal", f"not one of: {', '.join(spec.allowed)}")
    return Parsed(target, "ordinal_variant")


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DAY_FIRST = re.compile(
    r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:\s+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?")
_MONTH_NAME = re.compile(r"(?:[a-z]+,?\s+)?(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})(?:,?\s+(\d{1,2})[:.](\d{2}))?")


def _make_datetime(parts: tuple[Any, ...]) -> dt.datetime | None:
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in parts)
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def excel_serial_to_datetime(serial: float) -> dt.datetime:
    """Convert an Excel serial day number (1900 system, e.g. 44508) to a datetime (2021-11-08)."""
    return _EXCEL_EPOCH + dt.timedelta(days=float(serial))


def parse_datetime(value: Any, vocab: Vocabulary) -> Parsed:
    """Parse a date: Excel date cells and serials, ISO, day-first ``03/11/2021``, ``9 Nopember 2021``."""
    if isinstance(value, dt.datetime):
        return Parsed(value)
    if isinstance(value, dt.date):
        return Parsed(dt.datetime(value.year, value.month, value.day))
    text = _SPACES.sub(" ", canonical_text(value).strip().lower())
    unreadable = Parsed(None, "unparseable_date", "not a date; type it as day/month/year, e.g. 03/11/2021")
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        serial = float(text)
        if not _EXCEL_SERIAL_RANGE[0] <= serial <= _EXCEL_SERIAL_RANGE[1]:
            return unreadable
        return Parsed(excel_serial_to_datetime(serial), "excel_date_serial")
    if m := _ISO_DATE.fullmatch(text):
        parsed, rule = _make_datetime((m[1], m[2], m[3], m[4], m[5], m[6])), "date_format"
    elif m := _DAY_FIRST.fullmatch(text):
        year = m[3] if len(m[3]) == 4 else f"20{m[3]}"
        parsed, rule = _make_datetime((year, m[2], m[1], m[4], m[5], m[6])), "day_first_date"
    elif (m := _MONTH_NAME.fullmatch(text)) and m[2] in vocab.month_names:
        month = vocab.month_names[m[2]]
        parsed, rule = _make_datetime((m[3], month, m[1], m[4], m[5], None)), "month_name_date"
    else:
        return unreadable
    return Parsed(parsed, rule) if parsed is not None else unreadable


def parse_text(value: Any) -> Parsed:
    """Trim text; numbers typed in a text cell become their text (``3.0`` -> ``3``)."""
    text = canonical_text(value).strip()
    return Parsed(text, "trimmed")


def parse_free_text(value: Any) -> Parsed:
    """Keep notes as text, neutralising a leading formula character with ``'`` (markup is kept as text)."""
    text = canonical_text(value).strip()
    if text.startswith(_FORMULA_STARTS):
        return Parsed("'" + text, "formula_neutralised",
                      "starts like a spreadsheet formula; kept as text with a leading '")
    return Parsed(text, "trimmed")


def parse_value(value: Any, spec: FieldSpec, vocab: Vocabulary) -> Parsed:
    """Parse one submitted value according to its field's type, then check its range.

    A blank cell is missing with no rule (nothing changed). Missing markers (``-``, ``n/a``) come next,
    except words that mean something for the field (``none`` is an ordinal variant of
    ``smart_city_regulation``). Then the type's parser runs, and numbers outside ``min``/``max`` become
    missing with ``out_of_range``.

    Parameters
    ----------
    value : object
        The cell as read (text, number, bool, datetime or None).
    spec : FieldSpec
        The field's type, range and allowed words.
    vocab : Vocabulary
        The framework's vocabulary.

    Returns
    -------
    Parsed
        The typed value (``None`` when missing), the rule applied, and a message.
    """
    if is_blank(value):
        return Parsed(None)
    word = _lower(canonical_text(value))
    if word in vocab.missing_markers and word not in _field_words(spec, vocab):
        return Parsed(None, "missing_marker", "a 'no data' marker; left missing")
    return _range_checked(_parse_by_type(value, spec, vocab), spec)


def _range_checked(parsed: Parsed, spec: FieldSpec) -> Parsed:
    """Return ``parsed``, or missing with ``out_of_range`` when a number lies outside ``min``/``max``."""
    if parsed.value is not None and spec.type in NUMERIC_TYPES and not _in_range(parsed.value, spec):
        bounds = f"{canonical_text(spec.min)} to {canonical_text(spec.max)}"
        return Parsed(None, "out_of_range",
                      f"{canonical_text(parsed.value)} is outside the valid range {bounds}; "
                      "check the value and its unit")
    return parsed


def _field_words(spec: FieldSpec, vocab: Vocabulary) -> frozenset[str]:
    """Words with a meaning for this field, which win over the missing markers (``none``, ``tidak ada``)."""
    if spec.type == "ordinal":
        return frozenset(vocab.ordinal_variants.get(spec.id, {})) | frozenset(spec.allowed)
    if spec.type == "boolean":
        return vocab.true_words | vocab.false_words | vocab.in_progress_words
    return frozenset()


def _parse_by_type(value: Any, spec: FieldSpec, vocab: Vocabulary) -> Parsed:
    kind = spec.type
    if kind == "integer":
        return parse_integer(value, spec)
    if kind in ("number", "likert"):
        return parse_number(value, spec)
    if kind == "money":
        return parse_money(value, spec, vocab.money_multipliers)
    if kind == "percent":
        return parse_percent(value, spec)
    if kind == "boolean":
        return parse_boolean(value, vocab)
    if kind == "ordinal":
        return parse_ordinal(value, spec, vocab)
    if kind == "datetime":
        return parse_datetime(value, vocab)
    if kind == "free_text":
        return parse_free_text(value)
    return parse_text(value)


def _lower(text: Any) -> str:
    return _SPACES.sub(" ", str(text)).strip().lower()


def _optional_float(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


# --- Whole frames -------------------------------------------------------------------------------------------

CHANGE_COLUMNS = ["row_seq", "field", "original_value", "cleaned_value", "rule", "message"]


def parse_frame(rows: pd.DataFrame, specs: Mapping[str, FieldSpec], vocab: Vocabulary
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse every template column of ``rows`` and record each change.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per submitted row, with ``row_seq`` and the template field columns as read.
    specs : Mapping of str to FieldSpec
        The template fields; columns of ``rows`` not in it are left alone.
    vocab : Vocabulary
        The framework's vocabulary.

    Returns
    -------
    values : pandas.DataFrame
        ``row_seq`` and one object column of parsed values (``None`` when missing) per field present.
    changes : pandas.DataFrame
        One row per value whose canonical text changed: ``row_seq``, ``field``, ``original_value``,
        ``cleaned_value``, ``rule``, ``message``; field by field, in row order within a field.
    """
    seqs = rows["row_seq"].to_numpy()
    if seqs.dtype == object:  # the row numbers as a row loop sees them
        seqs = np.asarray(list(rows["row_seq"]))
    values = {"row_seq": rows["row_seq"].to_numpy()}
    parts: list[tuple[str, ParsedColumn]] = []
    for field_id in (c for c in rows.columns if c in specs):
        column = parse_cells(rows[field_id].to_numpy(dtype=object), specs[field_id], vocab)
        values[field_id] = column.values
        parts.append((field_id, column))
    return (pd.DataFrame(values, dtype=object).astype({"row_seq": "int64"}),
            changes_frame(seqs, parts))


def changes_frame(seqs: np.ndarray, parts: list[tuple[str, ParsedColumn]]) -> pd.DataFrame:
    """Stack the changes of parsed columns into :data:`CHANGE_COLUMNS`, column after column."""
    if not any(len(column.positions) for _, column in parts):
        return pd.DataFrame([], columns=CHANGE_COLUMNS)
    fields = pa.array([field_id for field_id, _ in parts], type=pa.large_string())
    each = np.repeat(np.arange(len(parts)), [len(column.positions) for _, column in parts])

    def text(name: str) -> pd.api.extensions.ExtensionArray:
        # pandas' str dtype on the arrow data: the column pandas infers from the same texts as objects.
        return pd.array(pa.concat_arrays([getattr(column, name) for _, column in parts]), dtype="str")

    return pd.DataFrame({
        "row_seq": np.concatenate([seqs[column.positions] for _, column in parts]),
        "field": pd.array(fields.take(each), dtype="str"),
        "original_value": text("original"), "cleaned_value": text("cleaned"), "rule": text("rule"),
        "message": text("message"),
    }, columns=CHANGE_COLUMNS)


@dataclass(frozen=True)
class ParsedColumn:
    """One field's cells parsed: a value per cell, and the change of each cell whose text changed.

    Attributes
    ----------
    values : numpy.ndarray
        The parsed value of each cell (object; ``None`` when missing).
    positions : numpy.ndarray
        The positions of the cells whose text changed, in cell order.
    original, cleaned, rule, message : pyarrow.Array
        Those cells' changes (``large_string``, parallel to ``positions``).
    """

    values: np.ndarray
    positions: np.ndarray
    original: pa.Array
    cleaned: pa.Array
    rule: pa.Array
    message: pa.Array


def parse_column(cells: list[Any], seqs: list[Any], spec: FieldSpec, vocab: Vocabulary
                 ) -> tuple[list[Any], list[tuple[Any, tuple[str, str, str, str]]]]:
    """Parse one field's cells, each distinct cell once (resubmissions repeat most of them).

    Parameters
    ----------
    cells : list
        The field's cells as read, one per row.
    seqs : list
        The rows' ``row_seq``, parallel to ``cells``.
    spec : FieldSpec
        The field.
    vocab : Vocabulary
        The framework's vocabulary.

    Returns
    -------
    values : list
        The parsed value of each cell (``None`` when missing).
    changes : list of (row_seq, (original, cleaned, rule, message))
        The cells whose text changed, in row order.
    """
    column = parse_cells(cells, spec, vocab)
    changes = zip(*(a.to_pylist() for a in (column.original, column.cleaned, column.rule, column.message)),
                  strict=True)
    return (list(column.values),
            [(seqs[i], change) for i, change in zip(column.positions.tolist(), changes, strict=True)])


def parse_cells(cells: Sequence[Any], spec: FieldSpec, vocab: Vocabulary) -> ParsedColumn:
    """Parse one field's cells, each distinct cell once, the common clean number forms as a whole column.

    A cell's outcome depends only on the cell, so equal cells share it (cells are keyed with their type,
    so 1, 1.0 and True stay apart). Distinct texts of a numeric field in the forms of
    :func:`common_number_forms` are parsed together; every other cell goes through :func:`parse_value`,
    with exactly the same outcome either way.

    Parameters
    ----------
    cells : sequence
        The field's cells as read, one per row.
    spec : FieldSpec
        The field.
    vocab : Vocabulary
        The framework's vocabulary.

    Returns
    -------
    ParsedColumn
    """
    codes, distinct = distinct_cells(cells)
    if codes is None:  # an unhashable cell: parse every cell on its own
        distinct, codes = list(cells), np.arange(len(cells))
    found = parse_distinct(distinct, spec, vocab)
    # Code -1 (a None cell, when the cells are keyed by pandas.factorize) takes the last outcome: a blank.
    found.append((None, None))
    values = np.fromiter((f[0] for f in found), dtype=object, count=len(found))
    changed = np.fromiter((f[1] is not None for f in found), dtype=bool, count=len(found))
    positions = np.flatnonzero(changed[codes])
    which = codes[positions]

    def part(k: int) -> pa.Array:
        return pa.array([None if f[1] is None else f[1][k] for f in found], type=pa.large_string()).take(which)

    return ParsedColumn(values[codes], positions, part(0), part(1), part(2), part(3))


def distinct_cells(cells: Sequence[Any]) -> tuple[np.ndarray | None, list[Any]]:
    """Return each cell's code and the distinct cells (codes None when a cell is unhashable).

    Text and empty cells (all of a text file) are keyed by :func:`pandas.factorize`, an empty cell with
    code -1; cells of other types by ``(type, value)``, so 1, 1.0 and True stay apart.
    """
    if set(map(type, cells)) <= {str, type(None)}:
        codes, uniques = pd.factorize(np.asarray(cells, dtype=object))
        return codes, list(uniques)
    keys = list(zip(map(type, cells), cells, strict=True))
    try:
        index = {key: None for key in keys}
    except TypeError:
        return None, []
    for position, key in enumerate(index):
        index[key] = position
    return np.fromiter((index[key] for key in keys), dtype=np.intp, count=len(keys)), [k[1] for k in index]


def parse_distinct(distinct: list[Any], spec: FieldSpec, vocab: Vocabulary
                   ) -> list[tuple[Any, tuple[str, str, str, str] | None]]:
    """Return the parsed value and the change (None when its text did not change) of each distinct cell."""
    found: list[Any] = [None] * len(distinct)
    if spec.type in COMMON_FORM_TYPES:
        for position, outcome in common_number_outcomes(distinct, spec, vocab).items():
            found[position] = outcome
    return [f if f is not None else _parse_cell(raw, spec, vocab) for f, raw in zip(found, distinct, strict=True)]


# --- The common clean number forms, a whole column at once --------------------------------------------------

COMMON_FORM_TYPES = frozenset({"integer", "number", "likert", "percent", "money"})
# The forms of number_readings, in its order, with ASCII digits (a text in another script is parsed alone).
_ASCII_FORMS = (
    r"[0-9]+",
    r"[1-9][0-9]{0,2}\.[0-9]{3}",
    r"[1-9][0-9]{0,2},[0-9]{3}",
    r"[0-9]+\.[0-9]+",
    r"[0-9]+,[0-9]+",
    r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?:,[0-9]+)?",
    r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?",
)
# Texts the column path takes: digits, separators and spaces (a number); the same and one trailing `%`
# (a percentage); letters too (an amount, then split into prefix, number and multiplier word).
_NUMBER_TEXT = r"[0-9., ]*[0-9][0-9., ]*"
_PERCENT_TEXT = r"^(?P<number>[0-9., ]*[0-9][0-9., ]*)(?P<sign>%?) *$"
_MONEY_TEXT = r"[0-9A-Za-z., ]*[0-9][0-9A-Za-z., ]*"
_MONEY_PARTS = r"^(?:(?P<prefix>rp\.?|idr) ?)?(?P<amount>[0-9][0-9.,]*)(?: ?(?P<unit>[a-z]+))?$"


def form_readings(form: int, body: str) -> list[tuple[float, str | None]]:
    """Return :func:`number_readings` of ``body``, a text known to be in form ``form`` of ``_ASCII_FORMS``."""
    if form in (0, 3):
        return [(float(body), None)]
    if form == 1:
        return [(float(body), None), (float(body.replace(".", "")), "id_number_format")]
    if form == 2:
        return [(float(body.replace(",", ".")), "id_number_format"),
                (float(body.replace(",", "")), "en_number_format")]
    if form == 4:
        return [(float(body.replace(",", ".")), "id_number_format")]
    if form == 5:
        return [(float(body.replace(".", "").replace(",", ".")), "id_number_format")]
    return [(float(body.replace(",", "")), "en_number_format")]


def number_forms(bodies: pa.Array) -> np.ndarray:
    """Return the position in ``_ASCII_FORMS`` of the first form each text matches (-1: none or null)."""
    forms = np.full(len(bodies), -1)
    for position, pattern in enumerate(_ASCII_FORMS):
        hit = _fullmatch(bodies, pattern) & (forms < 0)
        forms[hit] = position
    return forms


def _fullmatch(texts: pa.Array, pattern: str) -> np.ndarray:
    """Return where the whole text matches ``pattern`` (False for a null)."""
    found = pc.match_substring_regex(texts, f"^(?:{pattern})$")
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def common_number_forms(texts: list[str], spec: FieldSpec, vocab: Vocabulary
                        ) -> tuple[np.ndarray, list[Any], np.ndarray, list[Any]]:
    """Split ASCII texts of a numeric field into the parts the per-value parsers would find, where they can.

    One regular expression runs over all the texts at once (pyarrow's compute functions); the characters
    allowed are ASCII letters, digits, ``.``, ``,``, spaces and a percentage's ``%``, on which Python's and
    pyarrow's expressions agree.

    Returns
    -------
    forms, bodies, marks, units : numpy.ndarray or list
        Per text: the form of its number (a position in ``_ASCII_FORMS``; -1 when the text is left to
        :func:`parse_value`: another form, a missing marker, a sign, other characters), the number without
        spaces, its mark (a currency prefix of an amount, or the ``%`` of a percentage) and its unit (the
        multiplier word of an amount, ``""`` when none).
    """
    array = pa.array(texts, type=pa.string())
    # What _lower gives for these characters: spaces collapsed and trimmed, lower case.
    word = pc.ascii_lower(pc.utf8_trim(pc.replace_substring_regex(array, " +", " "), " "))
    units: Any = [""] * len(texts)
    marks = np.zeros(len(texts), dtype=bool)
    if spec.type == "money":
        parts = pc.extract_regex(word, _MONEY_PARTS)
        taken = _fullmatch(array, _MONEY_TEXT) & pc.is_valid(parts).to_numpy(zero_copy_only=False)
        body, unit = parts.field("amount"), parts.field("unit")
        marks = pc.not_equal(parts.field("prefix"), "").to_numpy(zero_copy_only=False)
        # A unit the per-value parser refuses, or a trailing "rupiah" it strips first, is left to it.
        known = ["", *(u for u in vocab.money_multipliers if not u.endswith("rupiah"))]
        taken = taken & pc.is_in(unit, pa.array(known, type=pa.string())).to_numpy(zero_copy_only=False)
        units = unit.to_pylist()
    elif spec.type == "percent":
        parts = pc.extract_regex(array, _PERCENT_TEXT)
        taken = pc.is_valid(parts).to_numpy(zero_copy_only=False)
        body = pc.replace_substring(parts.field("number"), " ", "")
        marks = pc.equal(parts.field("sign"), "%").to_numpy(zero_copy_only=False)
    else:
        taken = _fullmatch(array, _NUMBER_TEXT)
        body = pc.replace_substring(array, " ", "")
    markers = pa.array(sorted(vocab.missing_markers), type=pa.string())
    taken = taken & ~pc.is_in(word, markers).to_numpy(zero_copy_only=False)
    forms = np.where(taken, number_forms(body), -1)
    return forms, body.to_pylist(), marks, units


def common_number_outcomes(distinct: list[Any], spec: FieldSpec, vocab: Vocabulary
                           ) -> dict[int, tuple[Any, tuple[str, str, str, str] | None]]:
    """Parse the distinct cells in a common clean number form together; return their outcomes by position.

    Each outcome is the one :func:`_parse_cell` gives. A number with one reading that its field accepts is
    parsed for the whole column at once (:func:`one_reading_numbers`); a number with two readings, or one
    the field rejects, has its readings taken from its form and then goes through the same functions as
    :func:`parse_value` (so the same rule and message); cells in no common form are left to the caller.
    """
    positions = [i for i, cell in enumerate(distinct) if type(cell) is str and cell.isascii()]
    if not positions:
        return {}
    texts = [distinct[i] for i in positions]
    forms, bodies, marks, units = common_number_forms(texts, spec, vocab)
    taken, values, cleaned, rules = one_reading_numbers(forms, bodies, marks, units, spec, vocab)
    outcomes = {}
    for i, value, clean, rule in zip(taken.tolist(), values, cleaned, rules, strict=True):
        text = texts[i]
        if text == clean:
            outcomes[positions[i]] = (value, None)
        else:
            rule = rule if rule is not None else "trimmed" if text.strip() == clean else "number_format"
            outcomes[positions[i]] = (value, (text, clean, rule, ""))
    rest = np.ones(len(texts), dtype=bool)
    rest[taken] = False
    for i in np.flatnonzero(rest & (forms >= 0)).tolist():
        readings = form_readings(int(forms[i]), bodies[i])
        parsed = _range_checked(_from_readings(readings, spec, vocab, bool(marks[i]), units[i]), spec)
        outcomes[positions[i]] = (parsed.value, _text_change(texts[i], canonical_text(parsed.value), parsed.rule,
                                                             parsed.message))
    return outcomes


# The text float() reads for the one reading of each form of _ASCII_FORMS, and its rule. Forms 1 and 2 have
# two readings: this is their Indonesian one, the one an amount before a multiplier word takes.
_FLOAT_TEXT = (
    lambda body: body,
    lambda body: body.replace(".", ""),
    lambda body: body.replace(",", "."),
    lambda body: body,
    lambda body: body.replace(",", "."),
    lambda body: body.replace(".", "").replace(",", "."),
    lambda body: body.replace(",", ""),
)
_FORM_RULES = (None, "id_number_format", "id_number_format", None, "id_number_format", "id_number_format",
               "en_number_format")


def one_reading_numbers(forms: np.ndarray, bodies: list[Any], marks: np.ndarray, units: list[Any],
                        spec: FieldSpec, vocab: Vocabulary) -> tuple[np.ndarray, list[Any], list[str], list[Any]]:
    """Parse, as whole arrays, the numbers with one reading that their field accepts as it stands.

    One reading: forms 0 and 3-6 of ``_ASCII_FORMS``, and forms 1 and 2 before a multiplier word (an amount
    reads them the Indonesian way). Accepted: inside the field's range, whole for an integer field, not an
    ambiguous fraction for a percentage. The arithmetic is Python's: ``float`` of the text, the product
    with the multiplier, ``round(..., 6)``.

    Returns
    -------
    taken : numpy.ndarray
        The positions parsed here, in order.
    values, cleaned, rules : list
        For each: the value (``int`` for an integer field, else ``float``), its canonical text, and the rule
        (None when the number was plain, as :func:`choose_reading` gives it).
    """
    one = np.isin(forms, (0, 3, 4, 5, 6))
    has_unit = np.array([u != "" for u in units], dtype=bool)
    if spec.type == "money":
        one |= np.isin(forms, (1, 2)) & has_unit
    taken = np.flatnonzero(one)
    number = np.array([float(_FLOAT_TEXT[f](bodies[i])) for i, f in zip(taken.tolist(), forms[taken].tolist(),
                                                                        strict=True)], dtype=float)
    rules = np.array(_FORM_RULES, dtype=object)[forms[taken]]
    accepted = np.ones(len(taken), dtype=bool)
    if spec.type == "money":
        factor = np.array([vocab.money_multipliers.get(units[i], 1.0) for i in taken.tolist()], dtype=float)
        number = np.array([round(v, 6) for v in (number * factor).tolist()], dtype=float)
        rules = np.where(has_unit[taken] | marks[taken], "money_shorthand", rules)
    elif spec.type == "integer":
        accepted &= np.isfinite(number) & (number == np.floor(number))
    elif spec.type == "percent":
        accepted &= marks[taken] | ~((number > 0) & (number < 1))
        rules = np.where(marks[taken], "percent_sign", rules)
    accepted &= _within(number, spec)
    taken, number, rules = taken[accepted], number[accepted], rules[accepted]
    if spec.type == "integer":
        values: list[Any] = [int(v) for v in number.tolist()]
        cleaned = [str(v) for v in values]
    else:
        values = number.tolist()
        whole = (np.isfinite(number) & (number == np.floor(number)) & (np.abs(number) < 1e16)).tolist()
        cleaned = [str(int(v)) if w else repr(v) for v, w in zip(values, whole, strict=True)]
    return taken, values, cleaned, rules.tolist()


def _within(number: np.ndarray, spec: FieldSpec) -> np.ndarray:
    """Return where numbers lie inside the field's ``min``/``max`` (as :func:`_in_range`)."""
    inside = np.ones(len(number), dtype=bool)
    if spec.min is not None:
        inside &= number >= spec.min
    if spec.max is not None:
        inside &= number <= spec.max
    return inside


def _from_readings(readings: list[tuple[float, str | None]], spec: FieldSpec, vocab: Vocabulary, mark: bool,
                   unit: str) -> Parsed:
    """Finish parsing a text of a numeric field from its number's readings, as :func:`_parse_by_type` does."""
    if spec.type == "money":
        return _amount(readings, unit, mark, spec, vocab.money_multipliers)
    if spec.type == "integer":
        return _whole(choose_reading(readings, spec, prefer_whole=True))
    parsed = choose_reading(readings, spec, prefer_whole=False)
    return _percent(parsed, mark) if spec.type == "percent" else parsed


def _parse_cell(raw: Any, spec: FieldSpec, vocab: Vocabulary) -> tuple[Any, tuple[str, str, str, str] | None]:
    """Return a cell's parsed value and its change (None when its text did not change)."""
    parsed = parse_value(raw, spec, vocab)
    return parsed.value, describe_change(raw, parsed)


def describe_change(raw: Any, parsed: Parsed) -> tuple[str, str, str, str] | None:
    """Return ``(original, cleaned, rule, message)`` when parsing changed the value's text, else None.

    A blank cell left missing is no change. A change with no specific rule is ``trimmed`` when only
    surrounding spaces differ, otherwise ``number_format`` (``3204.0`` -> 3204, ``+5`` -> 5).
    """
    if is_blank(raw):
        return None
    return _text_change(canonical_text(raw), canonical_text(parsed.value), parsed.rule, parsed.message)


def _text_change(original: str, cleaned: str, rule: str | None, message: str) -> tuple[str, str, str, str] | None:
    """Return ``(original, cleaned, rule, message)`` when the texts differ (see :func:`describe_change`)."""
    if original == cleaned:
        return None
    if rule is None or (rule == "trimmed" and original.strip() != cleaned):
        rule = "trimmed" if original.strip() == cleaned else "number_format"
    return original, cleaned, rule, message


def apply_consistency_rules(values: pd.DataFrame, rules: tuple[Any, ...], specs: Mapping[str, FieldSpec]
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Blank a field that breaks a ``not_above`` rule (PAD above APBD, ICT staff above staff).

    Parameters
    ----------
    values : pandas.DataFrame
        Parsed values from :func:`parse_frame` (not modified).
    rules : tuple of ConsistencyRule
        The framework's consistency rules; a rule whose fields are absent is skipped.
    specs : Mapping of str to FieldSpec
        For the labels in the messages.

    Returns
    -------
    values : pandas.DataFrame
        A copy with the breaking values set to ``None``.
    changes : pandas.DataFrame
        One row per blanked value, rule ``rule_<rule id>``.
    """
    values = values.copy()
    changes = []
    for rule in rules:
        if rule.field not in values or rule.not_above not in values:
            continue
        low = pd.to_numeric(values[rule.field], errors="coerce")
        high = pd.to_numeric(values[rule.not_above], errors="coerce")
        breaking = low.gt(high).fillna(False).astype(bool)
        for idx in values.index[breaking]:
            message = (f"{canonical_text(low[idx])} is above {specs[rule.not_above].label} "
                       f"({canonical_text(high[idx])}): {rule.reason} Check both values and their units.")
            changes.append((values.at[idx, "row_seq"], rule.field, canonical_text(low[idx]), "",
                            f"rule_{rule.id}", message))
        values.loc[breaking, rule.field] = None
    return values, pd.DataFrame(changes, columns=CHANGE_COLUMNS)


_DTYPES = {"integer": "Int64", "number": "float64", "money": "float64", "percent": "float64",
           "likert": "float64", "boolean": "boolean", "datetime": "datetime64[us]"}


def to_typed(values: pd.DataFrame, specs: Mapping[str, FieldSpec]) -> pd.DataFrame:
    """Give each parsed column its dtype.

    Integers ``Int64``, numbers ``float64``, booleans ``boolean``, dates ``datetime64``, words and text
    ``str``; missing is NA throughout.
    """
    typed = {}
    for column in values.columns:
        kind = specs[column].type if column in specs else None
        series = values[column]
        if kind in ("integer", "boolean"):
            typed[column] = pd.array(series.tolist(), dtype=_DTYPES[kind])
        elif kind in _DTYPES:
            typed[column] = pd.Series(series.tolist(), index=values.index, dtype=object).astype(_DTYPES[kind])
        elif kind is not None:
            typed[column] = series.astype("str").where(series.notna())
        else:
            typed[column] = series
    return pd.DataFrame(typed, index=values.index)
