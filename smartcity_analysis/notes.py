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

A warning raised while a stage runs (the index engine's :class:`~smartcity_analysis.index.engine.IndexWarning`
on a constant indicator, a library's warning) is a note too, never raw text on a page: :func:`notes_from_warnings`
catches the warnings of a block, :class:`StageWarnings` those of a whole stage notebook, and
:func:`warning_notes` turns them into notes without file paths or line numbers, identical ones once with their
count, sorted by their text (the order they arrived in may change from run to run). :func:`notes_list` shows
a stage's notes on its page as a list in both languages.
"""

from __future__ import annotations

import html
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from smartcity_analysis import outputs

NOTES_FILE = "run_notes.csv"
# What happened to the analysis or the value the note is about.
ACTIONS = ("skipped", "substituted", "left_out", "imputed", "capped", "restricted", "failed", "warned")
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


# The index engine's warnings (smartcity_analysis/index/engine.py) in both languages: pattern of the English
# message, action, reason code, Indonesian and English sentence (``{...}`` are the pattern's groups).
_KNOWN_WARNINGS = (
    (re.compile(r"indicator '(?P<code>[^']+)' is constant: a single distinct value; it is scored NaN and left out "
                r"of aggregation"), "left_out", "constant_indicator",
     "Indikator {code} hanya memiliki satu nilai saat dinormalisasi (setelah imputasi dan penanganan pencilan): "
     "skornya dikosongkan dan indikator ini tidak ikut diagregasi.",
     "The indicator {code} has a single value when it is normalised (after imputation and outlier treatment): it "
     "is scored empty and left out of aggregation."),
    (re.compile(r"zero denominator for indicator\(s\) (?P<codes>\[.*\]): those values become missing"),
     "left_out", "zero_denominator",
     "Penyebut bernilai nol untuk indikator {codes}: nilai-nilai itu menjadi kosong.",
     "A zero denominator for the indicator(s) {codes}: those values become missing."),
    (re.compile(r"imputation \((?P<method>[^)]+)\) left values missing in (?P<codes>\[.*\]) \(a group with no data "
                r"for it, or units without a group\); they are skipped in aggregation"),
     "left_out", "imputation_left_missing",
     "Imputasi ({method}) menyisakan nilai kosong pada {codes} (kelompok tanpa data untuk indikator itu, atau "
     "daerah tanpa kelompok): nilai itu dilewati dalam agregasi.",
     "Imputation ({method}) left values missing in {codes} (a group with no data for it, or regions without a "
     "group): they are skipped in aggregation."),
    (re.compile(r"unit\(s\) with no indicator data, left out of the index: (?P<units>\[.*\])"),
     "left_out", "unit_without_data",
     "Daerah tanpa data indikator apa pun dikeluarkan dari indeks: {units}.",
     "Regions with no indicator data are left out of the index: {units}."),
    (re.compile(r"aggregate\(s\) without any child data for some units \(scored NaN\): (?P<which>\{.*\})"),
     "left_out", "aggregate_without_data",
     "Agregat tanpa data dari komponennya untuk sebagian daerah (skornya kosong): {which}.",
     "Aggregates without any data from their components for some regions (scored empty): {which}."),
)
# What a warning's category is about, as a reader would say it (Indonesian, English).
WARNING_KINDS = {
    "IndexWarning": ("mesin indeks", "index engine"),
    "RuntimeWarning": ("perhitungan numerik", "numerical computation"),
    "UserWarning": ("umum", "general"),
    "FutureWarning": ("perubahan pustaka yang akan datang", "a coming change in a library"),
    "ConvergenceWarning": ("konvergensi", "convergence"),
    "PerformanceWarning": ("kinerja", "performance"),
    "ResourceWarning": ("sumber daya", "resources"),
}
# Warnings for developers, not readers (Python ignores them by default outside the main module); they also
# come from the notebook kernel's own machinery in its other threads, at no fixed time, and would make two
# identical runs differ.
DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning)
_DIRECTORIES = re.compile(r"(?:[A-Za-z]:)?(?:[\w.~-]*[\\/])+(?=[\w-]+\.py\b)")
_LINE_NUMBER = re.compile(r"(\.py):\d+:?")


def warning_notes(stage: str, caught: Iterable[warnings.WarningMessage]) -> tuple[Note, ...]:
    """Turn caught warnings into notes: message only, in both languages, once each, in a stable order.

    Parameters
    ----------
    stage : str
        The stage the warnings were raised in.
    caught : iterable of warnings.WarningMessage
        What :func:`warnings.catch_warnings` (``record=True``) recorded.

    Returns
    -------
    tuple of Note
        One note per distinct warning (category and message); a warning raised ``n > 1`` times says
        ``(×n)``. Never a file path or a line number. Sorted by stage, then by the English and the Indonesian
        sentence: never by arrival, which parallel work may change from run to run.
    """
    counts = Counter((w.category.__name__, _clean_message(str(w.message))) for w in caught)
    notes = []
    for (category, message), count in counts.items():
        note = _warning_note(stage, category, message)
        if count > 1:
            note = Note(note.stage, note.analysis, note.action, note.reason_code, f"{note.message_id} (×{count})",
                        f"{note.message_en} (×{count})", note.region_code)
        notes.append(note)
    return tuple(sorted(notes, key=lambda n: (n.stage, n.message_en, n.message_id, n.analysis)))


def _warning_note(stage: str, category: str, message: str) -> Note:
    for pattern, action, reason_code, text_id, text_en in _KNOWN_WARNINGS:
        found = pattern.fullmatch(message)
        if found:
            values = {k: _plain(v) for k, v in found.groupdict().items()}
            return Note(stage, f"warning:{category}", action, reason_code, text_id.format(**values),
                        text_en.format(**values))
    kind_id, kind_en = WARNING_KINDS.get(category, (_kind(category),) * 2)
    return Note(stage, f"warning:{category}", "warned", _snake(category),
                f"Peringatan ({kind_id}) saat tahap ini berjalan, dalam bahasa Inggris: {message}",
                f"A warning ({kind_en}) while this stage ran: {message}")


def _clean_message(message: str) -> str:
    """One line, without a file's folders or a line number (a page is read elsewhere than where it was made)."""
    return _LINE_NUMBER.sub(r"\1", _DIRECTORIES.sub("", " ".join(message.split())))


def _plain(listing: str) -> str:
    """Write ``['a', 'b']`` as ``a, b``, as a reader writes codes."""
    return re.sub(r"[\[\]{}']", "", listing)


def _kind(category: str) -> str:
    words = re.findall(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+", category.removesuffix("Warning"))
    return " ".join(words).lower() or "other"


def _snake(category: str) -> str:
    return "_".join(re.findall(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+", category)).lower()


@dataclass
class CaughtWarnings:
    """The warnings caught in a block of :func:`notes_from_warnings`, and the notes they make.

    Attributes
    ----------
    stage : str
        The stage the block belongs to.
    records : list of warnings.WarningMessage
        Every warning caught, in arrival order (filled while the block runs).
    """

    stage: str
    records: list[warnings.WarningMessage] = field(default_factory=list)

    @property
    def notes(self) -> tuple[Note, ...]:
        """The notes of the warnings caught so far (:func:`warning_notes`)."""
        return warning_notes(self.stage, self.records)


def _record_everything() -> None:
    warnings.simplefilter("always")  # every occurrence, so that a note can count them
    for category in DEVELOPER_WARNINGS:
        warnings.filterwarnings("ignore", category=category)


@contextmanager
def notes_from_warnings(stage: str) -> Iterator[CaughtWarnings]:
    """Catch every warning raised in the block, for :attr:`CaughtWarnings.notes`; none is shown raw.

    Warnings for developers (:data:`DEVELOPER_WARNINGS`) are ignored. A warning raised in another process
    (a joblib worker) does not reach this block: the worker must send it back with its result.

    Examples
    --------
    >>> with notes_from_warnings("02_readiness_index") as caught:
    ...     warnings.warn("indicator 'spbe_index' is constant: a single distinct value; it is scored NaN and "
    ...                   "left out of aggregation")
    >>> caught.notes[0].message_en[:33]
    'The indicator spbe_index has a si'
    """
    caught = CaughtWarnings(stage)
    with warnings.catch_warnings(record=True) as records:
        _record_everything()
        caught.records = records
        yield caught


class StageWarnings:
    """Catch every warning of a stage notebook, from one cell to a later one, to be recorded as notes.

    A ``with`` block cannot span notebook cells: :meth:`start` in the cell after the parameters, :meth:`stop`
    in the cell that writes the stage's notes.

    Parameters
    ----------
    stage : str
        The stage notebook's stem.
    """

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._context: warnings.catch_warnings | None = None
        self._records: list[warnings.WarningMessage] = []

    def start(self) -> StageWarnings:
        """Start catching; return self."""
        if self._context is None:
            self._context = warnings.catch_warnings(record=True)
            self._records = self._context.__enter__()
            _record_everything()
        return self

    def stop(self) -> tuple[Note, ...]:
        """Stop catching (warnings are shown as usual again); return the notes of what was caught."""
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None
        return warning_notes(self.stage, self._records)


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


@dataclass(frozen=True)
class NotesList:
    """A stage's notes as a notebook shows them: a list, each note in Indonesian then English.

    Attributes
    ----------
    notes : tuple of Note
    """

    notes: tuple[Note, ...]

    def _repr_html_(self) -> str:
        if not self.notes:
            return ('<p class="sc-stage-notes">Tidak ada catatan: tahap ini menjalankan semua analisisnya. · '
                    "No notes: this stage ran every analysis.</p>")
        items = "".join(f"<li>{html.escape(_item(n, 'id'))}<br><em>{html.escape(_item(n, 'en'))}</em></li>"
                        for n in self.notes)
        return f'<ul class="sc-stage-notes">{items}</ul>'

    def __repr__(self) -> str:
        if not self.notes:
            return "Tidak ada catatan. · No notes."
        return "\n".join(f"- {_item(n, 'id')}\n  {_item(n, 'en')}" for n in self.notes)


def _item(note: Note, language: str) -> str:
    if not note.region_code:
        return note.message(language)
    return f"{note.message(language)} ({'wilayah' if language == 'id' else 'region'} {note.region_code})"


def notes_list(notes: Iterable[Note]) -> NotesList:
    """Return notes for display as a list in both languages, in the order given."""
    return NotesList(tuple(notes))
