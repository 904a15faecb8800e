"""The cleaning stage: read a round's submissions, parse, resolve regions, keep the latest resubmission.

``run_cleaning`` reads top to bottom as load, process, save:

1. read every ``.xlsx``/``.csv`` of the folder (:mod:`smartcity_analysis.cleaning.readers`; personal data dropped);
2. parse every value by its field type and check ranges and consistency rules (:mod:`~.parse`);
3. resolve each row to a reference region (:mod:`~.resolve`);
4. quarantine rows without a region or an assessment year (or with a denominator behind an unrecognised header),
   keep the latest row per region and year; rows sent at the same time count once when identical and are all
   quarantined when they differ;
5. validate the clean table against a schema built from the framework, write the contract files.

The rules and reason codes are documented in ``docs/cleaning.md``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from rapidfuzz import fuzz

from smartcity_analysis import __version__, outputs
from smartcity_analysis.cleaning.parse import (
    CHANGE_COLUMNS,
    FieldSpec,
    Vocabulary,
    apply_consistency_rules,
    canonical_text,
    field_specs,
    is_blank,
    parse_frame,
    to_typed,
)
from smartcity_analysis.cleaning.readers import SubmissionBatch, read_submissions
from smartcity_analysis.cleaning.resolve import RegionIndex, load_region_index, normalise_key, resolve_frame
from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.notes import Note
from smartcity_analysis.reference import load_regions

IDENTITY_COLUMNS = ["region_code", "official_name", "region_type", "province_name", "assessment_year",
                    "assessment_class", "submitted_at", "source_file", "source_row"]
QUARANTINE_COLUMNS = ["source_file", "source_row", "region_code", "reason_code", "detail"]
SUPERSEDED_COLUMNS = ["source_file", "source_row", "region_code", "superseded_by_file", "superseded_by_row"]
# `detail` (the plain-language message) follows the contract's columns.
LOG_COLUMNS = ["source_file", "source_row", "region_code", "field", "original_value", "cleaned_value", "rule",
               "detail"]
# Read for resolution only: the clean table takes code, name of province and type from the reference.
RESOLUTION_ONLY_FIELDS = ("region_code", "province_name")
OTHER_YEAR_COLUMNS = ["source_file", "source_row", "region_code", "assessment_year", "status_in_its_year"]
STAGE = "01_clean_submissions"
OUTPUT_FILES = {"clean_csv": "submissions_clean.csv", "clean_parquet": "submissions_clean.parquet",
                "quarantine": "quarantine.csv", "superseded": "superseded.csv", "other_years": "other_years.csv",
                "log": "cleaning_log.csv",
                "summary": "cleaning_summary.json"}
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"
# Fields that identify a submission rather than say something about the region: two rows of one region and year
# sent at the same time that differ only here are one submission (a form re-sent in another format, or with a
# new ID); a difference in any other field is a conflict.
NOT_COMPARED_FIELDS = frozenset({"submission_id", "region_code", "region_name", "province_name", "assessment_year",
                                 "submitted_at"})
# At most this many disagreeing fields are named in a conflict's detail (then "and N more").
CONFLICT_FIELDS_SHOWN = 5
# fuzz.ratio between an unrecognised header and a denominator's id or labels (keys as resolve.normalise_key; each
# label also without its unit in brackets) from which the header is taken for that column: the mis-decoded
# ``Luas Wilayah (kmÂ²)`` scores 97 against ``Luas Wilayah (km²)`` and ``Luas Wilayah (km2)`` 100, while
# ``Jumlah Penduduk Miskin`` (another quantity) scores 82 against ``Jumlah Penduduk`` and stays below.
DENOMINATOR_HEADER_THRESHOLD = 85.0


@dataclass(frozen=True)
class CleaningResult:
    """What the cleaning stage produced.

    Attributes
    ----------
    clean : pandas.DataFrame
        One typed row per accepted region and year (``submissions_clean``).
    quarantine : pandas.DataFrame
        Rows set aside, with ``reason_code`` and ``detail``.
    superseded : pandas.DataFrame
        Older submissions replaced by a later one of the same region and year.
    log : pandas.DataFrame
        Every value changed by cleaning, with its rule and a message.
    summary : dict
        The counts, files read and rejected, unknown columns, quarantine by reason, provenance.
    paths : Mapping of str to Path
        Where each file was written (keys of :data:`OUTPUT_FILES`).
    """

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    superseded: pd.DataFrame
    log: pd.DataFrame
    summary: dict[str, Any]
    paths: Mapping[str, Path] = field(default_factory=dict)
    other_years: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=OTHER_YEAR_COLUMNS))
    notes: tuple[Note, ...] = ()


def run_cleaning(submissions_dir: str | Path, processed_dir: str | Path, framework: Framework | None = None,
                 reference_dir: str | Path | None = None, assessment_year: int | None = None) -> CleaningResult:
    """Clean a round's submissions and write the contract files of stage 01.

    Parameters
    ----------
    submissions_dir : str or Path
        The round's folder of ``.xlsx``/``.csv`` files (only the folder itself is read).
    processed_dir : str or Path
        Where to write ``submissions_clean.csv``/``.parquet``, ``quarantine.csv``, ``superseded.csv``,
        ``cleaning_log.csv`` and ``cleaning_summary.json`` (created when missing).
    framework : Framework, optional
        Defaults to ``config/framework.yaml``.
    reference_dir : str or Path, optional
        The reference tables; defaults to ``data/raw/reference``.
    assessment_year : int, optional
        The round's year; rows of other years are set aside in ``other_years.csv``. Default: the latest year
        present (the summary and the notes say which year was used and why).

    Returns
    -------
    CleaningResult

    Raises
    ------
    RuntimeError
        When rows read do not equal accepted + superseded + quarantined (a bug, never expected).
    """
    framework = framework if framework is not None else load_framework()
    index = load_region_index(framework, reference_dir)
    batch = read_submissions(submissions_dir, framework)
    result = clean_batch(batch, framework, index, Path(submissions_dir), assessment_year=assessment_year,
                         reference=load_regions(reference_dir))
    paths = write_outputs(result, Path(processed_dir))
    return replace(result, paths=paths)


def clean_batch(batch: SubmissionBatch, framework: Framework, index: RegionIndex,
                submissions_dir: Path | None = None, assessment_year: int | None = None,
                reference: pd.DataFrame | None = None) -> CleaningResult:
    """Clean rows already read (no files written): parse, resolve, quarantine, resubmissions, summary.

    ``assessment_year`` picks the round's year (default: the latest present); ``reference`` is the BPS
    reference table that fills the denominators a region left blank (default: ``data/raw/reference``).
    """
    specs = field_specs(framework)
    vocab = Vocabulary.from_framework(framework)
    rows = batch.rows
    parse_columns = ["row_seq", *(c for c in rows.columns if c in specs and c not in RESOLUTION_ONLY_FIELDS)]
    values, changes = parse_frame(rows[parse_columns], specs, vocab)
    values, rule_changes = apply_consistency_rules(values, framework.rules, specs)
    changes = pd.concat([df for df in (batch.changes, changes, rule_changes) if len(df)] or [changes],
                        ignore_index=True)
    resolution = resolve_frame(rows, index)
    unread = unread_denominators(rows, batch.unknown_columns, framework)
    status = assign_status(rows, values, resolution, changes, specs, unread)
    year, chosen_by = round_year(status, values, assessment_year)
    status = set_aside_other_years(status, values, year)
    clean = build_clean_table(rows, values, status, index, specs)
    clean, substitutions = fill_denominators(clean, reference if reference is not None else load_regions(),
                                             framework, specs, batch.unknown_columns)
    validate_clean(clean, framework)
    quarantine = build_quarantine(rows, status)
    superseded = build_superseded(rows, status)
    other_years = build_other_years(rows, status, values)
    log = pd.concat([df for df in (build_log(rows, changes, resolution, status, specs),
                                   build_duplicate_log(rows, values, status, specs), substitutions) if len(df)]
                    or [substitutions], ignore_index=True)
    summary = build_summary(batch, clean, quarantine, superseded, framework, submissions_dir, other_years)
    summary["assessment_year"] = {"year": year, "chosen_by": chosen_by,
                                  "years_present": years_present(status, values)}
    summary["round_year"] = content_year(year, chosen_by, values)
    notes = (*year_notes(year, chosen_by, other_years),
             *denominator_notes(substitutions, specs, ignored_headers(batch.unknown_columns)))
    return CleaningResult(clean, quarantine, superseded, log, summary, other_years=other_years, notes=notes)


# --- One round is one assessment year ----------------------------------------------------------------------

def years_present(status: pd.DataFrame, values: pd.DataFrame) -> list[int]:
    """Return the assessment years of the rows that name a region and a year, sorted."""
    usable = (status["status"] != "quarantined").to_numpy()
    years = pd.to_numeric(pd.Series(values["assessment_year"].to_numpy()[usable]), errors="coerce").dropna()
    return sorted({int(y) for y in years})


def round_year(status: pd.DataFrame, values: pd.DataFrame, requested: int | None) -> tuple[int | None, str]:
    """Return the round's assessment year and how it was chosen (``"parameter"`` or ``"latest_present"``).

    A round is one year: resubmissions compete within a year, and the index compares regions of one year.
    """
    if requested:
        return int(requested), "parameter"
    present = years_present(status, values)
    return (present[-1], "latest_present") if present else (None, "none_present")


def content_year(year: int | None, chosen_by: str, values: pd.DataFrame) -> dict[str, Any]:
    """Return the round's year as its content gives it, to find the round's invitation list by.

    The year the round was restricted to (:func:`round_year`: the parameter, else the latest assessment year
    present) when there is one; otherwise the year most rows were submitted in (``submitted_at``; the later
    year on a tie). The submission date never gives a row its assessment year: it only names the round.

    Returns
    -------
    dict
        ``year`` (None when neither gives one) and ``found_from``: ``parameter``, ``assessment_year``,
        ``submitted_at`` or None.
    """
    if year is not None:
        return {"year": int(year), "found_from": "parameter" if chosen_by == "parameter" else "assessment_year"}
    submitted = values["submitted_at"] if "submitted_at" in values else pd.Series(dtype=object)
    dated = pd.to_datetime(pd.Series(submitted.to_numpy()), errors="coerce").dropna()
    if dated.empty:
        return {"year": None, "found_from": None}
    counts = dated.dt.year.value_counts()
    return {"year": int(max(counts[counts == counts.max()].index)), "found_from": "submitted_at"}


def set_aside_other_years(status: pd.DataFrame, values: pd.DataFrame, year: int | None) -> pd.DataFrame:
    """Give rows of other years (accepted or superseded within their own year) the status ``other_year``.

    Their status within their own year is kept in ``status_in_its_year``; quarantined rows stay quarantined.
    """
    status = status.copy()
    years = pd.to_numeric(pd.Series(values["assessment_year"].to_numpy(), index=status.index), errors="coerce")
    other = status["status"].isin(["accepted", "superseded"]) & (years != year)
    status["status_in_its_year"] = status["status"].where(other)
    status.loc[other, "status"] = "other_year"
    status["row_year"] = years
    return status


def build_other_years(rows: pd.DataFrame, status: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Assemble ``other_years.csv``: rows of other assessment years, kept out of this round's index."""
    mask = status["status"] == "other_year"
    return pd.DataFrame({
        "source_file": rows.loc[mask, "source_file"].astype("str").to_numpy(),
        "source_row": rows.loc[mask, "source_row"].astype("int64").to_numpy(),
        "region_code": status.loc[mask, "region_code"].astype("str").to_numpy(),
        "assessment_year": status.loc[mask, "row_year"].astype("int64").to_numpy(),
        "status_in_its_year": status.loc[mask, "status_in_its_year"].astype("str").to_numpy(),
    }, columns=OTHER_YEAR_COLUMNS)


