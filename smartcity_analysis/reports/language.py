"""Languages and number formatting of everything a region or an official reads.

Reports and the round summary are in one language each, Bahasa Indonesia (``"id"``, the default) or English
(``"en"``): :class:`NumberFormat` writes ``72,45`` and ``1.234`` in Indonesian, ``72.45`` and ``1,234`` in
English; :func:`phrase` looks up the short phrases of ``templates/phrases.yaml`` (cleaning rules, quarantine
reasons, imputation methods, treatments). The Jinja2 environment of the package templates lives here too.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
import pandas as pd
import yaml

LANGUAGES = ("id", "en")


REGION_CODE_PATTERN = re.compile(r"^\d{4}$")


NUMERIC_TEXT = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def normalise_region_code(value: Any) -> str:
    """Return a region code as the 4-digit string of the contracts, or raise.

    Parameters
    ----------
    value : str or int
        ``"3273"`` or ``3273`` (``papermill -p region_code 3273`` passes an int).

    Returns
    -------
    str
        The 4-digit code.

    Raises
    ------
    ValueError
        When the value is not exactly four digits; it never reaches a file name then.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"region_code must be 4 digits (e.g. '3273'), got {value!r}")
    code = str(value)
    if not REGION_CODE_PATTERN.fullmatch(code):
        raise ValueError(f"region_code must be 4 digits (e.g. '3273'), got {value!r}")
    return code


def validate_language(language: str) -> str:
    """Return ``language`` if it is ``"id"`` or ``"en"``, else raise ``ValueError``."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


@dataclass(frozen=True)
class NumberFormat:
    """How a language writes numbers: ``72,45`` and ``1.234`` in Indonesian, ``72.45`` and ``1,234`` in English.

    Attributes
    ----------
    language : str
        ``"id"`` or ``"en"``.
    """

    language: str

    def number(self, value: Any, decimals: int = 2) -> str:
        """Format a number with ``decimals`` decimals and thousands separators; missing gives an en dash."""
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return "–"
        text = f"{float(value):,.{decimals}f}"
        if self.language == "id":
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return text

    def value(self, value: Any) -> str:
        """Format a logged value: numbers (or numeric text) as numbers, whole ones without decimals."""
        if isinstance(value, str):
            if not NUMERIC_TEXT.fullmatch(value.strip()):
                return value
            value = float(value)
        if value is None or isinstance(value, bool) or pd.isna(value):
            return "–" if value is None or pd.isna(value) else str(value)
        return self.number(value, 0 if float(value).is_integer() else 2)

    def integer(self, value: Any) -> str:
        """Format a whole number with thousands separators."""
        return self.number(value, decimals=0)

    def percent(self, share: Any, decimals: int = 0) -> str:
        """Format a share (0-1) as a percentage, ``75%``."""
        if share is None or (isinstance(share, float) and math.isnan(share)):
            return "–"
        return f"{self.number(float(share) * 100, decimals)}%"


def format_number(value: Any, language: str, decimals: int = 2) -> str:
    """Format ``value`` the way ``language`` writes it (see :class:`NumberFormat`)."""
    return NumberFormat(validate_language(language)).number(value, decimals)


@functools.cache
def template_environment() -> jinja2.Environment:
    """Return the Jinja2 environment of the package templates (autoescaping, strict undefined)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("smartcity_analysis.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.cache
def phrases() -> Mapping[str, Any]:
    """Return ``templates/phrases.yaml``: short phrases per language for the codes the data notes show."""
    environment = template_environment()
    source, _, _ = environment.loader.get_source(environment, "phrases.yaml")
    return yaml.safe_load(source)


def phrase(group: str, code: Any, language: str) -> str:
    """Return the phrase of ``code`` in ``group`` of ``phrases.yaml`` in ``language``, else the code itself."""
    entry = phrases().get(group, {}).get(str(code))
    return str(entry[language]) if isinstance(entry, Mapping) and language in entry else str(code)


def humanise(code: str) -> str:
    """Return a code as words, for a code the framework gives no label (``aspect_struktur``: Struktur)."""
    return code.removeprefix("aspect_").removeprefix("dimension_").replace("_", " ").capitalize()


def as_flag(value: Any) -> bool:
    """Read a flag from a table cell: ``True``, ``"true"``, ``"ya"``, 1; missing is False."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "ya", "yes"}
    return bool(value) if not pd.isna(value) else False


def as_text(value: Any) -> str:
    """Return a table cell as text; missing is empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def code_text(value: Any) -> str:
    """Write a year, row number or code as written: ``2021`` whether it was read as 2021 or 2021.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return as_text(value)

