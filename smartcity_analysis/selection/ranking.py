"""Ranking and the selection of the regions that receive masterplan guidance.

Ranking: by ``readiness_index``, highest first. Ties are broken by the higher ``aspect_struktur`` (human
resources, budget and leadership, the capacity officials name first), then by the lower ``region_code``; so
every region has its own rank (1..n) and the order never depends on file order. Scores are compared at
:data:`~smartcity_analysis.index.engine.DECISION_DECIMALS` decimals
(:func:`~smartcity_analysis.index.engine.decision_key`): two indices equal to 9 decimals tie, so the last bits
of a score, which depend on the machine's linear-algebra kernel, never decide a rank or the selection.
``scores.csv`` keeps the engine's shared ranks in ``readiness_rank``; ``ranking.csv`` carries this unique
``rank``.

Selection: the top ``quota`` eligible regions (accepted, an index, indicator coverage at least
``min_coverage``). Optional minimums per region type or per assessment class are met first, each by the
best-ranked eligible regions of that group not yet chosen (type minimums first, then class minimums, each
group in the order given); the rest of the quota is filled by rank. The same array routine selects for the
nominal index and for every Monte Carlo draw (:func:`select_top`), so the two can never disagree on the rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from smartcity_analysis.index.engine import decision_key
from smartcity_analysis.notes import Note

NOT_RESERVED = -1
STAGE = "04_rank_and_select"
DEFAULT_TIE_BREAK = ("aspect_struktur",)


@dataclass(frozen=True)
class SelectionParams:
    """The rule that turns a ranking into a selection.

    Attributes
    ----------
    quota : int
        How many regions receive guidance (50 in the November 2021 round).
    min_coverage : float
        Minimum share of indicators available before imputation (0-1) to be eligible.
    min_per_type : Mapping[str, int]
        Minimum selected per ``region_type`` (e.g. ``{"Kota": 10}``); empty for none.
    min_per_class : Mapping[str, int]
        Minimum selected per ``assessment_class``; empty for none.
    tie_break : tuple of str
        Score columns (higher first) that order regions with equal index, before ``region_code``.
    """

    quota: int = 50
    min_coverage: float = 0.6
    min_per_type: Mapping[str, int] = field(default_factory=dict)
    min_per_class: Mapping[str, int] = field(default_factory=dict)
    tie_break: tuple[str, ...] = DEFAULT_TIE_BREAK

    def __post_init__(self) -> None:
        if self.quota < 1:
            raise ValueError(f"quota must be at least 1 (got {self.quota})")
        if not 0 <= self.min_coverage <= 1:
            raise ValueError(f"min_coverage is a share between 0 and 1 (got {self.min_coverage})")
        minimums = sum(self.min_per_type.values()) + sum(self.min_per_class.values())
        if any(v < 0 for v in [*self.min_per_type.values(), *self.min_per_class.values()]):
            raise ValueError("minimums per type or class cannot be negative")
        if sum(self.min_per_type.values()) > self.quota or sum(self.min_per_class.values()) > self.quota:
            raise ValueError(f"minimums ({minimums} in all) exceed the quota of {self.quota}")


@dataclass(frozen=True)
class Selection:
    """The nominal ranking and selection, one row per scored region.

    Attributes
    ----------
    table : pandas.DataFrame
        ``region_code``, ``official_name``, ``region_type``, ``province_name``, ``assessment_class``,
        ``readiness_index``, ``rank``, ``eligible``, ``selected``, ``decision_reason`` (a code),
        ``decision_reason_id``, ``decision_reason_en``; sorted by rank.
    params : SelectionParams
        The rule that produced it.
    """

    table: pd.DataFrame
    params: SelectionParams


def candidate_table(scores: pd.DataFrame, submissions: pd.DataFrame, unit_stats: pd.DataFrame,
                    tie_break: Sequence[str] = DEFAULT_TIE_BREAK) -> pd.DataFrame:
    """Join what the ranking needs from ``scores.csv``, ``submissions_clean.csv`` and ``index_unit_stats.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per scored region, sorted by ``region_code``: identity columns, ``readiness_index``, the
        tie-break columns, ``indicator_coverage`` and ``accepted`` (the region is in ``submissions_clean``).
    """
    identity = ["region_code", "official_name", "region_type", "province_name", "assessment_class"]
    subs = submissions.assign(region_code=submissions["region_code"].astype(str))
    subs = subs.reindex(columns=identity).drop_duplicates("region_code")
    table = scores.assign(region_code=scores["region_code"].astype(str))[
        ["region_code", "readiness_index", *tie_break]]
    stats = unit_stats.assign(region_code=unit_stats["region_code"].astype(str))
    table = table.merge(subs, on="region_code", how="left", validate="1:1", indicator="_found")
    table["accepted"] = table.pop("_found").eq("both")
    table = table.merge(stats[["region_code", "indicator_coverage"]], on="region_code", how="left",
                        validate="1:1")
    return table[[*identity, "readiness_index", *tie_break, "indicator_coverage", "accepted"]].sort_values(
        "region_code", kind="stable").reset_index(drop=True)


def eligibility(candidates: pd.DataFrame, min_coverage: float) -> pd.Series:
    """Return why each region is not eligible, ``""`` when it is.

    The first failing reason only: ``not_accepted``, ``no_index`` or ``low_coverage``.
    """
    reason = np.select(
        [~candidates["accepted"].astype(bool), candidates["readiness_index"].isna(),
         ~(candidates["indicator_coverage"].fillna(0) >= min_coverage)],
        ["not_accepted", "no_index", "low_coverage"], default="",
    )
    return pd.Series(reason, index=candidates.index, name="ineligible_reason")


def tie_order(candidates: pd.DataFrame, tie_break: Sequence[str] = DEFAULT_TIE_BREAK) -> np.ndarray:
    """Return each region's position in the tie-break order (higher tie-break scores, then lower code first).

    Tie-break scores are compared at the decision precision (:func:`decision_key`), like the index.
    """
    keys = [candidates["region_code"].astype(str).to_numpy()]
    for column in reversed(tie_break):
        key = -decision_key(candidates[column].to_numpy(float))
        keys.append(np.where(np.isnan(key), np.inf, key))  # a missing score comes last
    order = np.lexsort(keys)
    position = np.empty(len(candidates), dtype=np.int64)
    position[order] = np.arange(len(candidates))
    return position


def rank_rows(values: np.ndarray, tie_position: np.ndarray) -> np.ndarray:
    """Rank each row of ``values`` (draws x units), highest first, ties by ``tie_position``; NaN last.

    Values are compared at the decision precision (:func:`decision_key`): values equal to
    ``DECISION_DECIMALS`` decimals are a tie, which ``tie_position`` breaks.

    Parameters
    ----------
    values : numpy.ndarray
        2-D array of index values (full precision; rounded here).
    tie_position : numpy.ndarray
        From :func:`tie_order`.

    Returns
    -------
    numpy.ndarray
        Same shape, ranks 1..n (int32), unique within each row.
    """
    values = np.atleast_2d(values)
    by_tie = np.argsort(tie_position)
    ordered = -decision_key(values[:, by_tie])
    ordered = np.where(np.isnan(ordered), np.inf, ordered)
    order = np.argsort(ordered, axis=1, kind="stable")
    ranks = np.empty(values.shape, dtype=np.int32)
    rows = np.arange(values.shape[0])[:, None]
    ranks[rows, by_tie[order]] = np.arange(1, values.shape[1] + 1, dtype=np.int32)
    return ranks


def group_minimums(candidates: pd.DataFrame, params: SelectionParams) -> list[tuple[str, str, np.ndarray, int]]:
    """Return the minimum constraints as ``(column, group, mask, minimum)``, type minimums first."""
    constraints = []
    for column, minimums in (("region_type", params.min_per_type), ("assessment_class", params.min_per_class)):
        for group, minimum in minimums.items():
            mask = candidates[column].astype(str).eq(str(group)).to_numpy()
            constraints.append((column, str(group), mask, int(minimum)))
    return constraints


def select_top(ranks: np.ndarray, eligible: np.ndarray, quota: int,
               minimums: Sequence[tuple[str, str, np.ndarray, int]] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Select per row (draw): group minimums first, then the best-ranked eligible regions up to the quota.

    Parameters
    ----------
    ranks : numpy.ndarray
        Draws x units, unique ranks per row (1 = best).
    eligible : numpy.ndarray
        Units, bool.
    quota : int
        Regions to select per draw (all eligible if fewer).
    minimums : sequence
        ``(column, group, mask, minimum)`` from :func:`group_minimums`; a group with fewer eligible regions
        than its minimum contributes all of them.

    Returns
    -------
    selected : numpy.ndarray
        Draws x units, bool.
    reserved_by : numpy.ndarray
        Draws x units, the index in ``minimums`` of the constraint that reserved the region, or -1.
    """
    ranks = np.atleast_2d(ranks)
    big = np.iinfo(np.int32).max
    reserved_by = np.full(ranks.shape, NOT_RESERVED, dtype=np.int16)
    for g, (_, _, mask, minimum) in enumerate(minimums):
        reserved = reserved_by != NOT_RESERVED
        need = np.maximum(0, minimum - (reserved & mask).sum(axis=1))
        take = _best(np.where(mask & eligible & ~reserved, ranks, big), need, big)
        reserved_by[take] = g
    reserved = reserved_by != NOT_RESERVED
    n_reserved = reserved.sum(axis=1)
    if (n_reserved > quota).any():
        raise ValueError(f"the minimums need {int(n_reserved.max())} regions, more than the quota of {quota}")
    fill = _best(np.where(eligible & ~reserved, ranks, big), quota - n_reserved, big)
    return reserved | fill, reserved_by