def year_notes(year: int | None, chosen_by: str, other_years: pd.DataFrame) -> tuple[Note, ...]:
    """Say which year the round is, and how many rows of other years were set aside."""
    if other_years.empty:
        return ()
    others = ", ".join(str(y) for y in sorted(other_years["assessment_year"].unique()))
    how_id, how_en = (("sesuai parameter", "as the parameter says") if chosen_by == "parameter"
                      else ("tahun terbaru yang ada", "the latest year present"))
    return (Note(STAGE, "assessment_year", "restricted", "other_years_present",
                 f"Putaran ini tahun {year} ({how_id}); {len(other_years)} baris tahun {others} disisihkan ke "
                 "other_years.csv dan tidak masuk indeks.",
                 f"This round is {year} ({how_en}); {len(other_years)} row(s) of {others} are set aside in "
                 "other_years.csv and kept out of the index."),)


# --- Denominators from the reference ------------------------------------------------------------------------

# Added to a denominator's note (Indonesian, English) when the region's file had headers that matched no field.
UNRECOGNISED_HEADER_NOTE = (
    " Berkas daerah memuat kolom yang judulnya tidak dikenali (lihat cleaning_log.csv); jika angkanya ada di sana, "
    "perbaiki judul kolom dan kirim ulang.",
    " The region's file has columns whose headers were not recognised (see cleaning_log.csv); if the figure is "
    "there, correct the header and resubmit.")


