"""Small numeric and text helpers of the sample generator."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

LIKERT_FIELDS = ("leadership_score", "governance_score", "infrastructure_score", "regulation_score",
                 "dim_governance", "dim_branding", "dim_economy", "dim_living", "dim_society",
                 "dim_environment")


def zscore(values: Any) -> Any:
    """Standardise: subtract the mean, divide by the standard deviation (all zero when it is 0 or undefined).

    A round of one region has no spread: the region stands at the mean.
    """
    spread = values.std()
    if not spread or spread != spread:
        return values * 0.0
    return (values - values.mean()) / spread


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Return the logistic function of ``x``."""
    return 1.0 / (1.0 + np.exp(-x))


def round_to(values: np.ndarray, step: float) -> np.ndarray:
    """Round to a multiple of ``step`` and return integers."""
    return (np.round(np.asarray(values, dtype=float) / step) * step).astype(np.int64)


def slugify(name: str) -> str:
    """Return a file-name part: lower case, runs of other characters as one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def group_digits(digits: str, separator: str) -> str:
    """Group a string of digits in threes from the right with ``separator``."""
    head = len(digits) % 3 or 3
    return separator.join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


def locale_number(value: float, decimals: int, locale: str, *, grouped: bool) -> str:
    """Write a number the way ``locale`` (``id`` or ``en``) types it."""
    whole, _, fraction = f"{abs(value):.{decimals}f}".partition(".")
    if grouped:
        whole = group_digits(whole, "." if locale == "id" else ",")
    sign = "-" if value < 0 else ""
    return sign + whole + ((("," if locale == "id" else ".") + fraction) if fraction else "")


def old_papua_codes(renumbering: pd.DataFrame) -> Mapping[str, str]:
    """Pre-2022 code -> current code, for the Papua kab/kota renumbered in 2022."""
    pairs = zip(renumbering["code_before_2022"], renumbering["region_code"], strict=True)
    return MappingProxyType(dict(pairs))


def dotted_code(code: str) -> str:
    """Write a 4-digit region code the dotted way, ``32.73``."""
    return f"{code[:2]}.{code[2:]}"

