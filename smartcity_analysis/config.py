"""Read the framework file (``config/framework.yaml``), the single source of truth for the workbook.

The framework holds the submission template (fields), the consistency rules, the vocabulary regions type,
the indicator tree of the readiness index, the profile naming rules and the recommendations. Stages receive a
:class:`Framework` and read the section they need; nothing else hard-codes a field or an indicator.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
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
# The views of the indicator tree, each with the indicator key naming its parent.
VIEWS = MappingProxyType({"aspects": "aspect", "dimensions": "dimension"})
# The keys of an indicator's ``derive`` that name template fields, per kind of derivation.
DERIVE_FIELDS = MappingProxyType({"value": ("field",), "ratio": ("numerator", "denominator"),
                                  "boolean": ("field",), "ordinal": ("field",)})


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


class FrameworkError(ValueError):
    """A framework file that cannot drive a run; ``problems`` lists every problem, one sentence each.

    Attributes
    ----------
    path : pathlib.Path
        The framework file.
    problems : tuple of str
        Each problem: the entry (code or id), the key, what is wrong and what to do.
    """

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = Path(path)
        self.problems = tuple(problems)
        super().__init__(f"{self.path}: the framework file has {len(self.problems)} problem(s):\n- "
                         + "\n- ".join(self.problems))


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
    FileNotFoundError
        When there is no such file.
    FrameworkError
        When the file has problems (see :func:`framework_problems`); it lists every one, not only the first.
    """
    path = Path(path) if path is not None else FRAMEWORK_FILE
    text = path.read_bytes()
    data, problems = _parse(text)
    problems = problems or _problems(data)
    if problems:
        raise FrameworkError(path, problems)
    fields = _fields_table(data.get("fields") or [])
    return Framework(
        fields=fields,
        rules=tuple(ConsistencyRule(**rule) for rule in data.get("rules") or []),
        vocabulary=_freeze(data.get("vocabulary") or {}),
        indicators=pd.DataFrame(data.get("indicators") or []),
        aggregates=pd.DataFrame(data.get("aggregates") or []),
        profiles=_freeze(data.get("profiles") or {}),
        recommendations=pd.DataFrame(data.get("recommendations") or []),
        path=path,
        sha256=hashlib.sha256(text).hexdigest(),
        raw=_freeze(data),
    )


def framework_problems(path: str | Path) -> list[str]:
    """List every problem of a framework file (empty: it can drive a run).

    Checked: the fields (known types, ids defined once), the consistency rules (fields that exist), the
    indicators and aggregates (codes defined once, weights positive numbers, directions +1 or -1, parents that
    are aggregates of the level above in the same view, no cycle of parents, each indicator derived from fields
    of the template, method names the engine knows: ``transform``, ``normalise``, ``aggregate``).

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    list of str
        One sentence per problem: the code (or field id), the key, what is wrong and what to do.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    """
    data, problems = _parse(Path(path).read_bytes())
    return problems or _problems(data)


def _parse(text: bytes) -> tuple[dict[str, Any], list[str]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return {}, [f"the file is not valid YAML ({' '.join(str(error).split())}); fix the line it names"]
    if not isinstance(data, dict):
        return {}, ["the file holds no sections; it must be a YAML mapping with fields, indicators, aggregates, ..."]
    return data, []


def _problems(data: Mapping[str, Any]) -> list[str]:
    sections = {name: data.get(name) or [] for name in ("fields", "rules", "indicators", "aggregates")}
    shape = [f"section `{name}` must be a list of entries, one per `- ` line" for name, entries in sections.items()
             if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries)]
    if shape:
        return shape
    field_ids = {str(f.get("id")) for f in sections["fields"]}
    return [*_field_problems(sections["fields"]), *_rule_problems(sections["rules"], field_ids),
            *_tree_problems(sections["indicators"], sections["aggregates"], field_ids)]


def _field_problems(fields: list[dict]) -> list[str]:
    problems = [f"field {f.get('id')!r}, key `type`: {f.get('type')!r} is not a field type; use one of "
                f"{', '.join(sorted(FIELD_TYPES))}" for f in fields if f.get("type") not in FIELD_TYPES]
    problems += [f"field {field_id!r}, key `id`: defined {n} times in `fields`; give each field its own id"
                 for field_id, n in _repeated(f.get("id") for f in fields)]
    return problems


def _rule_problems(rules: list[dict], field_ids: set[str]) -> list[str]:
    problems = []
    for rule in rules:
        missing = sorted({"id", "field", "not_above", "reason"} - set(rule))
        if missing or set(rule) - {"id", "field", "not_above", "reason"}:
            problems.append(f"rule {rule.get('id')!r}: keys must be id, field, not_above and reason "
                            f"(missing: {', '.join(missing) or 'none'})")
        problems += [f"rule {rule.get('id')!r}, key `{key}`: field {rule[key]!r} is not in `fields`; name a field "
                     "id of the template" for key in ("field", "not_above") if key in rule
                     and str(rule[key]) not in field_ids]
    return problems


