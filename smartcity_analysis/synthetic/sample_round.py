"""Generate the bundled sample round: seeded, realistic and messy submissions of the November 2021 round.

The generator invites 150 real kab/kota from the reference table, lets 88 of them take part in four assessment
classes, derives every template field from a latent readiness built on reference facts (population, density,
Kota vs Kabupaten, Java, remote Papua), then writes the answers the way regions really send them: Excel
workbooks with an instructions sheet (``.xlsx``, and a few ``.xlsm``, ``.xls``, ``.ods`` and a form with a
title above its header), ``;``-separated Windows-1252 CSV and one UTF-16 "Unicode text" export, with every kind
of mess listed in ``DOMAIN.md`` planted a known number of times. The :class:`SampleRound` it returns states what
a correct cleaner must find (rows, quarantine reasons, superseded rows, rejected files); ``docs/sample_round.md``
documents the design.

Output is byte-identical for the same seed: one ``numpy.random.default_rng(seed)`` drives every choice, and
workbooks carry fixed timestamps inside and in their zip entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.reference import load_papua_renumbering, load_regions
from smartcity_analysis.synthetic.cells import RenderedFile, render_file
from smartcity_analysis.synthetic.helpers import old_papua_codes
from smartcity_analysis.synthetic.parameters import DEFAULT_PARAMETERS, SampleParameters
from smartcity_analysis.synthetic.plan import PlannedFile, broken_source_name, plan_files
from smartcity_analysis.synthetic.population import (
    assign_classes,
    choose_invited,
    choose_participants,
    generate_values,
    invitation_table,
    with_readiness,
)


@dataclass(frozen=True)
class SampleRound:
    """What :func:`generate_sample_round` wrote and what a correct cleaner must find in it.

    Attributes
    ----------
    seed : int
        The seed that produced the round.
    out_dir : pathlib.Path
        The submissions folder written.
    invitations_file : pathlib.Path
        The invitation list (outside ``out_dir``, so the cleaner does not read it as a submission).
    broken_dir : pathlib.Path
        Folder with two broken example files for the cleaner's tests.
    invited, submitted : int
        Regions invited and regions that took part.
    classes : tuple of str
        The assessment classes.
    files_written : tuple of str
        File names in ``out_dir``, sorted.
    files_rejected_expected : tuple of str
        Files in ``out_dir`` that cannot be read.
    rows_written : int
        Data rows in the readable files.
    rows_accepted_expected : int
        Rows a correct cleaner accepts (one per participating region).
    quarantine_expected : Mapping
        Rows a correct cleaner quarantines, by reason code.
    superseded_expected : int
        Rows replaced by a later submission of the same region.
    mess_counts : Mapping
        How many cells (or rows, for row-level categories) carry each planted kind of mess.
    truth : pandas.DataFrame
        One row per participating region: the latent readiness, the class and the value a correct cleaner
        should obtain for every field (missing where the planted value must become missing).
    invitations : pandas.DataFrame
        The invitation list as written.
    """

    seed: int
    out_dir: Path
    invitations_file: Path
    broken_dir: Path
    invited: int
    submitted: int
    classes: tuple[str, ...]
    files_written: tuple[str, ...]
    files_rejected_expected: tuple[str, ...]
    rows_written: int
    rows_accepted_expected: int
    quarantine_expected: Mapping[str, int]
    superseded_expected: int
    mess_counts: Mapping[str, int]
    truth: pd.DataFrame = field(repr=False, compare=False)
    invitations: pd.DataFrame = field(repr=False, compare=False)

    @property
    def quarantine_total(self) -> int:
        """Rows expected in quarantine, all reasons together."""
        return sum(self.quarantine_expected.values())


def generate_sample_round(
    out_dir: str | Path,
    seed: int = 2021,
    framework: Framework | None = None,
    reference_dir: str | Path | None = None,
    *,
    invitations_path: str | Path | None = None,
    broken_dir: str | Path | None = None,
    parameters: SampleParameters = DEFAULT_PARAMETERS,
) -> SampleRound:
    """Write a seeded, realistic and messy sample round of submissions.

    Parameters
    ----------
    out_dir : str or Path
        The submissions folder (e.g. ``data/raw/submissions/sample-2021``). The generator owns it: files of
        every submission extension (:data:`SUBMISSION_SUFFIXES`) already at its top level are removed first,
        so a regeneration leaves no stale file.
    seed : int
        Seed of the one random generator; the same seed gives byte-identical files.
    framework : Framework, optional
        The framework (field ids, labels, vocabulary); defaults to :func:`load_framework`.
    reference_dir : str or Path, optional
        Folder of the reference tables; defaults to ``data/raw/reference``.
    invitations_path : str or Path, optional
        Where to write the invitation list; defaults to ``invitations-<year>.csv`` beside ``out_dir``.
    broken_dir : str or Path, optional
        Where to write two broken example files; defaults to ``broken-examples/`` beside ``out_dir``.
    parameters : SampleParameters
        The shape of the round.

    Returns
    -------
    SampleRound
        What was written and what a correct cleaner must find.
    """
    framework = framework if framework is not None else load_framework()
    out_dir = Path(out_dir)
    invitations_path = Path(invitations_path) if invitations_path else (
        out_dir.parent / f"invitations-{parameters.year}.csv")
    broken_dir = Path(broken_dir) if broken_dir else out_dir.parent / "broken-examples"
    rng = np.random.default_rng(seed)

    invited, participants, files, broken_name = plan_round(rng, framework, parameters, reference_dir)
    rendered = {f.name: render_file(f, framework, rng, parameters) for f in files}
    source = next(f for f in files if f.name == broken_source_name(files, broken_name))
    broken = render_file(replace(source, name=broken_name, kind="xlsx"), framework, rng, parameters).payload
    payloads = {name: r.payload for name, r in rendered.items()} | {broken_name: broken[: len(broken) // 2]}

    _write_payloads(out_dir, payloads)
    invitations = invitation_table(invited, participants)
    invitations_path.parent.mkdir(parents=True, exist_ok=True)
    invitations_path.write_bytes(invitations.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    _write_broken_examples(broken_dir)
    return _summary(seed, out_dir, invitations_path, broken_dir, files, rendered, broken_name, participants,
                    invitations, framework, parameters)


# Every extension the cleaner reads: a regeneration removes stale files of each, so none is left behind.
SUBMISSION_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"})


def _write_payloads(out_dir: Path, payloads: Mapping[str, bytes]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out_dir.iterdir()):
        if stale.is_file() and stale.suffix.lower() in SUBMISSION_SUFFIXES:
            stale.unlink()
    for name in sorted(payloads):
        (out_dir / name).write_bytes(payloads[name])


def _write_broken_examples(broken_dir: Path) -> None:
    """Write an empty CSV and a text file named ``.xlsx``, for the cleaner's tests of unreadable files."""
    broken_dir.mkdir(parents=True, exist_ok=True)
    (broken_dir / "kosong.csv").write_bytes(b"")
    (broken_dir / "bukan_excel.xlsx").write_bytes(
        b"Ini bukan file Excel: lampiran email tersimpan dengan nama yang salah.\r\n")


