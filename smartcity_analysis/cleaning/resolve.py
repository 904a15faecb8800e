"""Resolve each submitted row to one of the 514 kabupaten/kota of the reference table.

A row names its region by code (``3273``, ``32.73``, ``3273.0``, a number cell), by name (``Kota Bandung``,
``Kab. Bandung``, ``Tanjungpinang``), or both, with its province. The code wins when present; pre-2022 Papua
codes map to today's. Names are compared on a normalised key (lower case, no punctuation or spaces), then
through the alias table (``config/region_aliases.csv``: renamed regions and abbreviations), then fuzzily
(rapidfuzz ``fuzz.ratio`` >= :data:`FUZZY_THRESHOLD` on the keys), narrowed by the type word and the province
when they are given. A row that cannot be resolved gets a quarantine reason: ``missing_region``,
``unknown_region``, ``ambiguous_region`` or ``region_conflict``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rapidfuzz import fuzz, process

from smartcity_analysis.cleaning.parse import canonical_text, is_blank
from smartcity_analysis.config import Framework
from smartcity_analysis.paths import CONFIG_DIR
from smartcity_analysis.reference import load_papua_renumbering, load_regions

REGION_ALIASES_FILE = CONFIG_DIR / "region_aliases.csv"
# fuzz.ratio on the normalised keys. WRatio was rejected: its partial matching scores "bandung" against
# "bandungbarat" at 90, which would turn a bare twin name into a different region. At 90, one or two typos
# in a name of ten letters pass ("tanjungpinag"), while different short names do not ("bima"/"bimo" is 75).
FUZZY_THRESHOLD = 90.0
# Two different regions scoring within this margin of the best are both candidates (so: ambiguous).
FUZZY_TIE_MARGIN = 2.0
# Common short forms of province names that fuzzy matching cannot reach (keys as by normalise_key).
PROVINCE_ALIASES = {
    "dkijakarta": "31", "jakarta": "31", "dki": "31", "diyogyakarta": "34", "diy": "34", "yogyakarta": "34",
    "bangkabelitung": "19", "babel": "19", "kepri": "21", "ntb": "52", "ntt": "53", "sumut": "12",
    "sumbar": "13", "sumsel": "16", "jabar": "32", "jateng": "33", "jatim": "35", "kalbar": "61",
    "kalteng": "62", "kalsel": "63", "kaltim": "64", "kaltara": "65", "sulut": "71", "sulteng": "72",
    "sulsel": "73", "sultra": "74", "sulbar": "76", "malut": "82",
}
RESOLUTION_COLUMNS = ["row_seq", "region_code", "reason_code", "rule", "original_code", "message"]


@dataclass(frozen=True)
class RegionIndex:
    """The reference regions prepared for matching (built once per run).

    Attributes
    ----------
    regions : pandas.DataFrame
        ``region_code``, ``official_name``, ``region_type``, ``province_name``, ``name_key`` and
        ``province_codes`` (the current province code, plus the pre-2022 one for renumbered Papua regions),
        indexed by ``region_code``.
    renumbering : Mapping
        Pre-2022 Papua code -> current code.
    aliases : Mapping
        Name key -> region code.
    provinces : Mapping
        Province name key -> province code.
    type_words : Mapping
        Lower-case type word (``kab.``) -> region type (``Kabupaten``), longest first.
    missing_markers : frozenset of str
        Lower-case words meaning "no data" (``-``, ``n/a``): a code or name cell holding one is empty.
    pools : Mapping
        ``(region type or None, province code or None)`` -> :class:`NamePool`, every narrowing of the
        regions a name is matched in, prepared by :func:`build_pools` (see :meth:`pool`).
    """

    regions: pd.DataFrame
    renumbering: Mapping[str, str]
    aliases: Mapping[str, str]
    provinces: Mapping[str, str]
    type_words: Mapping[str, str]
    missing_markers: frozenset[str] = frozenset()
    pools: Mapping[tuple[str | None, str | None], NamePool] = field(default_factory=dict, repr=False)

    @functools.cached_property
    def official_names(self) -> dict[str, str]:
        """Region code -> official name (``regions["official_name"]``, looked up once)."""
        return dict(zip(self.regions.index, self.regions["official_name"], strict=True))

    def pool(self, kind: str | None = None, province_code: str | None = None) -> NamePool:
        """Return the regions of type ``kind`` in province ``province_code`` (None: any).

        A province that leaves no region of that type falls back to the type alone, as a typed province
        only narrows a name's candidates when it can.
        """
        pools = self.pools or build_pools(self.regions, self.type_words.values())
        found = pools.get((kind, province_code))
        return found if found is not None and found.codes else pools[(kind, None)]


@dataclass(frozen=True)
class NamePool:
    """Regions a name is matched against, prepared once: codes in reference order, grouped by name key.

    Attributes
    ----------
    codes : tuple of str
        The pool's region codes, in the reference table's order.
    keys : tuple of str
        The name key of each code, parallel to ``codes``.
    by_key : Mapping
        Name key -> the codes with that key, in reference order; keys in order of first occurrence.
    code_set : frozenset of str
        The same codes, for membership tests.
    """

    codes: tuple[str, ...]
    keys: tuple[str, ...]
    by_key: Mapping[str, tuple[str, ...]]
    code_set: frozenset[str]


def name_pool(table: pd.DataFrame) -> NamePool:
    """Prepare a :class:`NamePool` from rows of :attr:`RegionIndex.regions` (their order is kept)."""
    by_key: dict[str, list[str]] = {}
    for code, key in zip(table.index, table["name_key"], strict=True):
        by_key.setdefault(key, []).append(code)
    codes = tuple(table.index)
    return NamePool(codes, tuple(table["name_key"]), {k: tuple(v) for k, v in by_key.items()},
                    frozenset(codes))


def build_pools(table: pd.DataFrame, kinds: Iterable[str]) -> dict[tuple[str | None, str | None], NamePool]:
    """Prepare the pool of every region type (or none) and province (or none) a name can be narrowed to."""
    provinces = sorted({p for codes in table["province_codes"] for p in codes})
    pools = {}
    for kind in (None, *sorted(set(kinds))):
        of_kind = table if kind is None else table[table["region_type"] == kind]
        pools[(kind, None)] = name_pool(of_kind)
        for province_code in provinces:
            inside = [province_code in codes for codes in of_kind["province_codes"]]
            pools[(kind, province_code)] = name_pool(of_kind[inside])
    return pools


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one row: a region code, or a quarantine reason, with a message."""

    region_code: str | None
    reason_code: str | None = None
    rule: str | None = None
    message: str = ""