def fill_denominators(clean: pd.DataFrame, reference: pd.DataFrame, framework: Framework,
                      specs: Mapping[str, FieldSpec], unknown_columns: Sequence[Mapping[str, Any]] = ()
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Take population and area from the BPS reference table where the framework's ``denominators`` say so.

    A region's own figure is kept when it is there and passed its checks, unless the framework prefers the
    reference; otherwise the reference figure takes its place. Every substitution is a log row with the rule
    ``reference_denominator`` and the source. A row whose file has headers that matched no field (``unknown_columns``
    of the batch) says so in that row's detail, naming them: the figure may be in one of them. (A header that looks
    like the denominator itself never gets here: :func:`unread_denominators` quarantines its rows.)

    Returns
    -------
    clean, substitutions : pandas.DataFrame, pandas.DataFrame
        The clean table with the figures filled in, and the log rows (``LOG_COLUMNS``).
    """
    clean = clean.copy()
    by_code = reference.set_index(reference["region_code"].astype(str))
    ignored = ignored_headers(unknown_columns)
    rows = []
    for entry in framework.raw.get("denominators") or ():
        name, column = entry["field"], entry.get("reference_column", entry["field"])
        if name not in clean.columns or column not in by_code.columns:
            continue
        figure = clean["region_code"].map(by_code[column]).astype(float)
        take = figure.notna() & (clean[name].isna() if entry.get("prefer") != "reference" else True)
        for i in clean.index[take]:
            rows.append(_substitution(clean.loc[i], name, figure[i], specs,
                                      ignored.get(str(clean.at[i, "source_file"]), ())))
        clean.loc[take, name] = figure[take].astype(clean[name].dtype) if clean[name].dtype != object else figure[take]
    return clean, pd.DataFrame(rows, columns=LOG_COLUMNS).astype({"source_row": "int64"})


def ignored_headers(unknown_columns: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Return each file's headers that matched no field (from ``SubmissionBatch.unknown_columns``), in order."""
    found: dict[str, list[str]] = {}
    for entry in unknown_columns:
        headers = found.setdefault(str(entry["file"]), [])
        if entry["column"] not in headers:
            headers.append(str(entry["column"]))
    return {file: tuple(headers) for file, headers in found.items()}


def _substitution(row: pd.Series, name: str, figure: float, specs: Mapping[str, FieldSpec],
                  ignored: Sequence[str] = ()) -> dict[str, Any]:
    label = specs[name].label if name in specs else name
    was = "" if pd.isna(row[name]) else str(row[name])
    value = str(int(figure)) if float(figure).is_integer() else repr(float(figure))
    why = "left blank or failed its check" if was == "" else f"{was!r} replaced (the framework prefers the reference)"
    detail = (f"{row['source_file']} row {row['source_row']}, column {label} ({name}): {why}; the BPS "
              f"reference figure {value} is used (data/raw/reference/regions.csv)")
    if ignored and was == "":
        detail += (f". The file's column(s) {', '.join(repr(h) for h in ignored)} match no template field and were "
                   f"ignored: if one of them holds {label}, rename it {label!r} and resubmit")
    return {"source_file": row["source_file"], "source_row": int(row["source_row"]), "region_code": row["region_code"],
            "field": name, "original_value": was, "cleaned_value": value, "rule": "reference_denominator",
            "detail": detail}


def denominator_notes(substitutions: pd.DataFrame, specs: Mapping[str, FieldSpec],
                      ignored: Mapping[str, Sequence[str]] | None = None) -> tuple[Note, ...]:
    """One note per region and figure taken from the reference, shown in that region's report.

    ``ignored`` is :func:`ignored_headers` of the batch: when the region left the figure blank in a file with
    headers that matched no field, the note says so (its log row names them).
    """
    words = {"population": ("jumlah penduduk", "population"), "area_km2": ("luas wilayah", "area")}
    ignored = ignored or {}
    notes = []
    for row in substitutions.itertuples():
        word_id, word_en = words.get(row.field, (row.field, row.field))
        header_id, header_en = (UNRECOGNISED_HEADER_NOTE if row.original_value == ""
                                and ignored.get(str(row.source_file)) else ("", ""))
        notes.append(Note(STAGE, f"denominator:{row.field}", "substituted", "reference_denominator",
                          f"{word_id.capitalize()} diambil dari tabel rujukan BPS ({row.cleaned_value}), karena "
                          f"isian daerah kosong atau tidak lolos pemeriksaan.{header_id}",
                          f"{word_en.capitalize()} taken from the BPS reference table ({row.cleaned_value}): the "
                          f"region left it blank or it failed its check.{header_en}", str(row.region_code)))
    return tuple(notes)


def denominator_headers(framework: Framework) -> dict[str, tuple[str, ...]]:
    """Return, per denominator the region's own figure is preferred for, the keys its header is compared on.

    The field's id, its Indonesian and English labels, and each label without its unit in brackets, as
    :func:`~smartcity_analysis.cleaning.resolve.normalise_key` makes them.
    """
    fields = framework.fields
    found = {}
    for entry in framework.raw.get("denominators") or ():
        name = entry["field"]
        if entry.get("prefer") == "reference" or name not in fields.index:
            continue
        labels = [str(fields.at[name, c]) for c in ("label_id", "label_en") if c in fields.columns
                  and not is_blank(fields.at[name, c])]
        names = [name, *labels, *(re.sub(r"\(.*?\)", "", label) for label in labels)]
        found[name] = tuple(dict.fromkeys(k for k in map(normalise_key, names) if k))
    return found