def plan_round(rng: np.random.Generator, framework: Framework, parameters: SampleParameters,
               reference_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[PlannedFile], str]:
    """Draw who is invited and takes part, their true values, and plan the files carrying their rows.

    Returns
    -------
    invited, participants, files, broken_name : DataFrame, DataFrame, list of PlannedFile, str
        The invited regions, the participants (with their class), the planned files (sorted by name) and the
        name of the broken workbook.
    """
    regions = with_readiness(load_regions(reference_dir), rng)
    twins = frozenset(regions["region_name"][regions["region_name"].duplicated()])
    old_codes = old_papua_codes(load_papua_renumbering(reference_dir))
    invited = choose_invited(regions, rng, parameters)
    participants = assign_classes(choose_participants(invited, rng, parameters), rng, parameters)
    values = generate_values(participants, rng, parameters)
    files, broken_name = plan_files(participants, values, old_codes, twins, framework, rng, parameters)
    return invited, participants, files, broken_name


def _summary(seed: int, out_dir: Path, invitations_path: Path, broken_dir: Path, files: list[PlannedFile],
             rendered: Mapping[str, RenderedFile], broken_name: str, participants: pd.DataFrame,
             invitations: pd.DataFrame, framework: Framework, parameters: SampleParameters) -> SampleRound:
    rows = [r for f in files for r in f.rows]
    outcomes = Counter(r.outcome for r in rows)
    quarantine = {k.removeprefix("quarantine:"): v for k, v in sorted(outcomes.items())
                  if k.startswith("quarantine:")}
    if outcomes["accepted"] != parameters.n_submitted:
        raise RuntimeError(f"sample generator planned {outcomes['accepted']} accepted rows, "
                           f"expected {parameters.n_submitted}")
    return SampleRound(
        seed=seed, out_dir=out_dir, invitations_file=invitations_path, broken_dir=broken_dir,
        invited=len(invitations), submitted=len(participants), classes=parameters.classes,
        files_written=tuple(sorted([f.name for f in files] + [broken_name])),
        files_rejected_expected=(broken_name,), rows_written=len(rows),
        rows_accepted_expected=outcomes["accepted"], quarantine_expected=MappingProxyType(quarantine),
        superseded_expected=outcomes["superseded"],
        mess_counts=MappingProxyType(dict(sorted(_mess_counts(files, rendered).items()))),
        truth=_truth(files, rendered, participants, framework), invitations=invitations,
    )


