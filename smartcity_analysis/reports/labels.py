"""Labels of fields, indicators, aspects and dimensions, and the recommendations, from the framework file.

The functions below build fresh dicts on every call; :func:`framework_labels` gives the same tables read-only,
built once per framework and language, for the reports of a round rendered one after another.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.reports.language import humanise


def score_labels(framework: Framework, columns: pd.Index, language: str) -> dict[str, str]:
    """Label each column of ``scores.csv`` in ``language`` from the framework, else from its code.

    Indicators are looked up in the framework's ``indicators`` then ``fields`` sections, aspects and
    dimensions in ``aggregates``; a code found nowhere is shown humanised (``aspect_struktur``: Struktur).
    """
    labels = framework_labels(framework, language).indicators
    return {c: labels.get(c) or humanise(c) for c in columns if c != "region_code"}


def indicator_labels(framework: Framework, language: str) -> dict[str, str]:
    """Map every indicator, aggregate and field code of the framework to its label in ``language``.

    Where a code is both a field and an indicator, the indicator's label wins.
    """
    label_column = f"label_{language}"
    labels: dict[str, str] = {}
    for table in (framework.fields, framework.indicators, framework.aggregates):
        key = code_column(table)
        codes = table.index if key is None else table[key]
        if label_column not in table.columns:
            continue
        for code, label in zip(codes, table[label_column], strict=True):
            if isinstance(label, str) and label:
                labels[str(code)] = label
    return labels


def field_labels(framework: Framework, language: str) -> dict[str, str]:
    """Map every template field id to its label in ``language`` (``label_id`` / ``label_en``)."""
    column = framework.fields[f"label_{language}"]
    return {str(f): str(label) for f, label in column.items() if isinstance(label, str) and label}


def framework_indicator_aspects(framework: Framework) -> dict[str, str]:
    """Map each indicator code to its aspect code (``aspect_*``) as the framework states it."""
    table = framework.indicators
    key = code_column(table)
    if key is None or "aspect" not in table.columns:
        return {}
    return {str(code): (a if str(a).startswith("aspect_") else f"aspect_{a}")
            for code, a in zip(table[key], table["aspect"], strict=True) if isinstance(a, str) and a}


def recommendation_table(framework: Framework, language: str) -> dict[str, str]:
    """Return ``{code: text}`` of the framework's ``recommendations`` section in ``language``."""
    table = framework.recommendations
    column = f"text_{language}"
    if table.empty or "code" not in table.columns or column not in table.columns:
        return {}
    return {str(c): str(t) for c, t in zip(table["code"], table[column], strict=True) if isinstance(t, str)}


def code_column(table: pd.DataFrame) -> str | None:
    """Return the column holding a framework table's codes (``code`` or ``id``), if any."""
    return next((c for c in ("code", "id") if c in table.columns), None)


@dataclass(frozen=True, eq=False)
class FrameworkKey:
    """A framework as a cache key: equal only to a key of the very same :class:`Framework` object.

    A framework holds DataFrames, so it cannot be hashed itself. A cache holding this key holds the framework
    too, so its ``id`` cannot be reused by another object while the entry lives. Frameworks are not changed
    in place once loaded (:func:`~smartcity_analysis.reports.tables.default_framework` already shares one
    object between all the reports of a kernel).
    """

    framework: Framework

    def __hash__(self) -> int:
        return id(self.framework)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrameworkKey) and other.framework is self.framework


@dataclass(frozen=True)
class FrameworkLabels:
    """The label and recommendation tables of one framework in one language (read-only).

    Attributes
    ----------
    fields : Mapping
        :func:`field_labels`.
    indicators : Mapping
        :func:`indicator_labels`.
    recommendations : Mapping
        :func:`recommendation_table`.
    indicator_aspects : Mapping
        :func:`framework_indicator_aspects` (the same in every language).
    """

    fields: Mapping[str, str]
    indicators: Mapping[str, str]
    recommendations: Mapping[str, str]
    indicator_aspects: Mapping[str, str]


def framework_labels(framework: Framework, language: str) -> FrameworkLabels:
    """Return the label tables of ``framework`` in ``language``, built once per framework object and language."""
    return _framework_labels(FrameworkKey(framework), language)


@functools.lru_cache(maxsize=8)
def _framework_labels(key: FrameworkKey, language: str) -> FrameworkLabels:
    # Framework text only, never round or region data: reports sharing it in a warm kernel cannot see each other.
    framework = key.framework
    return FrameworkLabels(
        fields=MappingProxyType(field_labels(framework, language)),
        indicators=MappingProxyType(indicator_labels(framework, language)),
        recommendations=MappingProxyType(recommendation_table(framework, language)),
        indicator_aspects=MappingProxyType(framework_indicator_aspects(framework)),
    )