def unread_denominators(rows: pd.DataFrame, unknown_columns: Sequence[Mapping[str, Any]],
                        framework: Framework) -> pd.DataFrame:
    """Find rows whose population or area is empty while their sheet has a header that looks like that column.

    Such a header matched no field (a mis-decoded ``Luas Wilayah (kmÂ²)``, ``Luas Wilayah (km2)``), so the
    region's own figure was not read; putting the reference figure in its place would replace a submitted value
    because of a header. A header "looks like" a denominator when :data:`DENOMINATOR_HEADER_THRESHOLD` is reached
    (:func:`denominator_headers`).

    Returns
    -------
    pandas.DataFrame
        ``row_seq``, ``field``, ``header`` (the first such header of the row's sheet), one row per row and field.
    """
    columns = ["row_seq", "field", "header"]
    if not unknown_columns or rows.empty:
        return pd.DataFrame(columns=columns)
    records = []
    for name, keys in denominator_headers(framework).items():
        looks = {}
        for entry in unknown_columns:
            sheet = (str(entry["file"]), _sheet_key(entry["sheet"]))
            key = normalise_key(entry["column"])
            if sheet not in looks and key and max(fuzz.ratio(key, k) for k in keys) >= DENOMINATOR_HEADER_THRESHOLD:
                looks[sheet] = str(entry["column"])
        if not looks:
            continue
        cells = rows[name] if name in rows else pd.Series([None] * len(rows), index=rows.index)
        sheets = rows["source_sheet"] if "source_sheet" in rows else pd.Series([None] * len(rows), index=rows.index)
        for seq, file, sheet, cell in zip(rows["row_seq"], rows["source_file"], sheets, cells, strict=True):
            header = looks.get((str(file), _sheet_key(sheet)))
            if header is not None and is_blank(cell):
                records.append((int(seq), name, header))
    return pd.DataFrame(records, columns=columns)


def _sheet_key(sheet: Any) -> str | None:
    return None if sheet is None or (isinstance(sheet, float) and np.isnan(sheet)) else str(sheet)


# --- Which rows are accepted ----------------------------------------------------------------------------

def assign_status(rows: pd.DataFrame, values: pd.DataFrame, resolution: pd.DataFrame, changes: pd.DataFrame,
                  specs: Mapping[str, FieldSpec], unread: pd.DataFrame | None = None) -> pd.DataFrame:
    """Decide each row's fate: ``accepted``, ``superseded`` (by which row) or ``quarantined`` (why).

    A row is quarantined for its region (the resolver's reasons), its missing assessment year, or a denominator
    behind an unrecognised header (``unread``, from :func:`unread_denominators`); the others compete per region
    and year (:func:`mark_superseded`), and rows sent at the same time are settled (:func:`settle_simultaneous`).

    Returns
    -------
    pandas.DataFrame
        ``row_seq``, ``region_code``, ``status``, ``reason_code``, ``message``, ``superseded_by`` (a
        ``row_seq``), ``identical_duplicate`` (a superseded row with the same time and values as its winner),
        indexed like ``rows``.
    """
    status = resolution[["row_seq", "region_code", "reason_code", "message"]].copy()
    year = values["assessment_year"] if "assessment_year" in values else pd.Series(None, index=values.index)
    no_year = status["reason_code"].isna() & year.isna().to_numpy()
    status.loc[no_year, "reason_code"] = "missing_assessment_year"
    year_changes = changes[changes["field"] == "assessment_year"] if no_year.any() else changes
    status.loc[no_year, "message"] = [_year_message(seq, year_changes, specs)
                                      for seq in status.loc[no_year, "row_seq"]]
    if unread is not None and len(unread):
        status = _quarantine_unread(status, unread, specs)
    status["status"] = status["reason_code"].map(lambda r: "accepted" if pd.isna(r) else "quarantined")
    submitted = values["submitted_at"] if "submitted_at" in values else pd.Series(None, index=values.index)
    status["assessment_year"] = year.to_numpy()
    status["submitted_at"] = pd.to_datetime(submitted.to_numpy())
    where = pd.Series(_where(rows).to_numpy(), index=rows["row_seq"].to_numpy())
    return (status.pipe(mark_superseded).pipe(settle_simultaneous, values, where, specs)
            .drop(columns=["assessment_year", "submitted_at"]))


def _quarantine_unread(status: pd.DataFrame, unread: pd.DataFrame, specs: Mapping[str, FieldSpec]) -> pd.DataFrame:
    """Quarantine rows (still unreasoned) whose denominator is behind an unrecognised header, saying which."""
    status = status.copy()
    first = unread.drop_duplicates("row_seq").set_index("row_seq")
    hit = status["reason_code"].isna() & status["row_seq"].isin(first.index)
    status.loc[hit, "reason_code"] = "unrecognised_denominator_header"
    status.loc[hit, "message"] = [_unread_message(first.at[seq, "field"], first.at[seq, "header"], specs)
                                  for seq in status.loc[hit, "row_seq"]]
    return status


def _unread_message(name: str, header: str, specs: Mapping[str, FieldSpec]) -> str:
    label = specs[name].label if name in specs else name
    return (f"{label} ({name}) is empty and the column {header!r} looks like it but does not match the template, "
            "so the region's own figure could not be read (the BPS reference figure is not put in its place); "
            f"rename the column {label!r} and resubmit")


def _year_message(seq: int, changes: pd.DataFrame, specs: Mapping[str, FieldSpec]) -> str:
    label = specs["assessment_year"].label if "assessment_year" in specs else "assessment_year"
    why = changes[(changes["row_seq"] == seq) & (changes["field"] == "assessment_year")]
    typed = f" ({why['original_value'].iloc[0]!r}: {why['message'].iloc[0]})" if len(why) else " is empty"
    return f"{label}{typed}; fill in the year of the assessment (e.g. 2021) and resubmit"


def mark_superseded(status: pd.DataFrame) -> pd.DataFrame:
    """Keep one accepted row per region and assessment year: the latest ``submitted_at`` wins.

    An undated row is older than any dated one; on equal timestamps the later row in reading order (files
    sorted by name, then sheets, then rows) wins. The others become ``superseded``, pointing at the winner.
    Whether rows tied with the winner are one submission sent twice or a conflict is then decided by
    :func:`settle_simultaneous`.

    Parameters
    ----------
    status : pandas.DataFrame
        With ``row_seq``, ``region_code``, ``assessment_year``, ``submitted_at`` and ``status``.

    Returns
    -------
    pandas.DataFrame
        A copy with ``status`` updated and ``superseded_by`` (the winner's ``row_seq``, NA otherwise).
    """
    status = status.copy()
    status["superseded_by"] = pd.array([pd.NA] * len(status), dtype="Int64")
    accepted = status[status["status"] == "accepted"]
    ordered = accepted.sort_values(["submitted_at", "row_seq"], na_position="first", kind="stable")
    keys = [ordered["region_code"], ordered["assessment_year"].astype("int64")]
    winner = ordered.groupby(keys)["row_seq"].transform("last")
    losers = winner.index[winner != ordered["row_seq"]]
    status.loc[losers, "status"] = "superseded"
    status.loc[losers, "superseded_by"] = winner[losers].to_numpy()
    return status