def _tree_problems(indicators: list[dict], aggregates: list[dict], field_ids: set[str]) -> list[str]:
    """Problems of the indicator tree: codes, weights, directions, parents, cycles, derivations, methods."""
    problems = [f"code {code!r}, key `code`: defined {n} times in `indicators` and `aggregates`; give each row "
                "its own code" for code, n in _repeated(e.get("code") for e in [*indicators, *aggregates])]
    for kind, entries in (("indicator", indicators), ("aggregate", aggregates)):
        problems += [f"{kind} {e.get('code')!r}, key `weight`: {e.get('weight')!r} is not a positive number; "
                     "give a number above 0" for e in entries if not _positive_number(e.get("weight"))]
    problems += [f"indicator {e.get('code')!r}, key `direction`: {e.get('direction')!r} must be 1 (higher is "
                 "better) or -1 (lower is better)" for e in indicators if e.get("direction") not in (1, -1)]
    problems += _parent_problems(indicators, aggregates)
    problems += _derive_problems(indicators, field_ids)
    return problems + _method_problems(indicators, aggregates)


def _parent_problems(indicators: list[dict], aggregates: list[dict]) -> list[str]:
    level_of = {(a.get("view"), a.get("code")): a.get("level") for a in aggregates}
    problems = [f"aggregate {a.get('code')!r}, key `view`: {a.get('view')!r} is not a view; use aspects or "
                "dimensions" for a in aggregates if a.get("view") not in VIEWS]
    links = [(f"indicator {i.get('code')!r}", key, view, 1, i.get(key))
             for i in indicators for view, key in VIEWS.items() if i.get(key) is not None]
    links += [(f"aggregate {a.get('code')!r}", "parent", a.get("view"), a.get("level"), a.get("parent"))
              for a in aggregates if a.get("parent") is not None and a.get("view") in VIEWS]
    for entry, key, view, level, parent in links:
        found = level_of.get((view, parent))
        if found is None:
            problems.append(f"{entry}, key `{key}`: {parent!r} is not an aggregate of the {view} view; name one "
                            "of its `aggregates` codes, or add the aggregate")
        elif isinstance(level, int) and found != level + 1:
            problems.append(f"{entry}, key `{key}`: {parent!r} is at level {found}, but the parent of a level-"
                            f"{level} row must be at level {level + 1}; fix one of the two `level`s")
    return problems + _cycle_problems(aggregates)


def _cycle_problems(aggregates: list[dict]) -> list[str]:
    parent_of = {(a.get("view"), a.get("code")): a.get("parent") for a in aggregates}
    problems, reported = [], set()
    for view, code in parent_of:
        chain = [code]
        while (parent := parent_of.get((view, chain[-1]))) is not None and parent not in chain:
            chain.append(parent)
        if parent is not None and (view, parent) in parent_of:
            cycle = chain[chain.index(parent):]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                problems.append(f"aggregate {parent!r}, key `parent`: the parents form a cycle ("
                                f"{' -> '.join(map(repr, [*cycle, parent]))}); the chain must end at an aggregate "
                                "with no parent")
    return problems


def _derive_problems(indicators: list[dict], field_ids: set[str]) -> list[str]:
    problems = []
    for indicator in indicators:
        code, derive = indicator.get("code"), indicator.get("derive")
        if not isinstance(derive, dict) or derive.get("kind") not in DERIVE_FIELDS:
            kind = derive.get("kind") if isinstance(derive, dict) else derive
            problems.append(f"indicator {code!r}, key `derive.kind`: {kind!r} is not a derivation; use one of "
                            f"{', '.join(DERIVE_FIELDS)}")
            continue
        for key in DERIVE_FIELDS[derive["kind"]]:
            if str(derive.get(key)) not in field_ids:
                problems.append(f"indicator {code!r}, key `derive.{key}`: field {derive.get(key)!r} is not in "
                                "`fields` (the submission template); name a field id of the template, or add "
                                "the field")
    return problems


def _method_problems(indicators: list[dict], aggregates: list[dict]) -> list[str]:
    """Unknown ``normalise``, ``transform`` and ``aggregate`` names (the engine owns the names)."""
    from smartcity_analysis.index.engine import NORMALISE_METHODS, framework_method_problems

    problems = [f"indicator {i.get('code')!r}, key `normalise`: {i['normalise']!r} is not known; use one of "
                f"{', '.join(NORMALISE_METHODS)}" for i in indicators
                if i.get("normalise") not in (None, "", *NORMALISE_METHODS)]
    rows = [{**i, "level": 1} for i in indicators] + [
        {**a, "level": a.get("level") if isinstance(a.get("level"), int) else 0} for a in aggregates]
    table = pd.DataFrame(rows, columns=sorted({"code", "level", *(k for r in rows for k in r)}))
    return problems + framework_method_problems(table)


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _repeated(values: Iterable[Any]) -> list[tuple[Any, int]]:
    counts = Counter(v for v in values if v is not None)
    return [(value, n) for value, n in counts.items() if n > 1]


def _fields_table(entries: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(entries).reindex(columns=FIELD_COLUMNS)
    table["allowed"] = [list(v) if isinstance(v, list) else [] for v in table["allowed"]]
    return table.set_index("id", drop=False).rename_axis(None)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value