def normalise_key(text: Any) -> str:
    """Return a comparison key: no accents, lower case, only letters and digits (``Bau-Bau``: ``baubau``)."""
    decomposed = unicodedata.normalize("NFKD", "" if text is None else str(text))
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode().lower())


def build_region_index(regions: pd.DataFrame, renumbering: pd.DataFrame, aliases: pd.DataFrame,
                       type_words: Mapping[str, Any], missing_markers: Any = ()) -> RegionIndex:
    """Prepare the reference for matching.

    Parameters
    ----------
    regions : pandas.DataFrame
        From :func:`smartcity_analysis.reference.load_regions`.
    renumbering : pandas.DataFrame
        From :func:`smartcity_analysis.reference.load_papua_renumbering`.
    aliases : pandas.DataFrame
        ``alias``, ``region_code`` (see ``config/region_aliases.csv``).
    type_words : Mapping
        The framework's ``vocabulary.region_type_words`` (type -> words).
    missing_markers : iterable of str, optional
        The framework's ``vocabulary.missing_markers``.

    Returns
    -------
    RegionIndex
    """
    old_province = dict(zip(renumbering["region_code"], renumbering["province_code_before_2022"],
                            strict=True))
    table = regions[["region_code", "official_name", "region_type", "province_code", "province_name",
                     "region_name"]].assign(
        name_key=regions["region_name"].map(normalise_key),
        province_codes=[frozenset({p, old_province.get(c, p)})
                        for c, p in zip(regions["region_code"], regions["province_code"], strict=True)],
    ).set_index("region_code", drop=False)
    provinces = {normalise_key(n): c for c, n in zip(regions["province_code"], regions["province_name"],
                                                     strict=True)}
    words = {str(w).lower(): kind for kind, ws in type_words.items() for w in ws}
    return RegionIndex(
        pools=build_pools(table, words.values()),
        regions=table,
        renumbering=dict(zip(renumbering["code_before_2022"], renumbering["region_code"], strict=True)),
        aliases={normalise_key(a): str(c).zfill(4) for a, c in zip(aliases["alias"], aliases["region_code"],
                                                                  strict=True)},
        provinces={**PROVINCE_ALIASES, **provinces},
        type_words=dict(sorted(words.items(), key=lambda kv: -len(kv[0]))),
        missing_markers=frozenset(str(m).strip().lower() for m in missing_markers),
    )


