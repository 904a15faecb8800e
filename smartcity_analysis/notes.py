"""The record of what a run degraded: analyses skipped, values substituted, indicators left out.

An optional analysis (outlier treatment, profiles and their bootstrap, Monte Carlo, Sobol, the panel-effect
test, a chart) runs when the data allow it and is otherwise skipped with its reason; the index, the selection
and every region's report still come out. Each stage records what it could not do, or did differently, as
:class:`Note` rows in one file of the processed folder, ``run_notes.csv`` (``docs/contracts.md``), each in
Indonesian and English. The stage notebook shows its notes; the round summary and the index page show all of
them; a region's report shows the notes that concern it (``region_code``). ``docs/degradation.md`` lists the
conditions.

An analysis that the data do not allow raises :class:`NotApplicable` with the reason;
:func:`run_optional` turns that (or any other error of an optional analysis) into a note.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from smartcity_analysis import outputs

NOTES_FILE = "run_notes.csv"
# What happened to the analysis or the value the note is about.
ACTIONS = ("skipped", "substituted", "left_out", "imputed", "capped", "restricted", "failed")
# Stages in pipeline order; notes are kept in this order, then in the order a stage wrote them.
STAGE_ORDER = ("01_clean_submissions", "02_readiness_index", "03_readiness_profiles", "04_rank_and_select",
               "05_region_report", "06_round_summary", "07_history")


@dataclass(frozen=True)
class Note:
    """One thing a stage skipped or did differently, and why, in both languages.

    Attributes
    ----------
    stage : str
        The stage notebook's stem, e.g. ``"03_readiness_profiles"``.
    analysis : str
        What the note is about, a short code: ``"profiles"``, ``"monte_carlo"``, ``"indicator:apps_per_100k"``.
    action : str
        One of :data:`ACTIONS`.
    reason_code : str
        Why, a short code (``"too_few_regions"``, ``"no_data"``, ...).
    message_id, message_en : str
        The sentence a reader sees, in Indonesian and in English.
    region_code : str
        The region the note concerns, or empty when it concerns the round.
    """

    stage: str
    analysis: str
    action: str
    reason_code: str
    message_id: str
    message_en: str
    region_code: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"note action must be one of {ACTIONS}, got {self.action!r}")

    def message(self, language: str) -> str:
        """Return the sentence in ``language`` (``"id"`` or ``"en"``)."""
        return self.message_en if language == "en" else self.message_id


NOTE_COLUMNS = [f.name for f in fields(Note)]


class NotApplicable(Exception):  # noqa: N818 - it is a condition of the data, not an error of the code
    """The data of this round do not allow an analysis; the message says why, in both languages.

    Parameters
    ----------
    reason_code : str
        A short code of the reason.
    message_id, message_en : str
        The reason as a reader should see it.
    """

    def __init__(self, reason_code: str, message_id: str, message_en: str) -> None:
        super().__init__(message_en)
        self.reason_code, self.message_id, self.message_en = reason_code, message_id, message_en


def skipped(stage: str, analysis: str, reason: NotApplicable, region_code: str = "") -> Note:
    """Return the note of an analysis skipped for ``reason``."""
    return Note(stage, analysis, "skipped", reason.reason_code, reason.message_id, reason.message_en, region_code)


def run_optional(stage: str, analysis: str, function: Callable[..., Any], *args: Any,
                 **kwargs: Any) -> tuple[Any, tuple[Note, ...]]:
    """Run an optional analysis; if it cannot run, return None and the note that says why.

    :class:`NotApplicable` gives a ``skipped`` note with its reason. Any other exception gives a ``failed``
    note naming the error: an optional analysis never stops the main job, and the reader is told.

    Returns
    -------
    result, notes : Any or None, tuple of Note
        The function's result and no note, or None and one note.
    """
    try:
        return function(*args, **kwargs), ()
    except NotApplicable as reason:
        return None, (skipped(stage, analysis, reason),)
    except Exception as error:  # noqa: BLE001 - reported to the reader as a note, never swallowed silently
        text = f"{type(error).__name__}: {error}"
        return None, (Note(stage, analysis, "failed", "error", f"Analisis ini gagal dan dilewati ({text}).",
                           f"This analysis failed and was skipped ({text}).", ""),)


def notes_frame(notes: Iterable[Note]) -> pd.DataFrame:
    """Return notes as a table with :data:`NOTE_COLUMNS`."""
    return pd.DataFrame([astuple(n) for n in notes], columns=NOTE_COLUMNS, dtype=object)


def read_notes(processed_dir: str | Path) -> pd.DataFrame:
    """Read ``run_notes.csv`` of a processed folder; an empty table when there is none.

    Returns
    -------
    pandas.DataFrame
        :data:`NOTE_COLUMNS`, every value text (``region_code`` empty for round-level notes).
    """
    path = Path(processed_dir) / NOTES_FILE
    if not path.is_file():
        return notes_frame(())
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return table.reindex(columns=NOTE_COLUMNS, fill_value="")


def write_notes(processed_dir: str | Path, stage: str, notes: Iterable[Note]) -> Path:
    """Replace the notes of ``stage`` in ``run_notes.csv``, keeping the other stages' notes.

    The first stage (cleaning) starts a new round: its write drops every earlier note. Identical notes are
    kept once. Rows are ordered by :data:`STAGE_ORDER`, then as written; the file is replaced atomically, under
    the folder's lock (:func:`smartcity_analysis.outputs.folder_lock`), so stages writing at the same time keep
    each other's notes.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    folder = Path(processed_dir)
    folder.mkdir(parents=True, exist_ok=True)
    mine = notes_frame(notes)
    if (mine["stage"] != stage).any():
        raise ValueError(f"write_notes for stage {stage!r} got notes of other stages")
    with outputs.folder_lock(folder):  # stages 03 and 04 of a run write their notes at the same time
        others = read_notes(folder) if stage != STAGE_ORDER[0] else notes_frame(())
        table = pd.concat([others[others["stage"] != stage], mine], ignore_index=True).drop_duplicates()
        position = {s: i for i, s in enumerate(STAGE_ORDER)}
        table = table.assign(_order=table["stage"].map(position).fillna(len(position)))
        table = table.sort_values("_order", kind="stable").drop(columns="_order")
        return outputs.write_csv(folder / NOTES_FILE, table)


def notes_for_region(notes: pd.DataFrame, region_code: str) -> pd.DataFrame:
    """Return the notes that concern one region."""
    return notes[notes["region_code"] == str(region_code)].reset_index(drop=True)


def notes_table(notes: pd.DataFrame, language: str = "en", stage: str | None = None) -> pd.DataFrame:
    """Return notes as a reader's table: stage, what, region, and the sentence in ``language``."""
    shown = notes if stage is None else notes[notes["stage"] == stage]
    message = "message_en" if language == "en" else "message_id"
    return shown[["stage", "analysis", "action", "region_code", message]].rename(
        columns={message: "message"}).reset_index(drop=True)
