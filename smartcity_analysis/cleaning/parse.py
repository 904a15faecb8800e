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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

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
    parsed = parse_number(value, spec, prefer_whole=True)
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
    return Parsed(parsed.value, "money_shorthand" if (suffix or prefix) else parsed.rule)


def parse_percent(value: Any, spec: FieldSpec) -> Parsed:
    """Parse a percentage (``82%``, ``82``, ``82,5``); a fraction below 1 without ``%`` is ambiguous."""
    from_cell = _number_from_cell(value)
    text = "" if from_cell is not None else str(value).strip()
    has_sign = text.endswith("%")
    parsed = from_cell or parse_number(text.rstrip("%").strip(), spec)
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
    parsed = _parse_by_type(value, spec, vocab)
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
        ``cleaned_value``, ``rule``, ``message``.
    """
    seqs = list(rows["row_seq"])  # iterated, as a row loop sees them
    values = {"row_seq": rows["row_seq"].to_numpy()}
    changes: list[tuple[Any, ...]] = []
    for field_id in (c for c in rows.columns if c in specs):
        parsed_column, column_changes = parse_column(list(rows[field_id]), seqs, specs[field_id], vocab)
        values[field_id] = parsed_column
        changes.extend((seq, field_id, *change) for seq, change in column_changes)
    return (pd.DataFrame(values, dtype=object).astype({"row_seq": "int64"}),
            pd.DataFrame(changes, columns=CHANGE_COLUMNS))


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
    # A cell's outcome depends only on the cell, so equal cells share it. Cells are keyed with their type,
    # so 1, 1.0 and True (equal in Python) stay apart.
    keys = list(zip(map(type, cells), cells, strict=True))
    try:
        outcomes = dict.fromkeys(keys)
    except TypeError:  # an unhashable cell: parse every cell on its own
        parsed = [_parse_cell(raw, spec, vocab) for raw in cells]
        return [p[0] for p in parsed], [(q, p[1]) for q, p in zip(seqs, parsed, strict=True) if p[1] is not None]
    for key in outcomes:
        outcomes[key] = _parse_cell(key[1], spec, vocab)
    found = [outcomes[key] for key in keys]
    return ([f[0] for f in found],
            [(seq, f[1]) for seq, f in zip(seqs, found, strict=True) if f[1] is not None])


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
    original, cleaned = canonical_text(raw), canonical_text(parsed.value)
    if original == cleaned:
        return None
    rule = parsed.rule
    if rule is None or (rule == "trimmed" and original.strip() != cleaned):
        rule = "trimmed" if original.strip() == cleaned else "number_format"
    return original, cleaned, rule, parsed.message


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
