"""Who was invited and who came, for the round summary and the index page (from ``participation.csv``).

``participation.csv`` is written by the cleaning stage when the round has an invitation list
(:mod:`smartcity_analysis.cleaning.invitations`); without it the pages say that participation was not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from smartcity_analysis.reports.language import as_text, code_text, phrase

# Reasons only the invitation list has (the others are the cleaning stage's, in templates/phrases.yaml).
LIST_REASONS = {
    "duplicate_invitation": {"id": "wilayah sudah tercantum di baris lain", "en": "the region is listed twice"},
    "invalid_invited": {"id": "isian 'diundang' bukan ya/tidak", "en": "'invited' is not a yes/no word"},
}


@dataclass(frozen=True)
class GroupParticipation:
    """Participation of one province or one region type."""

    name: str
    invited: int
    took_part: int
    not_invited: int

    @property
    def share(self) -> float:
        """Share of the invited that took part (NaN when none was invited)."""
        return self.took_part / self.invited if self.invited else float("nan")


@dataclass(frozen=True)
class Participation:
    """Invited, took part and accepted, by province and by type, and who to call.

    Attributes
    ----------
    invited, took_part, accepted : int
        Regions on the invitation list; invited regions with an accepted submission; all accepted regions
        (including any that were not invited).
    by_province, by_type : tuple of GroupParticipation
        By province (most invited first, then by name) and by type (Kabupaten, Kota).
    absent : tuple of Mapping
        The invited regions that did not take part, by province then name: ``region_code``, ``name``,
        ``province``, ``scheduled_class``, ``quarantined_rows`` (rows naming it that cleaning set aside).
    not_invited : tuple of Mapping
        Accepted regions that were not on the list (flagged, still ranked): ``region_code``, ``name``,
        ``province``.
    list_quarantined : tuple of Mapping
        Rows of the invitation list that could not be used: ``source_file``, ``source_row``, ``region_code``,
        ``reason`` (in the page's language). A region on such a row may show as not invited.
    """

    invited: int
    took_part: int
    accepted: int
    by_province: tuple[GroupParticipation, ...]
    by_type: tuple[GroupParticipation, ...]
    absent: tuple[Mapping[str, Any], ...]
    not_invited: tuple[Mapping[str, Any], ...]
    list_quarantined: tuple[Mapping[str, Any], ...] = ()

    @property
    def share(self) -> float:
        """Share of the invited that took part."""
        return self.took_part / self.invited if self.invited else float("nan")


def participation_summary(table: pd.DataFrame, list_quarantine: pd.DataFrame | None = None,
                          language: str = "id") -> Participation | None:
    """Summarise ``participation.csv``; None when the round has none (no invitation list).

    Parameters
    ----------
    table : pandas.DataFrame
        ``participation.csv`` as read (``status`` is ``took_part``, ``absent`` or ``not_invited``).
    list_quarantine : pandas.DataFrame, optional
        ``invitations_quarantine.csv``: the rows of the list that could not be used.
    language : {"id", "en"}
        Language of the quarantine reasons.

    Returns
    -------
    Participation or None
    """
    if table is None or "status" not in table.columns:
        return None
    status = table["status"].astype(str)
    return Participation(
        invited=int((status != "not_invited").sum()), took_part=int((status == "took_part").sum()),
        accepted=int((status != "absent").sum()),
        by_province=_groups(table, "province_name", by_size=True), by_type=_groups(table, "region_type"),
        absent=tuple(_entry(r, with_schedule=True) for _, r in
                     table[status == "absent"].sort_values(["province_name", "official_name"]).iterrows()),
        not_invited=tuple(_entry(r) for _, r in
                          table[status == "not_invited"].sort_values(["province_name", "official_name"]).iterrows()),
        list_quarantined=_list_quarantined(list_quarantine, language),
    )


def _list_quarantined(table: pd.DataFrame | None, language: str) -> tuple[Mapping[str, Any], ...]:
    if table is None or "reason_code" not in table.columns:
        return ()
    return tuple({"source_file": as_text(r["source_file"]), "source_row": code_text(r["source_row"]),
                  "region_code": as_text(r["region_code"]),
                  "reason": LIST_REASONS.get(str(r["reason_code"]), {}).get(language)
                  or phrase("quarantine_reasons", r["reason_code"], language)}
                 for _, r in table.sort_values(["source_file", "source_row"], kind="stable").iterrows())


def read_participation(processed_dir: str | Path) -> Participation | None:
    """Read and summarise ``participation.csv`` of a processed folder; None when it is absent."""
    path = Path(processed_dir) / "participation.csv"
    if not path.is_file():
        return None
    quarantine = Path(processed_dir) / "invitations_quarantine.csv"
    return participation_summary(
        pd.read_csv(path, dtype={"region_code": str}, encoding="utf-8"),
        pd.read_csv(quarantine, dtype={"region_code": str}, encoding="utf-8") if quarantine.is_file() else None)


def _groups(table: pd.DataFrame, column: str, by_size: bool = False) -> tuple[GroupParticipation, ...]:
    groups = [GroupParticipation(str(name), int((g["status"] != "not_invited").sum()),
                                 int((g["status"] == "took_part").sum()), int((g["status"] == "not_invited").sum()))
              for name, g in table.groupby(table[column].fillna("").astype(str), sort=True)]
    return tuple(sorted(groups, key=lambda g: (-g.invited, g.name)) if by_size else groups)


def _entry(row: pd.Series, with_schedule: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"region_code": str(row["region_code"]), "name": as_text(row["official_name"]),
                             "province": as_text(row["province_name"])}
    if with_schedule:
        entry["scheduled_class"] = as_text(row.get("scheduled_class"))
        quarantined = row.get("quarantined_rows")
        entry["quarantined_rows"] = int(quarantined) if pd.notna(quarantined) else 0
    return entry