def _mess_counts(files: list[PlannedFile], rendered: Mapping[str, RenderedFile]) -> Counter:
    counts: Counter = Counter()
    for f in files:
        counts["file_" + f.kind] += 1
        counts["form_" + f.form] += f.form != "plain"
        counts["batch_workbook"] += f.name.startswith("batch_")
        counts["extra_column_file"] += f.extra_column
        counts["shuffled_columns_file"] += f.shuffle_columns
        counts["omitted_optional_column"] += len(f.omit)
        counts["header_" + f.header_kind] += 1
        for row, cells in zip(f.rows, rendered[f.name].cells, strict=True):
            counts.update(row.tags)
            counts.update(t for cell in cells.values() for t in cell.tags)
            counts["resubmission"] += "revision" in row.tags or "equal_timestamp" in row.tags
    counts["rejected_file"] = 1
    return counts


def _truth(files: list[PlannedFile], rendered: Mapping[str, RenderedFile], participants: pd.DataFrame,
           framework: Framework) -> pd.DataFrame:
    """Return the values a correct cleaner obtains for each accepted row: parsed, range- and rule-checked."""
    records = []
    for f in files:
        for row, cells in zip(f.rows, rendered[f.name].cells, strict=True):
            if row.outcome != "accepted":
                continue
            record = {"region_code": row.region_code, "source_file": f.name}
            for fid in framework.field_ids(include_pii=False):
                if fid in ("region_code", "region_name", "province_name", "submission_id", "notes"):
                    continue
                cell = cells.get(fid)
                record[fid] = cell.denoted if cell is not None else None
            record["submitted_at"] = row.submitted_at if record.get("submitted_at") is not None else None
            records.append(_checked(record, framework))
    facts = participants[["region_code", "official_name", "region_type", "province_name", "readiness",
                          "population", "area_km2"]].rename(columns={"population": "population_reference",
                                                                     "area_km2": "area_km2_reference"})
    truth = pd.DataFrame(records).merge(facts, on="region_code", how="left", validate="one_to_one")
    return truth.sort_values("region_code", kind="stable").reset_index(drop=True)


def _checked(record: dict[str, Any], framework: Framework) -> dict[str, Any]:
    out = dict(record)
    for fid, spec in framework.fields.iterrows():
        value = out.get(fid)
        if isinstance(value, int | float) and not isinstance(value, bool) and not pd.isna(spec["min"]):
            if not spec["min"] <= value <= spec["max"]:
                out[fid] = None
    for rule in framework.rules:
        left, right = out.get(rule.field), out.get(rule.not_above)
        if left is not None and right is not None and left > right:
            out[rule.field] = None
    return out