def _best(keys: np.ndarray, count: np.ndarray, big: int) -> np.ndarray:
    """Mark, per row, the ``count`` smallest keys below ``big``."""
    position = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    return (position < np.asarray(count)[:, None]) & (keys < big)


def select(candidates: pd.DataFrame, params: SelectionParams = SelectionParams()) -> Selection:
    """Rank and select on the nominal index, with the reason for every decision in both languages.

    Parameters
    ----------
    candidates : pandas.DataFrame
        From :func:`candidate_table`.
    params : SelectionParams
        Quota, eligibility threshold, minimums, tie-break.

    Returns
    -------
    Selection
        The decision table, sorted by rank.
    """
    ineligible = eligibility(candidates, params.min_coverage)
    eligible = ineligible.eq("").to_numpy()
    ranks = rank_rows(candidates["readiness_index"].to_numpy(float)[None, :],
                      tie_order(candidates, params.tie_break))
    minimums = group_minimums(candidates, params)
    selected, reserved_by = select_top(ranks, eligible, params.quota, minimums)
    by_rank_alone, _ = select_top(ranks, eligible, params.quota)
    table = candidates.assign(rank=ranks[0], eligible=eligible, selected=selected[0])
    # A minimum is the reason only for a region the ranking alone would have left out.
    needed = np.where(by_rank_alone[0], NOT_RESERVED, reserved_by[0])
    reasons = decision_reasons(table, ineligible, needed, by_rank_alone[0], minimums, params)
    table = pd.concat([table, reasons], axis=1)
    return Selection(table=table.sort_values("rank", kind="stable").reset_index(drop=True), params=params)


