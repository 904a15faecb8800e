"""Large synthetic rounds for the benchmarks: all 514 kab/kota, each submitting many times.

A *wave* is one national round drawn the way the bundled sample round is (:mod:`~.sample_round`: latent
readiness, true values, identity written as code, dotted code, name with or without its type word, province
forms, resubmissions, junk rows for quarantine and every planted anomaly), with every region taking part.
:func:`write_scale_round` writes ``waves`` such rounds, each drawn from its own seeded generator, as one
``;``-separated Windows-1252 CSV file per wave (the rows of a wave's planned files, in their order). So a
region's later waves supersede its earlier ones, every number is drawn afresh in each wave (distinct raw
values), and the cleaner meets the same kinds of mess as in the sample. Same seed and waves, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.synthetic.cells import render_file
from smartcity_analysis.synthetic.parameters import DEFAULT_PARAMETERS, SampleParameters
from smartcity_analysis.synthetic.plan import PlannedFile
from smartcity_analysis.synthetic.sample_round import plan_round

NATIONAL = 514


@dataclass(frozen=True)
class ScaleRound:
    """What :func:`write_scale_round` wrote.

    Attributes
    ----------
    out_dir : pathlib.Path
        The submissions folder.
    files : tuple of str
        The file names written, one per wave, sorted.
    rows : int
        Data rows written, all waves together.
    """

    out_dir: Path
    files: tuple[str, ...]
    rows: int


def wave_files(seed: int, wave: int, framework: Framework, reference_dir: str | Path | None = None
               ) -> list[PlannedFile]:
    """Plan one national wave: every kab/kota takes part, drawn from generator ``(seed, wave)``."""
    parameters = national_parameters()
    rng = np.random.default_rng([seed, wave])
    return plan_round(rng, framework, parameters, reference_dir)[2]


def national_parameters() -> SampleParameters:
    """Return the sample round's parameters with all 514 kab/kota invited and taking part."""
    return replace(DEFAULT_PARAMETERS, n_invited=NATIONAL, n_submitted=NATIONAL)


def wave_csv(files: list[PlannedFile], framework: Framework, seed: int, wave: int) -> tuple[bytes, int]:
    """Render one wave's planned rows as one CSV file (mixed locale, label headers); return bytes and rows."""
    rows = tuple(replace(row, date_form=_csv_date_form(row.date_form or f.date_form))
                 for f in files for row in f.rows)
    merged = PlannedFile(name=f"wave_{wave:04d}.csv", kind="csv", rows=rows, locale="mixed",
                         header_kind="label", header_case="asis", date_form="dayfirst_time")
    rng = np.random.default_rng([seed, wave, 1])
    return render_file(merged, framework, rng, national_parameters()).payload, len(rows)


def _csv_date_form(form: str) -> str:
    """Return the date form of a CSV cell: a workbook's date cells (``excel``) become ISO date and time."""
    return "iso_time" if form == "excel" else form


def write_scale_round(out_dir: str | Path, waves: int, seed: int = 2021, framework: Framework | None = None,
                      reference_dir: str | Path | None = None) -> ScaleRound:
    """Write ``waves`` national waves of submissions (about 528 rows each) into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        The submissions folder to write (created); existing ``wave_*.csv`` files are overwritten.
    waves : int
        How many national waves: 100 waves give about 52,800 rows (514 kab/kota submitting 100 times,
        plus each wave's junk rows and resubmissions).
    seed : int
        Seed of the waves' generators.
    framework : Framework, optional
        Defaults to :func:`smartcity_analysis.config.load_framework`.
    reference_dir : str or Path, optional
        The reference tables; defaults to ``data/raw/reference``.

    Returns
    -------
    ScaleRound
    """
    framework = framework if framework is not None else load_framework()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names, total = [], 0
    for wave in range(waves):
        payload, rows = wave_csv(wave_files(seed, wave, framework, reference_dir), framework, seed, wave)
        name = f"wave_{wave:04d}.csv"
        (out_dir / name).write_bytes(payload)
        names.append(name)
        total += rows
    return ScaleRound(out_dir, tuple(names), total)
