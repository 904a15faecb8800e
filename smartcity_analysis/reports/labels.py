"""Labels of fields, indicators, aspects and dimensions, and the recommendations, from the framework file."""

from __future__ import annotations

import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.reports.language import humanise


def score_labels(framework: Framework, columns: pd.Index, language: str) -> dict[str, str]:
    """Label each column of ``scores.csv`` in ``language`` from the framework, else from its code.

    Indicators are looked up in the framework's ``indicators`` then ``fields`` sections, aspects and
    dimensions in ``aggregates``; a code found nowhere is shown humanised (``aspect_struktur``: Struktur).
    """
    labels = indicator_labels(framework, language)
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

