"""The invitation list of a round: who was invited, and against it, who took part and who did not.

A round's invitation list (a file named explicitly, else ``invitations-<year>.csv`` or ``.xlsx`` beside the round's
submissions folder, ``<year>`` the round's year as its submissions give it) names each invited kab/kota by code
and/or name, with its province and, when known, the class and day it was scheduled in. It is read with the
cleaning stage's readers (CSV in any of their encodings and separators, or a workbook) and resolved with its
resolver, so an invitation row is identified exactly as a submission row is.
Every row read ends in one place: **invited** (one row per region), **not invited** (the row says so in
``invited``) or **quarantined** with a reason (the resolver's, ``duplicate_invitation``, ``invalid_invited``).

Against the accepted submissions (``submissions_clean.csv``) each region is then ``took_part`` (invited and
accepted), ``absent`` (invited, nothing accepted: the list officials act on) or ``not_invited`` (accepted but
not on the list: flagged, never dropped). The contract files are documented in ``docs/contracts.md``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from smartcity_analysis import __version__, outputs
from smartcity_analysis.cleaning.parse import Vocabulary, canonical_text, is_blank, parse_boolean, parse_datetime
from smartcity_analysis.cleaning.readers import (
    UnreadableFileError,
    header_lookup,
    normalise_header,
    read_submission_file,
)
from smartcity_analysis.cleaning.resolve import RegionIndex, load_region_index, resolve_frame
from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.notes import NotApplicable, Note, run_optional

STAGE = "01_clean_submissions"
ANALYSIS = "invitations"
# Template fields an invitation list shares with the questionnaire (matched by id or label, as submissions are).
TEMPLATE_FIELDS = ("region_code", "region_name", "province_name", "assessment_class")
# Headers of the invitation list's own columns, by the column they fill (matched like template headers).
EXTRA_HEADERS: Mapping[str, tuple[str, ...]] = {
    "region_name": ("official_name", "nama resmi", "nama wilayah", "wilayah"),
    "assessment_class": ("scheduled_class", "kelas", "jadwal kelas"),
    "assessment_day": ("assessment_day", "scheduled_day", "hari asesmen", "tanggal asesmen", "jadwal",
                       "hari"),
    "invited": ("invited", "diundang", "undangan"),
}
INVITED_COLUMNS = ["region_code", "official_name", "region_type", "province_name", "scheduled_class",
                   "scheduled_day", "source_file", "source_row"]
QUARANTINE_COLUMNS = ["source_file", "source_row", "region_code", "reason_code", "detail"]
PARTICIPATION_COLUMNS = ["region_code", "official_name", "region_type", "province_name", "invited", "accepted",
                         "status", "scheduled_class", "assessment_class", "quarantined_rows"]
STATUSES = ("took_part", "absent", "not_invited")
OUTPUT_FILES = {"invited": "invitations.csv", "quarantine": "invitations_quarantine.csv",
                "participation": "participation.csv", "summary": "invitations_summary.json"}
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


class InvitationListError(Exception):
    """The invitation list cannot be read; the message names the file and what to do."""


@dataclass(frozen=True)
class InvitationResult:
    """What reading the invitation list produced.

    Attributes
    ----------
    invited : pandas.DataFrame
        One row per invited region (:data:`INVITED_COLUMNS`), by code.
    quarantine : pandas.DataFrame
        Rows set aside, with ``reason_code`` and ``detail`` (:data:`QUARANTINE_COLUMNS`).
    participation : pandas.DataFrame
        One row per region invited or accepted (:data:`PARTICIPATION_COLUMNS`), by code.
    summary : dict
        The counts (rows and regions) and provenance, as written to ``invitations_summary.json``.
    paths : Mapping of str to Path
        Where each file was written (keys of :data:`OUTPUT_FILES`).
    """

    invited: pd.DataFrame
    quarantine: pd.DataFrame
    participation: pd.DataFrame
    summary: dict[str, Any]
    paths: Mapping[str, Path] = field(default_factory=dict)


# --- Where the list is --------------------------------------------------------------------------------------

def default_invitations_file(submissions_dir: str | Path, year: int | None = None) -> Path | None:
    """Return the invitation list beside a round folder: ``invitations-<year>.csv`` (or ``.xlsx``).

    Parameters
    ----------
    submissions_dir : str or Path
        The round's folder; the list is looked for in the folder that holds it.
    year : int, optional
        The round's year as its submissions give it (``cleaning_summary.json``, ``round_year``; see
        :func:`smartcity_analysis.cleaning.stage.content_year`). Only without one does the four-digit year in
        the folder's name (``sample-2021``) count, so a folder named ``putaran-terbaru`` finds its list too.

    Returns
    -------
    Path or None
        The list, or None when there is no year or no such file (a list named otherwise is given explicitly:
        ``smartcity run --invitations FILE``).
    """
    folder = Path(submissions_dir)
    if year is None:
        years = _YEAR.findall(folder.name)
        if not years:
            return None
        year = int(years[-1])
    for suffix in (".csv", ".xlsx"):
        candidate = folder.parent / f"invitations-{int(year)}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def round_invitations_file(invitations_file: str | Path | None, submissions_dir: str | Path,
                           summary: Mapping[str, Any] | None = None) -> Path | None:
    """Return the invitation list of a round: the one named, else the conventional one beside its folder.

    Parameters
    ----------
    invitations_file : str or Path or None
        The list as named by the user (``--invitations``, the notebook's ``invitations_file``); empty or None
        for the default.
    submissions_dir : str or Path
        The round's folder.
    summary : Mapping, optional
        The round's ``cleaning_summary.json``: its ``round_year`` names the default list.
    """
    if invitations_file:
        return Path(invitations_file)
    year = ((summary or {}).get("round_year") or {}).get("year")
    return default_invitations_file(submissions_dir, year)


# --- Reading ------------------------------------------------------------------------------------------------

def invitation_lookup(framework: Framework) -> dict[str, str]:
    """Map the normalised headers an invitation list may use to the column they fill.

    The template's own ids and labels of :data:`TEMPLATE_FIELDS` count (``Kode Wilayah``, ``Provinsi``),
    plus the list's own names (:data:`EXTRA_HEADERS`); any other column is reported as unknown.
    """
    lookup = {key: fid for key, fid in header_lookup(framework).items() if fid in TEMPLATE_FIELDS}
    for column, names in EXTRA_HEADERS.items():
        lookup.update({normalise_header(name): column for name in names})
    return lookup


def read_invitation_rows(path: str | Path, framework: Framework) -> tuple[pd.DataFrame, list[str]]:
    """Read the invitation list into rows as typed, with the cleaning stage's reader.

    Returns
    -------
    rows : pandas.DataFrame
        ``row_seq``, ``source_file``, ``source_row``, then ``region_code``, ``region_name``,
        ``province_name``, ``assessment_class``, ``assessment_day``, ``invited`` as typed (None when absent).
    unknown_columns : list of str
        Header cells that match no column.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    InvitationListError
        When it cannot be read or has no recognisable header.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"invitation list not found: {path}")
    try:
        sheets = read_submission_file(path, framework, invitation_lookup(framework))
    except UnreadableFileError as error:
        raise InvitationListError(f"invitation list {path.name}: {error} (columns: region_code and/or "
                                  "official_name, province_name, invited, assessment_class)") from error
    columns = ["region_code", "region_name", "province_name", "assessment_class", "assessment_day", "invited"]
    frames = [s.rows.assign(source_file=s.file) for s in sheets]
    rows = pd.concat(frames, ignore_index=True).reindex(columns=["source_file", "source_row", *columns])
    rows = rows.astype({c: object for c in columns}).astype({"source_row": "int64"})
    rows.insert(0, "row_seq", range(len(rows)))
    return rows, [c for s in sheets for c in s.unknown_columns]