def selection_notes(selection: Selection) -> tuple[Note, ...]:
    """Say when the quota does not bite: every eligible region is selected, or no region is eligible."""
    table, quota = selection.table, selection.params.quota
    n_eligible = int(table["eligible"].sum())
    if n_eligible == 0:
        return (Note(STAGE, "selection", "restricted", "no_eligible_region",
                     "Tidak ada daerah yang memenuhi syarat seleksi pada putaran ini (lihat alasan tiap daerah).",
                     "No region of this round meets the selection's conditions (see each region's reason)."),)
    if n_eligible <= quota:
        return (Note(STAGE, "selection", "restricted", "quota_not_binding",
                     f"Kuota {quota} tidak kurang dari jumlah daerah yang memenuhi syarat ({n_eligible}): semuanya "
                     "terpilih, dan peringkat tidak menentukan seleksi.",
                     f"The quota of {quota} is not below the number of eligible regions ({n_eligible}): all of "
                     "them are selected, and the ranking does not decide the selection."),)
    return ()


def decision_reasons(table: pd.DataFrame, ineligible: pd.Series, reserved_by: np.ndarray,
                     by_rank_alone: np.ndarray, minimums: Sequence[tuple[str, str, np.ndarray, int]],
                     params: SelectionParams) -> pd.DataFrame:
    """Return ``decision_reason`` (a code), ``decision_reason_id`` and ``decision_reason_en`` for each region.

    Codes: ``within_quota``, ``minimum_type``, ``minimum_class`` (selected only because of a minimum),
    ``displaced_by_minimum`` (within the quota by rank, left out to meet a minimum), ``outside_quota``,
    ``low_coverage``, ``no_index``, ``not_accepted``.
    """
    n = len(table)
    rows = [
        _reason(rank, selected, reason, int(by), alone, coverage, minimums, params, n)
        for rank, selected, reason, by, alone, coverage in zip(
            table["rank"], table["selected"], ineligible, reserved_by, by_rank_alone,
            table["indicator_coverage"], strict=True)
    ]
    return pd.DataFrame(rows, index=table.index,
                        columns=["decision_reason", "decision_reason_id", "decision_reason_en"])