def load_region_aliases(path: str | Path | None = None) -> pd.DataFrame:
    """Read the region alias table (``alias``, ``region_code``, ``reason``)."""
    return pd.read_csv(path or REGION_ALIASES_FILE, dtype=str, encoding="utf-8")


def load_region_index(framework: Framework, reference_dir: str | Path | None = None,
                      aliases_path: str | Path | None = None) -> RegionIndex:
    """Load the reference tables and the alias table, and build the :class:`RegionIndex`."""
    return build_region_index(load_regions(reference_dir), load_papua_renumbering(reference_dir),
                              load_region_aliases(aliases_path),
                              framework.vocabulary.get("region_type_words") or {},
                              framework.vocabulary.get("missing_markers") or ())


# --- Codes --------------------------------------------------------------------------------------------------

def parse_region_code(value: Any) -> str | None:
    """Return a 4-digit code from ``3273``, ``32.73``, ``3273.0``, int 3273 or float 3273.0 / 32.73.

    Returns None when the value is not a code (blank, text, wrong number of digits).
    """
    if is_blank(value) or isinstance(value, bool):
        return None
    if isinstance(value, float) and not value.is_integer() and value < 100:
        value = f"{value:.2f}"  # a dotted code typed into a number cell: 32.7 is 32.70
    text = canonical_text(value).strip()
    match = re.fullmatch(r"(\d{2})\.?(\d{2})(?:\.0+)?", text)
    return match[1] + match[2] if match else None


# --- Names --------------------------------------------------------------------------------------------------

def split_type_word(name: str, type_words: Mapping[str, str]) -> tuple[str | None, str]:
    """Split a leading (``Kab. Bandung``) or trailing (``Bandung Regency``) type word off a name.

    A word counts only when followed by a space or punctuation, so ``Kotabaru`` and ``Kotamobagu`` keep
    their names. ``Administrasi`` after the type word (Jakarta) is dropped. Every leading word is tried
    before any trailing one, so in ``Kab Lima Puluh Kota`` the type is ``Kab`` and ``Kota`` stays in the
    name.
    """
    kind, rest, _ = _split_type_word(name, type_words)
    return kind, rest


def _split_type_word(name: str, type_words: Mapping[str, str]) -> tuple[str | None, str, str | None]:
    """Return :func:`split_type_word`'s type and rest, and where the word was (``leading``/``trailing``)."""
    text = re.sub(r"\s+", " ", name).strip()
    lower = text.lower()
    for word, kind in type_words.items():
        follows = lower[len(word):len(word) + 1]
        if lower.startswith(word) and (word.endswith(".") or re.match(r"[\s.,]", follows)):
            rest = re.sub(r"^[\s.,]*(administrasi\s+)?", "", text[len(word):], flags=re.IGNORECASE)
            return kind, rest.strip(), "leading"
    for word, kind in type_words.items():
        if lower.endswith(" " + word):
            return kind, text[: -len(word)].strip(), "trailing"
    return None, text, None