def settle_simultaneous(status: pd.DataFrame, values: pd.DataFrame, where: pd.Series,
                        specs: Mapping[str, FieldSpec]) -> pd.DataFrame:
    """Settle the rows of one region and year sent at the same time as the row that won: never a silent pick.

    Rows superseded by a winner with the same ``submitted_at`` (both undated counts as the same) are compared with
    it on every field but :data:`NOT_COMPARED_FIELDS`. The same values: one submission sent twice, counted once
    (the rows stay superseded, marked ``identical_duplicate``, and are logged). Different values: the winner and
    every row of its time are quarantined as ``conflicting_submissions``, each naming the others and the fields
    that disagree; older rows stay superseded by the quarantined winner (the region did send something later).

    Parameters
    ----------
    status : pandas.DataFrame
        As :func:`mark_superseded` returns it, with ``submitted_at``; positions aligned with ``values``.
    values : pandas.DataFrame
        The parsed values, one row per row of ``status``.
    where : pandas.Series
        ``"file row n"`` by ``row_seq``.
    specs : Mapping
        The field specifications (labels).

    Returns
    -------
    pandas.DataFrame
        A copy with ``status``, ``reason_code``, ``message`` and ``superseded_by`` updated and the boolean column
        ``identical_duplicate``.
    """
    status = status.assign(identical_duplicate=False)
    losers = status[status["status"] == "superseded"]
    when = pd.Series(status["submitted_at"].to_numpy(), index=status["row_seq"].to_numpy())
    theirs = when.reindex(losers["superseded_by"].astype("int64").to_numpy()).to_numpy()
    mine = losers["submitted_at"].to_numpy()
    tied = losers[(mine == theirs) | (pd.isna(mine) & pd.isna(theirs))]
    if tied.empty:
        return status
    winners = tied["superseded_by"].astype("int64").to_numpy()
    kept = np.unique(winners)
    members = np.concatenate([tied["row_seq"].to_numpy(dtype=np.int64), kept])
    compared = [c for c in values.columns if c != "row_seq" and c not in NOT_COMPARED_FIELDS]
    at = pd.Series(range(len(status)), index=status["row_seq"].to_numpy())
    # Values compared as the log shows them (72,5 and 72.50 are one value; blank and missing too).
    text = values.iloc[at[members].to_numpy()][compared].map(canonical_text).set_axis(members)
    group = pd.Series(np.concatenate([winners, kept]), index=members)
    differs = text.groupby(group.to_numpy()).nunique() > 1
    conflicted = set(differs.index[differs.any(axis=1)])
    index_of = pd.Series(status.index, index=status["row_seq"].to_numpy())
    same = [int(s) for s, g in zip(tied["row_seq"], winners, strict=True) if g not in conflicted]
    status.loc[index_of[same], "identical_duplicate"] = True
    status.loc[index_of[same], "message"] = [
        f"the same values as {where[int(group[s])]}, {_sent(when[s])}; counted once (that row is kept)" for s in same]
    if not conflicted:
        return status
    label_of = {c: f"{specs[c].label} ({c})" if c in specs else c for c in compared}
    date_label = specs["submitted_at"].label if "submitted_at" in specs else "submitted_at"
    cells = {int(seq): dict(zip(compared, row, strict=True))
             for seq, row in zip(members, text.itertuples(index=False, name=None), strict=True)}
    place = {int(seq): str(where[int(seq)]) for seq in members}
    by_winner: dict[int, list[int]] = {}
    for seq, winner in zip(members, group, strict=True):
        if winner in conflicted:
            by_winner.setdefault(int(winner), []).append(int(seq))
    rows, messages = [], []
    for winner, seqs in sorted(by_winner.items()):
        seqs = sorted(seqs)
        differing = [c for c in compared if differs.at[winner, c]]
        block = {seq: cells[seq] for seq in seqs}
        for seq in seqs:
            rows.append(index_of[seq])
            messages.append(_conflict_message(seq, block, differing, place, label_of, when[seq], date_label))
    status.loc[rows, ["status", "reason_code"]] = ["quarantined", "conflicting_submissions"]
    status.loc[rows, "superseded_by"] = pd.NA
    status.loc[rows, "message"] = messages
    return status


def _sent(when: Any) -> str:
    return "both undated" if pd.isna(when) else f"sent at the same time ({canonical_text(pd.Timestamp(when))})"


def _conflict_message(seq: int, block: Mapping[int, Mapping[str, str]], differing: list[str],
                      place: Mapping[int, str], label_of: Mapping[str, str], sent: Any, date_label: str) -> str:
    """Say which rows this one conflicts with, on which fields (values as text, by row), and what to do."""
    others = [s for s in block if s != seq]
    at = "undated, as is" if pd.isna(sent) else f"{_sent(sent)} as"
    parts = []
    for column in differing[:CONFLICT_FIELDS_SHOWN]:
        there: dict[str, list[str]] = {}
        for other in others:
            there.setdefault(block[other][column] or "empty", []).append(place[other])
        elsewhere = "; ".join(f"{value!r} in {', '.join(places)}" for value, places in there.items())
        parts.append(f"{label_of[column]} {block[seq][column] or 'empty'!r} here, {elsewhere}")
    more = len(differing) - CONFLICT_FIELDS_SHOWN
    fields = "; ".join(parts) + (f"; and {more} more field(s)" if more > 0 else "")
    return (f"{at} {', '.join(place[o] for o in others)} for the same region and year, with different values: "
            f"{fields}; confirm which is final and resubmit it with a later {date_label}")


# --- The output tables ------------------------------------------------------------------------------

def clean_field_columns(specs: Mapping[str, FieldSpec]) -> list[str]:
    """Return the clean table's columns: the identity columns, then every other non-personal field."""
    rest = [f for f, s in specs.items() if s.type != "pii" and f not in IDENTITY_COLUMNS]
    return [*IDENTITY_COLUMNS, *rest]


def build_clean_table(rows: pd.DataFrame, values: pd.DataFrame, status: pd.DataFrame, index: RegionIndex,
                      specs: Mapping[str, FieldSpec]) -> pd.DataFrame:
    """Assemble ``submissions_clean``: accepted rows, reference identity, typed fields, by region code."""
    accepted = (status["status"] == "accepted").to_numpy()
    typed = to_typed(values[accepted].drop(columns="row_seq"), specs)
    reference = index.regions.loc[status.loc[accepted, "region_code"],
                                  ["official_name", "region_type", "province_name"]]
    clean = pd.concat([
        pd.DataFrame({"region_code": status.loc[accepted, "region_code"].astype("str").to_numpy()}),
        reference.reset_index(drop=True),
        pd.DataFrame({"source_file": rows.loc[accepted, "source_file"].astype("str").to_numpy(),
                      "source_row": rows.loc[accepted, "source_row"].astype("int64").to_numpy()}),
        typed.reset_index(drop=True),
    ], axis=1)
    clean = clean.reindex(columns=clean_field_columns(specs)).astype(
        {"region_code": "str", "official_name": "str", "region_type": "str", "province_name": "str",
         "source_file": "str", "source_row": "int64"})
    for column in clean.columns[clean.isna().all() & clean.dtypes.map(pd.api.types.is_object_dtype)]:
        clean[column] = to_typed(pd.DataFrame({column: [None] * len(clean)}, dtype=object), specs)[column]
    return clean.sort_values(["region_code", "assessment_year"], kind="stable").reset_index(drop=True)