# --- Deciding each row ----------------------------------------------------------------------------------------

def invitation_status(rows: pd.DataFrame, index: RegionIndex, vocab: Vocabulary) -> pd.DataFrame:
    """Decide each invitation row: ``invited``, ``not_invited`` or ``quarantined`` (why).

    A blank ``invited`` cell means invited (being on the list is the invitation); otherwise it is read as a
    yes/no word. The first row of a region counts; a later row of the same region is quarantined as
    ``duplicate_invitation``, naming the row it repeats.

    Returns
    -------
    pandas.DataFrame
        ``row_seq``, ``region_code``, ``status``, ``reason_code``, ``message``, indexed like ``rows``.
    """
    status = resolve_frame(rows, index)[["row_seq", "region_code", "reason_code", "message"]]
    status = status.set_axis(rows.index)
    invited = [_invited_flag(v, vocab) for v in rows["invited"]]
    bad = status["reason_code"].isna() & pd.Series([f is None for f in invited], index=rows.index)
    status.loc[bad, "reason_code"] = "invalid_invited"
    status.loc[bad, "message"] = [f"invited is {canonical_text(v)!r}: write Ya or Tidak (or leave it blank)"
                                  for v in rows.loc[bad, "invited"]]
    status["status"] = "quarantined"
    resolved = status["reason_code"].isna()
    status.loc[resolved, "status"] = ["invited" if f else "not_invited" for f in
                                      pd.Series(invited, index=rows.index)[resolved]]
    return _mark_duplicates(status, rows)


