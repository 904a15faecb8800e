"""Read the framework file (``config/framework.yaml``), the single source of truth for the workbook.

The framework holds the submission template (fields), the consistency rules, the vocabulary regions type,
the indicator tree of the readiness index, the profile naming rules and the recommendations. Stages receive a
:class:`Framework` and read the section they need; nothing else hard-codes a field or an indicator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import yaml

from smartcity_analysis.paths import FRAMEWORK_FILE

FIELD_TYPES = frozenset(
    {"text", "region_code", "integer", "number", "money", "percent", "boolean", "ordinal", "likert",
     "datetime", "pii", "free_text"}
)
FIELD_COLUMNS = ["id", "label_id", "label_en", "group", "type", "unit", "min", "max", "allowed", "notes"]


@dataclass(frozen=True)
class ConsistencyRule:
    """A rule between two parsed fields: ``field`` must not be above ``not_above``."""

    id: str
    field: str
    not_above: str
    reason: str


@dataclass(frozen=True)
class Framework:
    """The parsed framework file.

    Attributes
    ----------
    fields : pandas.DataFrame
        One row per template field, indexed by field id, in template order.
    rules : tuple of ConsistencyRule
        Consistency rules between fields.
    vocabulary : Mapping
        Missing markers, yes/no words, ordinal variants, month names, money multipliers.
    indicators : pandas.DataFrame
        The readiness indicators (empty until the index section is filled in).
    aggregates : pandas.DataFrame
        Aspects, dimensions and the index.
    profiles : Mapping
        Profile naming rules.
    recommendations : pandas.DataFrame
        Recommendations per weak indicator or aspect, in both languages.
    path : pathlib.Path
        Where the framework was read from.
    sha256 : str
        Hash of the file, recorded with every result it produces.
    """

    fields: pd.DataFrame
    rules: tuple[ConsistencyRule, ...]
    vocabulary: Mapping[str, Any]
    indicators: pd.DataFrame
    aggregates: pd.DataFrame
    profiles: Mapping[str, Any]
    recommendations: pd.DataFrame
    path: Path
    sha256: str
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)

    def field_ids(self, *, include_pii: bool = True) -> list[str]:
        """Return the template's field ids in order, optionally without personal-data fields."""
        fields = self.fields
        if not include_pii:
            fields = fields[fields["type"] != "pii"]
        return list(fields.index)

    @property
    def pii_fields(self) -> list[str]:
        """Field ids holding personal data, which never leave ``data/raw/``."""
        return list(self.fields.index[self.fields["type"] == "pii"])


def load_framework(path: str | Path | None = None) -> Framework:
    """Read and validate the framework file.

    Parameters
    ----------
    path : str or Path, optional
        The YAML file; defaults to ``config/framework.yaml`` in the project.

    Returns
    -------
    Framework
        The validated framework.

    Raises
    ------
    ValueError
        When a section is malformed; the message names the entry and what to fix.
    """
    path = Path(path) if path is not None else FRAMEWORK_FILE
    text = path.read_bytes()
    data = yaml.safe_load(text)
    fields = _fields_table(data.get("fields") or [], path)
    rules = tuple(ConsistencyRule(**rule) for rule in data.get("rules") or [])
    for rule in rules:
        for ref in (rule.field, rule.not_above):
            if ref not in fields.index:
                raise ValueError(f"{path}: rule {rule.id!r} names field {ref!r}, which is not in `fields`")
    indicators = pd.DataFrame(data.get("indicators") or [])
    aggregates = pd.DataFrame(data.get("aggregates") or [])
    _check_index_methods(indicators, aggregates, path)
    return Framework(
        fields=fields,
        rules=rules,
        vocabulary=_freeze(data.get("vocabulary") or {}),
        indicators=indicators,
        aggregates=aggregates,
        profiles=_freeze(data.get("profiles") or {}),
        recommendations=pd.DataFrame(data.get("recommendations") or []),
        path=path,
        sha256=hashlib.sha256(text).hexdigest(),
        raw=_freeze(data),
    )


def _check_index_methods(indicators: pd.DataFrame, aggregates: pd.DataFrame, path: Path) -> None:
    """Refuse unknown ``transform`` (indicators) and ``aggregate`` (aggregates) values, listing every one."""
    from smartcity_analysis.index.engine import framework_method_problems  # the engine owns the method names

    rows = [frame.assign(level=level) if level is not None else frame
            for frame, level in ((indicators, 1), (aggregates, None)) if "code" in frame]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["code", "level"])
    if "level" not in table:
        return
    table["level"] = pd.to_numeric(table["level"], errors="coerce").fillna(0).astype(int)
    problems = framework_method_problems(table)
    if problems:
        raise ValueError(f"{path}: the index methods are not valid:\n- " + "\n- ".join(problems))


def _fields_table(entries: list[dict], path: Path) -> pd.DataFrame:
    table = pd.DataFrame(entries).reindex(columns=FIELD_COLUMNS)
    table["allowed"] = [list(v) if isinstance(v, list) else [] for v in table["allowed"]]
    unknown = sorted(set(table["type"]) - FIELD_TYPES)
    if unknown:
        raise ValueError(f"{path}: unknown field type(s) {unknown}; allowed: {sorted(FIELD_TYPES)}")
    duplicated = table["id"][table["id"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{path}: field id(s) defined twice: {duplicated}")
    return table.set_index("id", drop=False).rename_axis(None)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value