def _where(rows: pd.DataFrame) -> pd.Series:
    return rows["source_file"].astype("str") + " row " + rows["source_row"].astype("str")


def build_quarantine(rows: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    """Assemble ``quarantine.csv``: each quarantined row, its reason code and what to do."""
    mask = status["status"] == "quarantined"
    where = _where(rows)
    return pd.DataFrame({
        "source_file": rows.loc[mask, "source_file"].astype("str"),
        "source_row": rows.loc[mask, "source_row"].astype("int64"),
        "region_code": status.loc[mask, "region_code"].astype("str")
                                                        .where(status.loc[mask, "region_code"].notna()),
        "reason_code": status.loc[mask, "reason_code"].astype("str"),
        "detail": where[mask] + ": " + status.loc[mask, "message"].astype("str"),
    }, columns=QUARANTINE_COLUMNS).reset_index(drop=True)


def build_superseded(rows: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    """Assemble ``superseded.csv``: each replaced row and the row that replaced it."""
    mask = status["status"] == "superseded"
    by_seq = rows.set_index("row_seq")
    winners = status.loc[mask, "superseded_by"].astype("int64")
    return pd.DataFrame({
        "source_file": rows.loc[mask, "source_file"].astype("str").to_numpy(),
        "source_row": rows.loc[mask, "source_row"].astype("int64").to_numpy(),
        "region_code": status.loc[mask, "region_code"].astype("str").to_numpy(),
        "superseded_by_file": by_seq.loc[winners, "source_file"].astype("str").to_numpy(),
        "superseded_by_row": by_seq.loc[winners, "source_row"].astype("int64").to_numpy(),
    }, columns=SUPERSEDED_COLUMNS)


def build_duplicate_log(rows: pd.DataFrame, values: pd.DataFrame, status: pd.DataFrame,
                        specs: Mapping[str, FieldSpec]) -> pd.DataFrame:
    """Log each identical duplicate (see :func:`settle_simultaneous`) with the rule ``identical_duplicate``.

    The row is in ``superseded.csv``; its log row, on ``submitted_at`` (the time it shares with the row kept),
    says it was the same submission sent twice.
    """
    mask = (status["identical_duplicate"] if "identical_duplicate" in status else
            pd.Series(False, index=status.index)).to_numpy(dtype=bool)
    label = f"{specs['submitted_at'].label} (submitted_at)" if "submitted_at" in specs else "submitted_at"
    sent = (values["submitted_at"].to_numpy()[mask] if "submitted_at" in values else np.full(mask.sum(), None))
    sent_text = [canonical_text(v) for v in sent]
    return pd.DataFrame({
        "source_file": rows.loc[mask, "source_file"].astype("str").to_numpy(),
        "source_row": rows.loc[mask, "source_row"].astype("int64").to_numpy(),
        "region_code": status.loc[mask, "region_code"].astype("str").to_numpy(),
        "field": "submitted_at", "original_value": sent_text, "cleaned_value": sent_text,
        "rule": "identical_duplicate",
        "detail": (_where(rows)[mask] + ", column " + label + ": " + status.loc[mask, "message"].astype("str")
                   ).to_numpy(),
    }, columns=LOG_COLUMNS).astype({"source_row": "int64"})


def build_log(rows: pd.DataFrame, changes: pd.DataFrame, resolution: pd.DataFrame, status: pd.DataFrame,
              specs: Mapping[str, FieldSpec]) -> pd.DataFrame:
    """Assemble ``cleaning_log.csv``: every changed value (parsing, rules, region codes) with a message."""
    code_changes = resolution[resolution["rule"].notna()
                              & (resolution["original_code"] != resolution["region_code"].fillna(""))]
    code_changes = pd.DataFrame({
        "row_seq": code_changes["row_seq"], "field": "region_code",
        "original_value": code_changes["original_code"], "cleaned_value": code_changes["region_code"],
        "rule": code_changes["rule"], "message": code_changes["message"]}, columns=CHANGE_COLUMNS)
    frames = [f for f in (code_changes, changes) if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in LOG_COLUMNS}).astype({"source_row": "int64"})
    log = pd.concat(frames, ignore_index=True)
    fields, labels, order = field_keys(log["field"], specs)
    seq_all = log["row_seq"].to_numpy(dtype=np.int64)
    # By row, then template field order (fields not in the template last), stable: as a stable sort_values.
    sorter = np.lexsort((order, seq_all))
    seq = seq_all[sorter]
    at_row, at_status = positions(rows["row_seq"], seq), positions(status["row_seq"], seq)
    files = _text(rows["source_file"]).take(at_row)
    source_rows = rows["source_row"].astype("int64").to_numpy()[at_row]
    codes = status["region_code"]
    original, cleaned, rule, message = (_text(log[c]).take(sorter)
                                        for c in ("original_value", "cleaned_value", "rule", "message"))
    read_as = _join("'", original, "' read as '", cleaned, "'")
    messages = pc.if_else(pc.not_equal(message, ""), message, read_as)
    detail = _join(files, " row ", pc.cast(pyarrow.array(source_rows), pyarrow.large_string()), ", column ",
                   labels.take(sorter), ": ", messages)
    return pd.DataFrame({
        "source_file": text_column(files), "source_row": source_rows,
        "region_code": text_column(_text(codes.astype("str").where(codes.notna())).take(at_status)),
        "field": text_column(fields.take(sorter)), "original_value": text_column(original),
        "cleaned_value": text_column(cleaned), "rule": text_column(rule), "detail": text_column(detail),
    }, columns=LOG_COLUMNS)


def field_keys(fields: pd.Series, specs: Mapping[str, FieldSpec]) -> tuple[pyarrow.Array, pyarrow.Array, np.ndarray]:
    """Return the log's fields as text, their labels (``Label (field)``) and their template order.

    Each distinct field is looked up once; a field not in the template is its own label and comes last.
    """
    codes, distinct = pd.factorize(fields)
    order = {f: i for i, f in enumerate(specs)}
    # Code -1 (a missing field) takes the last entry, as a missing value sorts last.
    place = np.array([order.get(f, len(order)) for f in distinct] + [len(order)])
    label = pyarrow.array([f"{specs[f].label} ({f})" if f in specs else f for f in distinct] + [None],
                          type=pyarrow.large_string())
    codes = pyarrow.array(np.where(codes < 0, len(distinct), codes))
    return _text(fields), label.take(codes), place[codes.to_numpy()]


def positions(keys: pd.Series, wanted: np.ndarray) -> np.ndarray:
    """Return the position of each wanted key among ``keys`` (unique row numbers), as ``.loc`` finds them.

    Raises
    ------
    KeyError
        When a wanted key is not among ``keys``.
    """
    found = pd.Index(keys).get_indexer(wanted)
    if (found < 0).any():
        raise KeyError(f"row_seq {wanted[found < 0][:5].tolist()} not in the rows")
    return found


def _text(series: pd.Series) -> pyarrow.Array:
    """Return a column of text (missing values null) as pyarrow ``large_string``."""
    return _one_chunk(pyarrow.array(series.astype("str")))


def _one_chunk(values: pyarrow.Array | pyarrow.ChunkedArray) -> pyarrow.Array:
    return values.combine_chunks() if isinstance(values, pyarrow.ChunkedArray) else values


def _join(*parts: Any) -> pyarrow.Array:
    """Concatenate texts and arrays of text element-wise (null where any part is null, as pandas' ``+``)."""
    return pc.binary_join_element_wise(*(pyarrow.scalar(p, pyarrow.large_string()) if isinstance(p, str) else p
                                         for p in parts), pyarrow.scalar("", pyarrow.large_string()))


def text_column(values: pyarrow.Array) -> Any:
    """Return pyarrow text as the column pandas infers from the same values as Python objects.

    That is pandas' ``str`` dtype, the arrow data shared; a column with no text at all (every value
    missing) is an object column of NaN, as pandas infers for it.
    """
    if len(values) and values.null_count == len(values):
        return np.full(len(values), np.nan, dtype=object)
    return pd.array(values, dtype="str")


def build_summary(batch: SubmissionBatch, clean: pd.DataFrame, quarantine: pd.DataFrame,
                  superseded: pd.DataFrame, framework: Framework, submissions_dir: Path | None,
                  other_years: pd.DataFrame | None = None) -> dict[str, Any]:
    """Count the rows and record the files; raise when the rows do not add up.

    Raises
    ------
    RuntimeError
        When ``rows_read`` differs from accepted + superseded + quarantined + other years.
    """
    rows_read = len(batch.rows)
    counts = {"rows_accepted": len(clean), "rows_superseded": len(superseded),
              "rows_quarantined": len(quarantine), "rows_other_year": 0 if other_years is None else len(other_years)}
    if rows_read != sum(counts.values()):
        raise RuntimeError(f"cleaning lost rows: {rows_read} read but {counts} accounted for; "
                           "please report this with the submissions folder")
    by_reason = quarantine["reason_code"].value_counts().sort_index()
    inputs = {}
    if submissions_dir is not None:
        names = sorted({f["name"] for f in batch.files_read} | {f["name"] for f in batch.files_rejected})
        inputs = {n: hashlib.sha256((submissions_dir / n).read_bytes()).hexdigest() for n in names}
    return {
        "rows_read": rows_read, **counts,
        "files_read": batch.files_read, "files_rejected": batch.files_rejected,
        "files_skipped": batch.files_skipped,
        "unknown_columns": batch.unknown_columns,
        "quarantine_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "provenance": {"package_version": __version__, "framework_sha256": framework.sha256,
                       "inputs_sha256": inputs},
    }