def _invited_flag(value: Any, vocab: Vocabulary) -> bool | None:
    if is_blank(value):
        return True
    return parse_boolean(value, vocab).value


def _mark_duplicates(status: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    status = status.copy()
    listed = status[status["status"].isin(["invited", "not_invited"])]
    first = listed.groupby("region_code")["row_seq"].transform("first")
    repeats = first.index[first != listed["row_seq"]]
    where = rows["source_file"].astype(str) + " row " + rows["source_row"].astype(str)
    by_seq = pd.Series(where.to_numpy(), index=rows["row_seq"].to_numpy())
    status.loc[repeats, "status"] = "quarantined"
    status.loc[repeats, "reason_code"] = "duplicate_invitation"
    status.loc[repeats, "message"] = [f"the region is already listed at {by_seq[s]}; this row is not counted"
                                      for s in first[repeats]]
    return status


# --- The tables ------------------------------------------------------------------------------------------------

def build_invited(rows: pd.DataFrame, status: pd.DataFrame, index: RegionIndex, vocab: Vocabulary
                  ) -> pd.DataFrame:
    """Assemble ``invitations.csv``: one row per invited region, identity from the reference, by code."""
    mask = status["status"] == "invited"
    codes = status.loc[mask, "region_code"].astype(str)
    reference = index.regions.loc[codes, ["official_name", "region_type", "province_name"]]
    days = [parse_datetime(v, vocab).value if not is_blank(v) else None for v in rows.loc[mask, "assessment_day"]]
    table = pd.DataFrame({
        "region_code": codes.to_numpy(),
        "official_name": reference["official_name"].to_numpy(),
        "region_type": reference["region_type"].to_numpy(),
        "province_name": reference["province_name"].to_numpy(),
        "scheduled_class": [canonical_text(v).strip() or None for v in rows.loc[mask, "assessment_class"]],
        "scheduled_day": [d.date().isoformat() if d is not None else None for d in days],
        "source_file": rows.loc[mask, "source_file"].astype(str).to_numpy(),
        "source_row": rows.loc[mask, "source_row"].astype("int64").to_numpy(),
    }, columns=INVITED_COLUMNS)
    return table.sort_values("region_code", kind="stable").reset_index(drop=True)


def build_quarantine(rows: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    """Assemble ``invitations_quarantine.csv``: each row set aside, its reason and what to do."""
    mask = status["status"] == "quarantined"
    where = rows.loc[mask, "source_file"].astype(str) + " row " + rows.loc[mask, "source_row"].astype(str)
    codes = status.loc[mask, "region_code"]
    return pd.DataFrame({
        "source_file": rows.loc[mask, "source_file"].astype(str).to_numpy(),
        "source_row": rows.loc[mask, "source_row"].astype("int64").to_numpy(),
        "region_code": codes.astype(object).where(codes.notna(), None).to_numpy(),
        "reason_code": status.loc[mask, "reason_code"].astype(str).to_numpy(),
        "detail": (where + ": " + status.loc[mask, "message"].astype(str)).to_numpy(),
    }, columns=QUARANTINE_COLUMNS)


def participation_table(invited: pd.DataFrame, clean: pd.DataFrame, submission_quarantine: pd.DataFrame,
                        regions: pd.DataFrame) -> pd.DataFrame:
    """Set the invited regions against the accepted ones.

    Parameters
    ----------
    invited : pandas.DataFrame
        From :func:`build_invited`.
    clean : pandas.DataFrame
        ``submissions_clean`` (``region_code``, ``assessment_class``).
    submission_quarantine : pandas.DataFrame
        ``quarantine.csv`` of the submissions (``region_code``): an absent region whose file was set aside
        is worth a call, so the count is kept.
    regions : pandas.DataFrame
        The reference regions (``region_code``, ``official_name``, ``region_type``, ``province_name``).

    Returns
    -------
    pandas.DataFrame
        :data:`PARTICIPATION_COLUMNS`, one row per region invited or accepted, by code; ``status`` is
        ``took_part``, ``absent`` or ``not_invited``.
    """
    accepted_class = clean.drop_duplicates("region_code").set_index("region_code")["assessment_class"]
    codes = sorted(set(invited["region_code"]) | set(accepted_class.index))
    reference = regions.set_index("region_code").loc[codes]
    is_invited = pd.Series(codes, index=codes).isin(invited["region_code"])
    is_accepted = pd.Series(codes, index=codes).isin(accepted_class.index)
    quarantined = submission_quarantine["region_code"].dropna().astype(str).value_counts()
    table = pd.DataFrame({
        "region_code": codes,
        "official_name": reference["official_name"].to_numpy(),
        "region_type": reference["region_type"].to_numpy(),
        "province_name": reference["province_name"].to_numpy(),
        "invited": is_invited.to_numpy(),
        "accepted": is_accepted.to_numpy(),
        "status": ["took_part" if i and a else "absent" if i else "not_invited"
                   for i, a in zip(is_invited, is_accepted, strict=True)],
        "scheduled_class": pd.Series(codes).map(invited.set_index("region_code")["scheduled_class"]).to_numpy(),
        "assessment_class": pd.Series(codes).map(accepted_class).to_numpy(),
        "quarantined_rows": pd.Series(codes).map(quarantined).fillna(0).astype("int64").to_numpy(),
    }, columns=PARTICIPATION_COLUMNS)
    return table.reset_index(drop=True)


def build_summary(rows: pd.DataFrame, status: pd.DataFrame, participation: pd.DataFrame,
                  unknown_columns: list[str], path: Path) -> dict[str, Any]:
    """Count rows and regions; raise when the rows do not add up.

    Raises
    ------
    RuntimeError
        When ``rows_read`` differs from invited + not invited + quarantined rows.
    """
    counts = status["status"].value_counts()
    rows_counts = {"rows_invited": int(counts.get("invited", 0)),
                   "rows_not_invited": int(counts.get("not_invited", 0)),
                   "rows_quarantined": int(counts.get("quarantined", 0))}
    if len(rows) != sum(rows_counts.values()):
        raise RuntimeError(f"invitation list lost rows: {len(rows)} read but {rows_counts} accounted for")
    reasons = status.loc[status["status"] == "quarantined", "reason_code"].value_counts().sort_index()
    by_status = participation["status"].value_counts()
    return {
        "source_file": path.name, "rows_read": len(rows), **rows_counts,
        "quarantine_by_reason": {str(k): int(v) for k, v in reasons.items()},
        "unknown_columns": unknown_columns,
        "invited": int(participation["invited"].sum()), "took_part": int(by_status.get("took_part", 0)),
        "accepted": int(participation["accepted"].sum()), "absent": int(by_status.get("absent", 0)),
        "not_invited": int(by_status.get("not_invited", 0)),
        "provenance": {"package_version": __version__,
                       "inputs_sha256": {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}},
    }


# --- The stage step -----------------------------------------------------------------------------------------------

def run_invitations(invitations_file: str | Path | None, processed_dir: str | Path,
                    framework: Framework | None = None, reference_dir: str | Path | None = None
                    ) -> InvitationResult:
    """Read and resolve the invitation list, set it against the accepted submissions, write the files.

    Run after :func:`smartcity_analysis.cleaning.run_cleaning` on the same ``processed_dir``: it reads
    ``submissions_clean.csv`` and ``quarantine.csv`` there.

    Parameters
    ----------
    invitations_file : str or Path or None
        The list (``.csv`` or ``.xlsx``); None or a missing file means the round has none.
    processed_dir : str or Path
        The round's processed folder; ``invitations.csv``, ``invitations_quarantine.csv``,
        ``participation.csv`` and ``invitations_summary.json`` are written there.
    framework : Framework, optional
        Defaults to ``config/framework.yaml``.
    reference_dir : str or Path, optional
        The reference tables; defaults to ``data/raw/reference``.

    Returns
    -------
    InvitationResult

    Raises
    ------
    NotApplicable
        When there is no invitation list (the files of an earlier run are removed first, so no stale
        participation is ever shown).
    InvitationListError
        When the list exists but cannot be read.
    """
    processed = Path(processed_dir)
    if invitations_file is None or not Path(invitations_file).is_file():
        remove_outputs(processed)
        raise NotApplicable(
            "no_invitation_list",
            "Daftar undangan tidak tersedia; partisipasi (diundang dan ikut serta) tidak dihitung.",
            "No invitation list was given; participation (invited and took part) is not counted.")
    framework = framework if framework is not None else load_framework()
    index = load_region_index(framework, reference_dir)
    vocab = Vocabulary.from_framework(framework)
    path = Path(invitations_file)
    rows, unknown = read_invitation_rows(path, framework)
    status = invitation_status(rows, index, vocab)
    invited = build_invited(rows, status, index, vocab)
    clean = pd.read_csv(processed / "submissions_clean.csv", dtype={"region_code": str}, encoding="utf-8",
                        usecols=["region_code", "assessment_class"])
    quarantine_file = processed / "quarantine.csv"
    submission_quarantine = (pd.read_csv(quarantine_file, dtype={"region_code": str}, encoding="utf-8")
                             if quarantine_file.is_file() else pd.DataFrame({"region_code": []}))
    participation = participation_table(invited, clean, submission_quarantine, index.regions.reset_index(drop=True))
    result = InvitationResult(invited, build_quarantine(rows, status), participation,
                              build_summary(rows, status, participation, unknown, path))
    return InvitationResult(result.invited, result.quarantine, result.participation, result.summary,
                            write_outputs(result, processed))


def invitations_with_notes(invitations_file: str | Path | None, processed_dir: str | Path,
                           framework: Framework | None = None, reference_dir: str | Path | None = None
                           ) -> tuple[InvitationResult | None, tuple[Note, ...]]:
    """Run :func:`run_invitations` as an optional analysis: no list (or an unreadable one) gives a note.

    Returns
    -------
    result, notes : InvitationResult or None, tuple of Note
        The result and no note, or None and the note that says why participation is not shown.
    """
    result, notes = run_optional(STAGE, ANALYSIS, run_invitations, invitations_file, processed_dir,
                                 framework, reference_dir)
    if result is None:
        remove_outputs(Path(processed_dir))
    return result, notes


def write_outputs(result: InvitationResult, processed_dir: Path) -> dict[str, Path]:
    """Write the invitation files into ``processed_dir`` and return their paths."""
    processed_dir.mkdir(parents=True, exist_ok=True)
    paths = {key: processed_dir / name for key, name in OUTPUT_FILES.items()}
    outputs.write_csv(paths["invited"], result.invited)  # atomic: a killed run leaves the previous file whole
    outputs.write_csv(paths["quarantine"], result.quarantine)
    outputs.write_csv(paths["participation"], result.participation)
    outputs.write_json(paths["summary"], result.summary)
    return paths


def remove_outputs(processed_dir: Path) -> None:
    """Remove the invitation files of an earlier run, so a round without a list shows no participation."""
    for name in OUTPUT_FILES.values():
        (processed_dir / name).unlink(missing_ok=True)