def _reason(rank: int, selected: bool, ineligible: str, reserved_by: int, by_rank_alone: bool, coverage: float,
            minimums: Sequence[tuple[str, str, np.ndarray, int]], params: SelectionParams,
            n: int) -> tuple[str, str, str]:
    where_id, where_en = f"Peringkat {rank} dari {n}", f"Rank {rank} of {n}"
    if ineligible == "not_accepted":
        return ("not_accepted", f"{where_id}; tidak memenuhi syarat: pengajuan tidak diterima",
                f"{where_en}; not eligible: the submission was not accepted")
    if ineligible == "no_index":
        return ("no_index", "Tidak memenuhi syarat: indeks tidak dapat dihitung",
                "Not eligible: the index could not be computed")
    if ineligible == "low_coverage":
        pct, limit = _pct(coverage), _pct(params.min_coverage)
        return ("low_coverage",
                f"{where_id}; tidak memenuhi syarat: cakupan indikator {pct} di bawah batas {limit}",
                f"{where_en}; not eligible: indicator coverage {pct} is below the {limit} threshold")
    if reserved_by != NOT_RESERVED:
        column, group, _, minimum = minimums[reserved_by]
        by_type = column == "region_type"
        kind_id, kind_en = ("jenis", "type") if by_type else ("kelas", "class")
        return (f"minimum_{'type' if by_type else 'class'}",
                f"{where_id}; dipilih untuk memenuhi minimum {minimum} daerah {kind_id} {group}",
                f"{where_en}; selected to meet the minimum of {minimum} regions of {kind_en} {group}")
    if selected:
        return ("within_quota", f"{where_id}; masuk dalam kuota {params.quota}",
                f"{where_en}; within the quota of {params.quota}")
    if by_rank_alone:
        return ("displaced_by_minimum",
                f"{where_id}; di luar kuota {params.quota} karena kursi minimum per jenis/kelas",
                f"{where_en}; outside the quota of {params.quota} because of the minimums per type/class")
    return ("outside_quota", f"{where_id}; di luar kuota {params.quota}",
            f"{where_en}; outside the quota of {params.quota}")


def _pct(share: float) -> str:
    return "tidak diketahui" if pd.isna(share) else f"{share * 100:.0f} %"