# --- Schema and files -------------------------------------------------------------------------------------

def clean_schema(framework: Framework) -> pa.DataFrameSchema:
    """Build the pandera schema of ``submissions_clean`` from the framework's fields (types, ranges)."""
    specs = field_specs(framework)
    fixed = {
        "region_code": pa.Column(str, pa.Check.str_matches(r"^\d{4}$")),
        "official_name": pa.Column(str),
        "region_type": pa.Column(str, pa.Check.isin(["Kabupaten", "Kota"])),
        "province_name": pa.Column(str),
        "source_file": pa.Column(str),
        "source_row": pa.Column("int64", pa.Check.ge(2)),
    }
    columns = {
        c: fixed[c] if c in fixed else _field_column(specs[c], required=c == "assessment_year")
        for c in clean_field_columns(specs)
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=True,
                              unique=["region_code", "assessment_year"], name="submissions_clean")


def _field_column(spec: FieldSpec, required: bool) -> pa.Column:
    checks = []
    if spec.min is not None:
        checks.append(pa.Check.ge(spec.min))
    if spec.max is not None:
        checks.append(pa.Check.le(spec.max))
    if spec.type == "ordinal":
        checks.append(pa.Check.isin(list(spec.allowed)))
    dtype = {"integer": "Int64", "number": "float64", "money": "float64", "percent": "float64",
             "likert": "float64", "boolean": "boolean", "datetime": "datetime64[us]"}.get(spec.type, str)
    return pa.Column(dtype, checks, nullable=not required, coerce=spec.type == "datetime")