def match_province(text: Any, index: RegionIndex) -> str | None:
    """Return the province code a typed province name points to, or None (exact key, alias, then fuzzy)."""
    key = re.sub(r"^(provinsi|prov)", "", normalise_key(text))
    if not key:
        return None
    if key in index.provinces:
        return index.provinces[key]
    best = process.extractOne(key, list(index.provinces), scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
    return index.provinces[best[0]] if best else None


def _keys_matching(key: str, pool: NamePool) -> tuple[list[str], str | None]:
    """Return the codes of ``pool`` whose name key equals ``key``, else the fuzzy best (with ties)."""
    exact = pool.by_key.get(key)
    if exact:
        return list(exact), "region_from_name"
    scored = process.extract(key, list(pool.by_key), scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD,
                             limit=None)
    if not scored:
        return [], None
    best = scored[0][1]
    near = {k for k, score, _ in scored if score >= best - FUZZY_TIE_MARGIN}
    return [c for c, k in zip(pool.codes, pool.keys, strict=True) if k in near], "region_name_fuzzy"


def name_candidates(name: Any, province: Any, index: RegionIndex) -> tuple[list[str], str | None]:
    """Return the region codes a typed name can mean, and how they were found.

    The whole name is tried first (so ``Kotabaru`` is not read as Kota + Baru); then the alias table; then
    the name without its type word, among regions of that type and province when given (falling back to
    all regions when that narrowing leaves none). A trailing type word is kept in the name when the whole
    name is a region's (``Lima Puluh Kota`` is the kabupaten, not a kota). The regions are looked up in the
    index's prepared pools (:meth:`RegionIndex.pool`), not filtered per row.

    Returns
    -------
    codes : list of str
        Candidate region codes (empty: no match; several: ambiguous).
    how : str or None
        ``region_from_name``, ``region_alias`` or ``region_name_fuzzy``.
    """
    if is_blank(name):
        return [], None
    text = canonical_text(name)
    everywhere = index.pool()
    whole = list(everywhere.by_key.get(normalise_key(text), ()))
    kind, bare, position = _split_type_word(text, index.type_words)
    key = normalise_key(bare)
    if key in index.aliases:
        return [index.aliases[key]], "region_alias"
    province_code = match_province(province, index) if not is_blank(province) else None
    narrowed = index.pool(kind, province_code)
    if whole and (kind is None or position == "trailing"):
        # A name that ends in a type word and is itself a region's name is that region: Lima Puluh Kota
        # is a kabupaten, not a kota called Lima Puluh.
        return _narrow(whole, index.pool(None, province_code)), "region_from_name"
    for pool in (narrowed, everywhere):
        codes, how = _keys_matching(key, pool)
        if codes:
            return codes, how
    return (_narrow(whole, narrowed), "region_from_name") if whole else ([], None)


def _narrow(codes: list[str], pool: NamePool) -> list[str]:
    inside = [c for c in codes if c in pool.code_set]
    return inside or codes


# --- Rows ---------------------------------------------------------------------------------------------------

def _describe(codes: list[str], index: RegionIndex) -> str:
    return " and ".join(f"{index.official_names[c]} ({c})" for c in codes)


def resolve_region(code: Any, name: Any, province: Any, index: RegionIndex,
                   candidates_of: Callable[[Any, Any], tuple[list[str], str | None]] | None = None) -> Resolution:
    """Resolve one row's region from its code, name and province.

    Parameters
    ----------
    code, name, province : object
        The cells as read (text, number or None); a missing marker (``-``) counts as empty.
    index : RegionIndex
        The prepared reference.
    candidates_of : callable, optional
        ``(name, province) -> (codes, how)``, as :func:`name_candidates` with ``index`` (the default); a
        table resolves through a memo of it (:func:`resolve_frame`).

    Returns
    -------
    Resolution
        The region code and the rule that produced it (logged when the code's text changed), or a
        quarantine reason (``missing_region``, ``unknown_region``, ``ambiguous_region``,
        ``region_conflict``) with a message saying what to fix.
    """
    code, name, province = (None if _is_marker(v, index) else v for v in (code, name, province))
    parsed_code = parse_region_code(code)
    candidates, how = (candidates_of(name, province) if candidates_of is not None
                       else name_candidates(name, province, index))
    if parsed_code is not None:
        return _resolve_with_code(parsed_code, code, name, candidates, index)
    code_note = "" if is_blank(code) else f"the region code {canonical_text(code)!r} is not a 4-digit code; "
    if is_blank(name):
        if code_note:
            return Resolution(None, "unknown_region", None,
                              code_note + "write the Kemendagri code (e.g. 3273) or the region's name")
        return Resolution(None, "missing_region", None,
                          "no region code and no region name; fill in Kode Wilayah (e.g. 3273)")
    if not candidates:
        return Resolution(None, "unknown_region", None,
                          f"{code_note}no kabupaten/kota is called {canonical_text(name)!r}; "
                          "check the spelling or write the Kemendagri code (e.g. 3273)")
    if len(candidates) > 1:
        return Resolution(None, "ambiguous_region", None,
                          f"{code_note}{canonical_text(name)!r} can be {_describe(candidates, index)}; "
                          "write the region code or 'Kabupaten'/'Kota' before the name")
    rule = "invalid_region_code_ignored" if code_note else how
    return Resolution(candidates[0], None, rule,
                      f"{code_note}resolved from the name {canonical_text(name)!r} "
                      f"to {_describe(candidates, index)}")


def _is_marker(value: Any, index: RegionIndex) -> bool:
    return isinstance(value, str) and value.strip().lower() in index.missing_markers


def _resolve_with_code(parsed_code: str, code: Any, name: Any, candidates: list[str],
                       index: RegionIndex) -> Resolution:
    region, rule = parsed_code, ("region_code_format" if canonical_text(code) != parsed_code else None)
    if parsed_code not in index.regions.index:
        if parsed_code not in index.renumbering:
            return Resolution(parsed_code, "unknown_region", None,
                              f"region code {canonical_text(code)!r} is not a kabupaten/kota code in the "
                              "Kemendagri list; check the code")
        region, rule = index.renumbering[parsed_code], "papua_2022_renumbering"
    if candidates and region not in candidates:
        return Resolution(region, "region_conflict", None,
                          f"the code {canonical_text(code)!r} is {_describe([region], index)} but the name "
                          f"{canonical_text(name)!r} is {_describe(candidates, index)}; correct one of them")
    message = ""
    if rule == "papua_2022_renumbering":
        message = f"pre-2022 Papua code {parsed_code} is now {_describe([region], index)}"
    if not is_blank(name) and not candidates:
        message = (message + "; " if message else "") + (
            f"the name {canonical_text(name)!r} matches no region; resolved by the code alone")
    return Resolution(region, None, rule, message)


def resolve_frame(rows: pd.DataFrame, index: RegionIndex) -> pd.DataFrame:
    """Resolve every row of a submissions table.

    Parameters
    ----------
    rows : pandas.DataFrame
        With ``row_seq`` and, when present, ``region_code``, ``region_name``, ``province_name`` as read.
    index : RegionIndex
        The prepared reference.

    Returns
    -------
    pandas.DataFrame
        ``row_seq``, ``region_code`` (resolved, or the best-known code; NA when none), ``reason_code`` (NA
        when resolved), ``rule`` (NA when the code was taken as typed), ``original_code`` (as typed) and
        ``message``.
    """
    def column(name: str) -> pd.Series:
        return rows[name] if name in rows else pd.Series([None] * len(rows), index=rows.index, dtype=object)

    # A row's outcome depends only on its three cells, and resubmissions repeat them: resolve each distinct
    # triple once. Cells are keyed with their type, so 3273, 3273.0 and "3273" stay apart.
    outcomes: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    candidates_of = memo_candidates(index)
    records = []
    for seq, code, name, province in zip(rows["row_seq"], column("region_code"), column("region_name"),
                                         column("province_name"), strict=True):
        key = (type(code), code, type(name), name, type(province), province)
        try:
            resolved = outcomes.get(key)
        except TypeError:  # an unhashable cell: resolve it without the memo
            key, resolved = None, None
        if resolved is None:
            resolved = _resolution_record(code, name, province, index, candidates_of)
            if key is not None:
                outcomes[key] = resolved
        records.append((seq, *resolved))
    return pd.DataFrame(records, columns=RESOLUTION_COLUMNS).astype({"row_seq": "int64"})


def memo_candidates(index: RegionIndex) -> Callable[[Any, Any], tuple[list[str], str | None]]:
    """Return :func:`name_candidates` over ``index``, each distinct (name, province) looked up once.

    Cells are keyed with their type, as in :func:`resolve_frame`; an unhashable cell is looked up each time.
    Each call returns a fresh list, so a caller may change it.
    """
    found: dict[tuple[Any, ...], tuple[list[str], str | None]] = {}

    def candidates_of(name: Any, province: Any) -> tuple[list[str], str | None]:
        key = (type(name), name, type(province), province)
        try:
            hit = found.get(key)
        except TypeError:
            return name_candidates(name, province, index)
        if hit is None:
            hit = found[key] = name_candidates(name, province, index)
        return list(hit[0]), hit[1]

    return candidates_of


def _resolution_record(code: Any, name: Any, province: Any, index: RegionIndex,
                       candidates_of: Callable[[Any, Any], tuple[list[str], str | None]] | None = None
                       ) -> tuple[Any, ...]:
    """Return one row's resolution columns after ``row_seq`` (see :func:`resolve_frame`)."""
    outcome = resolve_region(code, name, province, index, candidates_of)
    return (outcome.region_code, outcome.reason_code, outcome.rule,
            "" if is_blank(code) else canonical_text(code), outcome.message)