def compare_selections(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Who enters and who leaves the selection between two decision tables.

    Parameters
    ----------
    before, after : pandas.DataFrame
        Tables with ``region_code``, ``rank``, ``selected`` (``official_name`` is carried if present).

    Returns
    -------
    pandas.DataFrame
        ``region_code``, ``official_name``, ``rank_before``, ``rank_after``, ``rank_change`` (positive =
        moved up), ``change`` (``entered``/``left``/``stayed_in``/``stayed_out``), ``change_id``
        (``masuk``/``keluar``/``tetap terpilih``/``tetap tidak terpilih``); entries and exits first, by rank.
    """
    keep = ["region_code", "rank", "selected"]
    names = before.set_index("region_code")["official_name"] if "official_name" in before else None
    merged = before[keep].merge(after[keep], on="region_code", how="outer", suffixes=("_before", "_after"))
    was, now = merged["selected_before"].fillna(False).astype(bool), merged["selected_after"].fillna(False).astype(bool)
    merged["change"] = np.select([~was & now, was & ~now, was & now], ["entered", "left", "stayed_in"],
                                 default="stayed_out")
    merged["change_id"] = merged["change"].map({"entered": "masuk", "left": "keluar",
                                                "stayed_in": "tetap terpilih", "stayed_out": "tetap tidak terpilih"})
    merged["rank_change"] = merged["rank_before"] - merged["rank_after"]
    merged["official_name"] = merged["region_code"].map(names) if names is not None else ""
    order = merged["change"].map({"entered": 0, "left": 1, "stayed_in": 2, "stayed_out": 3})
    merged = merged.assign(_order=order).sort_values(["_order", "rank_after", "region_code"], kind="stable")
    return merged[["region_code", "official_name", "rank_before", "rank_after", "rank_change", "change",
                   "change_id"]].reset_index(drop=True)


def load_candidates(processed_dir: str | Path, tie_break: Sequence[str] = DEFAULT_TIE_BREAK) -> pd.DataFrame:
    """Read ``scores.csv``, ``submissions_clean.csv`` and ``index_unit_stats.csv`` and join them."""
    folder = Path(processed_dir)
    read = {"dtype": {"region_code": str}, "encoding": "utf-8"}
    return candidate_table(pd.read_csv(folder / "scores.csv", **read),
                           pd.read_csv(folder / "submissions_clean.csv", **read),
                           pd.read_csv(folder / "index_unit_stats.csv", **read), tie_break)


# ---------------------------------------------------------------------------------------------- outputs

RANKING_COLUMNS = ["region_code", "official_name", "readiness_index", "rank", "selected", "rank_median",
                   "rank_p05", "rank_p95", "p_selected", "borderline", "eligible", "decision_reason",
                   "decision_reason_id", "decision_reason_en"]
SHEET_HEADERS = {
    "rank": "Peringkat", "region_code": "Kode Wilayah", "official_name": "Nama Daerah",
    "province_name": "Provinsi", "readiness_index": "Indeks Kesiapan", "rank_range": "Rentang Peringkat (5-95 %)",
    "p_selected": "Peluang Terpilih", "status": "Status", "note": "Keterangan",
    "gap_points": "Kurang dari Batas (poin indeks)", "margin_points": "Margin di Atas Batas (poin indeks)",
}
# Optional columns of ranking.csv, from the gap analysis (smartcity_analysis.selection.gap): how many index
# points a region outside needs to enter, and how far a selected region's index could fall before it leaves.
GAP_COLUMNS = ["gap_points", "margin_points"]
# Fixed workbook and zip-entry timestamps, so the same selection gives the same bytes.
FIXED_TIMESTAMP = (2021, 11, 1, 0, 0, 0)


def ranking_table(selection: Selection, uncertainty: pd.DataFrame | None) -> pd.DataFrame:
    """Join the nominal decisions with the Monte Carlo summary (the ``ranking.csv`` contract, plus context).

    A borderline region's reason gets a note saying how often it was selected across the draws.

    Parameters
    ----------
    selection : Selection
        The nominal decisions.
    uncertainty : pandas.DataFrame
        ``region_code``, ``rank_median``, ``rank_p05``, ``rank_p95``, ``p_selected``, ``borderline``
        (:func:`smartcity_analysis.selection.uncertainty.summarise`), or None when the Monte Carlo was skipped.

    Returns
    -------
    pandas.DataFrame
        ``RANKING_COLUMNS`` then ``region_type``, ``province_name``, ``assessment_class``; sorted by rank.
    """
    if uncertainty is None:  # the Monte Carlo was skipped: no interval, no probability, nothing borderline
        uncertainty = pd.DataFrame({"region_code": selection.table["region_code"], "rank_median": np.nan,
                                    "rank_p05": np.nan, "rank_p95": np.nan, "p_selected": np.nan, "borderline": False})
    summary = uncertainty[["region_code", "rank_median", "rank_p05", "rank_p95", "p_selected", "borderline"]]
    table = selection.table.merge(summary, on="region_code", how="left", validate="1:1")
    note = table["borderline"].fillna(False).astype(bool)
    pct = (table["p_selected"] * 100).round().astype("Int64").astype(str)
    table.loc[note, "decision_reason_id"] += "; keputusan sensitif terhadap pilihan metode (terpilih di " + \
        pct[note] + " % simulasi)"
    table.loc[note, "decision_reason_en"] += "; the decision is sensitive to method choices (selected in " + \
        pct[note] + " % of draws)"
    extra = ["region_type", "province_name", "assessment_class"]
    return table[RANKING_COLUMNS + extra].sort_values("rank", kind="stable").reset_index(drop=True)


def write_ranking(ranking: pd.DataFrame, processed_dir: str | Path) -> Path:
    """Write ``ranking.csv`` (the contract's columns, UTF-8, full precision); return its path."""
    from smartcity_analysis.outputs import write_csv  # atomic; a processed file keeps the exact text

    return write_csv(Path(processed_dir) / "ranking.csv",
                     ranking[RANKING_COLUMNS + [c for c in GAP_COLUMNS if c in ranking.columns]])


def with_gap(ranking: pd.DataFrame, gap: pd.DataFrame) -> pd.DataFrame:
    """Add ``gap_points`` and ``margin_points`` (:data:`GAP_COLUMNS`) from ``selection_gap.csv``'s table."""
    return ranking.drop(columns=[c for c in GAP_COLUMNS if c in ranking.columns]).merge(
        gap[["region_code", *GAP_COLUMNS]], on="region_code", how="left", validate="1:1")


def selection_sheet(ranking: pd.DataFrame) -> pd.DataFrame:
    """Return the list for officials: Indonesian headers, one row per region in rank order.

    Text cells starting like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) are prefixed with ``'``: the list
    is opened in Excel (:func:`smartcity_analysis.outputs.neutralise_formulas`).
    """
    from smartcity_analysis.outputs import neutralise_formulas

    status = np.select([ranking["selected"], ranking["eligible"]], ["Terpilih", "Tidak terpilih"],
                       default="Tidak memenuhi syarat")
    sheet = pd.DataFrame({
        "rank": ranking["rank"], "region_code": ranking["region_code"], "official_name": ranking["official_name"],
        "province_name": ranking["province_name"], "readiness_index": ranking["readiness_index"].round(2),
        "rank_range": [f"{a}-{b}" if pd.notna(a) else "" for a, b in zip(ranking["rank_p05"], ranking["rank_p95"],
                                                                          strict=True)],
        "p_selected": ranking["p_selected"], "status": status, "note": ranking["decision_reason_id"],
        **{c: ranking[c].round(2) for c in GAP_COLUMNS if c in ranking.columns},  # after "note": widths fixed
    })
    return neutralise_formulas(sheet).rename(columns=SHEET_HEADERS)


def write_selection_xlsx(ranking: pd.DataFrame, path: str | Path) -> Path:
    """Write ``selection.xlsx`` (sheet ``Seleksi``) byte-reproducibly: fixed timestamps, formatted columns."""
    import io
    import re
    import zipfile
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.styles import Font

    sheet = selection_sheet(ranking)
    workbook = Workbook()
    ws = workbook.active
    ws.title = "Seleksi"
    ws.append(list(sheet.columns))
    for row in sheet.itertuples(index=False):
        ws.append([None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = {"A": 10, "B": 13, "C": 34, "D": 26, "E": 15, "F": 24, "G": 15, "H": 22, "I": 90}
    for column, width in widths.items():
        ws.column_dimensions[column].width = width
    for cell in ws["G"][1:]:
        cell.number_format = "0%"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    workbook.properties.created = datetime(*FIXED_TIMESTAMP)
    stamp = datetime(*FIXED_TIMESTAMP).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    buffer = io.BytesIO()
    workbook.save(buffer)
    from smartcity_analysis.outputs import write_bytes

    fixed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, content)
            target.writestr(entry, content)
    return write_bytes(path, fixed.getvalue())  # atomic: officials never open half a workbook