def validate_clean(clean: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Check ``submissions_clean`` against :func:`clean_schema`; raise ``pandera.errors.SchemaError``."""
    return clean_schema(framework).validate(clean)


def _csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Booleans as ``true``/``false``, datetimes as ISO 8601 text, for the CSV files only."""
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == "boolean":
            out[column] = out[column].map({True: "true", False: "false"}, na_action="ignore")
        elif pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime(ISO_FORMAT)
    return out


def write_outputs(result: CleaningResult, processed_dir: Path) -> dict[str, Path]:
    """Write the stage's files into ``processed_dir`` (created) and return their paths."""
    processed_dir.mkdir(parents=True, exist_ok=True)
    paths = {key: processed_dir / name for key, name in OUTPUT_FILES.items()}
    outputs.write_csv(paths["clean_csv"], _csv_ready(result.clean))
    outputs.write_parquet(paths["clean_parquet"], result.clean)
    write_text_table(paths["quarantine"], result.quarantine)
    write_text_table(paths["superseded"], result.superseded)
    write_text_table(paths["other_years"], result.other_years)
    write_text_table(paths["log"], result.log)
    outputs.write_json(paths["summary"], result.summary)
    return paths


# --- CSV files of text through pyarrow ----------------------------------------------------------------------

def write_text_table(path: Path, table: pd.DataFrame) -> Path:
    """Write ``table`` exactly as :func:`outputs.write_csv` does, a table of text and integers via pyarrow.

    The bytes are the same either way (:func:`text_csv` is checked against pandas once per process); pyarrow
    only makes a large cleaning log (hundreds of thousands of rows) several times faster to write.
    """
    data = text_csv(table)
    return outputs.write_csv(path, table) if data is None else outputs.write_bytes(path, data)


def text_csv(table: pd.DataFrame, quoted: str | None = None) -> bytes | None:
    """Return the bytes :func:`outputs.write_csv` writes for ``table``, or None when this cannot make them.

    Made here: tables of two or more uniquely named columns, each of text (missing values empty) or of
    integers. A cell holding one of the ``quoted`` characters (default :func:`csv_quoted_characters`) is
    quoted, with ``"`` doubled inside, as Python's ``csv`` module does for pandas.
    """
    quoted = csv_quoted_characters() if quoted is None else quoted
    names = list(table.columns)
    if not quoted or len(names) < 2 or not table.columns.is_unique or not all(isinstance(n, str) for n in names):
        return None
    header = (",".join(_csv_quote(n, quoted) for n in names) + "\n").encode("utf-8")
    if table.empty:
        return header
    pieces: list[Any] = []
    for position, name in enumerate(names):
        cell = _csv_cell(table[name], quoted)
        if cell is None:
            return None
        pieces += [",", *cell] if position else list(cell)
    # One pass writes every line: each cell between its quotes (empty when it needs none), commas, newline.
    lines = _one_chunk(_join(*pieces, "\n"))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return b"".join((header, memoryview(lines.buffers()[2])[start:end]))


def _csv_quote(text: str, quoted: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in quoted) else text


def _csv_cell(column: pd.Series, quoted: str) -> tuple[Any, pyarrow.Array, Any] | None:
    """Return a column's cells as CSV text between their quotes, or None for a column of another type.

    Returns
    -------
    (quote, text, quote) or None
        The quote of each cell (``'"'`` or ``""``; one text when all cells agree) and the cells' text
        (large_string, missing values empty, ``"`` doubled in a quoted cell).
    """
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu":  # numpy integers, never missing
        return "", pc.cast(pyarrow.array(column.to_numpy()), pyarrow.large_string()), ""
    if not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
        return None
    try:
        values = _one_chunk(pyarrow.array(column, from_pandas=True))
    except (pyarrow.ArrowException, TypeError, ValueError):
        return None
    if not (pyarrow.types.is_string(values.type) or pyarrow.types.is_large_string(values.type)
            or pyarrow.types.is_null(values.type)):
        return None
    text = pc.fill_null(pc.cast(values, pyarrow.large_string()), "")
    special = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in quoted) + "]"
    needs = pc.match_substring_regex(text, special)
    count = pc.sum(needs).as_py() or 0
    if count == 0:
        return "", text, ""
    doubled = pc.and_(needs, pc.match_substring(text, '"'))
    if pc.any(doubled).as_py():
        text = pc.replace_with_mask(text, doubled, pc.replace_substring(text.filter(doubled), '"', '""'))
    if count == len(text):
        return '"', text, '"'
    quote = pc.if_else(needs, pyarrow.scalar('"', pyarrow.large_string()), pyarrow.scalar("", pyarrow.large_string()))
    return quote, text, quote


@functools.cache
def csv_quoted_characters() -> str:
    """Return the characters that make pandas quote a cell with the options of :func:`outputs.write_csv`.

    Found once per process by writing a probe table with pandas, and checked: when :func:`text_csv` does not
    make exactly pandas' bytes of the probe, ``""`` (so every table goes through pandas).
    """
    candidates = [chr(c) for c in range(128)] + ["\x85", "\xa0", "\u2028", "\u2029", "\ufeff"]
    texts = [f"a{c}b" for c in candidates] + ["", " a", "a ", None, float("nan"), "é ²", '"', ","]
    probe = pd.DataFrame({"text": pd.Series(texts, dtype=object), "number": range(len(texts)),
                          "words": pd.Series(texts[::-1], dtype=object).astype("str")})
    try:
        expected = probe.to_csv(None, **outputs.CSV_OPTIONS)
    except Exception:  # whatever pandas refuses there, every table goes through pandas
        return ""
    found = "".join(c for c, t in zip(candidates, texts, strict=False)
                    if "\n" + '"' + t.replace('"', '""') + '",' in expected)
    return found if text_csv(probe, found) == expected.encode("utf-8") else ""


# --- What the notebook shows ------------------------------------------------------------------------------

def quarantine_by_reason(result: CleaningResult) -> pd.DataFrame:
    """Count quarantined rows per reason code, most frequent first, with one example detail each."""
    quarantine = result.quarantine
    if quarantine.empty:
        return pd.DataFrame({"reason_code": pd.Series(dtype="str"), "rows": pd.Series(dtype="int64"),
                             "example": pd.Series(dtype="str")})
    return (quarantine.groupby("reason_code", as_index=False)
            .agg(rows=("detail", "size"), example=("detail", "first"))
            .sort_values(["rows", "reason_code"], ascending=[False, True], kind="stable")
            .reset_index(drop=True))


def top_rules(result: CleaningResult, n: int = 10) -> pd.DataFrame:
    """Return the ``n`` cleaning rules that changed the most values, with the fields they touched."""
    log = result.log
    if log.empty:
        return pd.DataFrame({"rule": pd.Series(dtype="str"), "changes": pd.Series(dtype="int64"),
                             "rows": pd.Series(dtype="int64"), "fields": pd.Series(dtype="str")})
    rows = log["source_file"] + "#" + log["source_row"].astype("str")
    return (log.assign(_row=rows).groupby("rule", as_index=False)
            .agg(changes=("field", "size"), rows=("_row", "nunique"),
                 fields=("field", lambda s: ", ".join(sorted(set(s)))))
            .sort_values(["changes", "rule"], ascending=[False, True], kind="stable")
            .head(n).reset_index(drop=True))


def field_coverage(result: CleaningResult) -> pd.DataFrame:
    """Return a region x field table, True where the accepted row has a value (for a coverage map)."""
    clean = result.clean
    fields = list(clean.columns[len(IDENTITY_COLUMNS):])
    keys = ["region_code"] if clean["region_code"].is_unique else ["region_code", "assessment_year"]
    return clean.set_index(keys)[fields].notna()
