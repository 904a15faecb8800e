"""Rounds of chosen shapes, for the tests and benchmarks that run the whole job on rounds unlike the sample.

Real rounds differ from the bundled sample: a handful of regions or all 514, one class, no assessor scores
yet, columns nobody filled, several years in one folder, English headers. :func:`write_round` writes a folder
of submissions of one :class:`RoundShape`, with values from the same model as the sample
(:func:`~smartcity_analysis.synthetic.population.generate_values`) but typed cleanly, so that each shape tests
one departure at a time. It returns what a correct run must find.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.reference import load_regions
from smartcity_analysis.synthetic.helpers import LIKERT_FIELDS
from smartcity_analysis.synthetic.parameters import SampleParameters
from smartcity_analysis.synthetic.population import assign_classes, generate_values, with_readiness

ASSESSOR_FIELDS = LIKERT_FIELDS
DENOMINATOR_FIELDS = ("population", "area_km2")


@dataclass(frozen=True)
class RoundShape:
    """The shape of a synthetic round.

    Attributes
    ----------
    name : str
        A short name, used in test ids.
    n_regions : int
        Regions taking part (in the first year).
    classes : tuple of str
        Assessment classes; regions are split evenly between them.
    years : tuple of int
        Assessment years in the folder: every region in the first, ``repeat_share`` of them again in each
        later one (a newer file per region and year).
    repeat_share : float
        Share of the regions assessed again in each later year.
    blank_fields : tuple of str
        Columns present in the files but left empty by every region.
    dropped_fields : tuple of str
        Columns absent from the files.
    constant_fields : Mapping
        Columns every region fills with the same value.
    header : {"id", "label_en", "label_id"}
        Header row: field ids, English labels or Indonesian labels.
    junk_rows : int
        Extra rows naming no known region (they must be quarantined).
    region_type : {None, "Kota", "Kabupaten"}
        Only regions of this type take part, when given.
    blank_regions : int
        Regions (the first ones) whose assessed values are all left empty.
    panel_shift : Mapping
        Points added to the assessor scores of a class (a lenient panel).
    """

    name: str
    n_regions: int = 12
    classes: tuple[str, ...] = ("Kelas A", "Kelas B")
    years: tuple[int, ...] = (2021,)
    repeat_share: float = 0.7
    blank_fields: tuple[str, ...] = ()
    dropped_fields: tuple[str, ...] = ()
    constant_fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    header: str = "id"
    junk_rows: int = 0
    region_type: str | None = None
    blank_regions: int = 0
    panel_shift: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class WrittenRound:
    """What :func:`write_round` wrote and what a correct run must find.

    Attributes
    ----------
    shape : RoundShape
        The shape written.
    folder : pathlib.Path
        The submissions folder.
    files : tuple of str
        File names written.
    codes_by_year : Mapping
        Year -> the region codes assessed that year, sorted.
    rows_written : int
        Data rows in all files.
    junk_rows : int
        Rows that must be quarantined.
    """

    shape: RoundShape
    folder: Path
    files: tuple[str, ...]
    codes_by_year: Mapping[int, tuple[str, ...]]
    rows_written: int
    junk_rows: int

    @property
    def latest_year(self) -> int:
        """The latest assessment year in the folder (what a run uses by default)."""
        return max(self.codes_by_year)


def write_round(folder: str | Path, shape: RoundShape, seed: int = 2021, framework: Framework | None = None,
                reference_dir: str | Path | None = None) -> WrittenRound:
    """Write a round of ``shape`` as one UTF-8 CSV file per year, plus one for the junk rows.

    Parameters
    ----------
    folder : str or Path
        The submissions folder to create (must not hold other submissions).
    shape : RoundShape
        What the round looks like.
    seed : int
        Seed of the one random generator; the same seed gives the same files.
    framework : Framework, optional
        Defaults to ``config/framework.yaml``.
    reference_dir : str or Path, optional
        The reference tables; defaults to ``data/raw/reference``.

    Returns
    -------
    WrittenRound
    """
    framework = framework if framework is not None else load_framework()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    participants = _participants(load_regions(reference_dir), shape, rng)
    columns = [f for f in framework.field_ids() if f not in shape.dropped_fields]
    files, codes_by_year, rows_written = [], {}, 0
    for position, year in enumerate(shape.years):
        members = participants if position == 0 else participants.iloc[
            np.sort(rng.choice(len(participants), size=max(1, round(shape.repeat_share * len(participants))),
                               replace=False))].reset_index(drop=True)
        records = _records(members, year, shape, rng)
        name = f"round_{shape.name}_{year}.csv"
        (folder / name).write_bytes(_csv_bytes(records, columns, framework, shape.header))
        files.append(name)
        codes_by_year[year] = tuple(sorted(members["region_code"]))
        rows_written += len(records)
    if shape.junk_rows:
        junk = [_junk_record(k, shape) for k in range(shape.junk_rows)]
        (folder / f"round_{shape.name}_junk.csv").write_bytes(_csv_bytes(junk, columns, framework, shape.header))
        files.append(f"round_{shape.name}_junk.csv")
        rows_written += len(junk)
    return WrittenRound(shape, folder, tuple(files), MappingProxyType(codes_by_year), rows_written,
                        shape.junk_rows)


def _participants(regions: pd.DataFrame, shape: RoundShape, rng: np.random.Generator) -> pd.DataFrame:
    regions = with_readiness(regions, rng)
    if shape.region_type is not None:
        regions = regions[regions["region_type"] == shape.region_type].reset_index(drop=True)
    picked = np.sort(rng.choice(len(regions), size=shape.n_regions, replace=False))
    parameters = SampleParameters(classes=shape.classes)
    return assign_classes(regions.iloc[picked].reset_index(drop=True), rng, parameters)


def _records(members: pd.DataFrame, year: int, shape: RoundShape, rng: np.random.Generator) -> list[dict]:
    days = tuple(dt.date(year, 11, d) for d in (8, 9, 10, 11))
    shift = {c: float(shape.panel_shift.get(c, 0.0)) for c in shape.classes}
    parameters = SampleParameters(year=year, classes=shape.classes, panel_shift=MappingProxyType(shift),
                                  round_days=days)
    values = generate_values(members, rng, parameters)
    records = []
    for i, region in enumerate(members.itertuples()):
        record = {"region_code": region.region_code, "region_name": region.official_name,
                  "province_name": region.province_name, "assessment_year": year,
                  "assessment_class": region.assessment_class,
                  "respondent_name": f"Petugas Uji {i + 1}", "respondent_phone": f"0812000{i:05d}",
                  **values.iloc[i].to_dict()}
        for name in shape.blank_fields:
            record[name] = None
        record.update(dict(shape.constant_fields))
        if i < shape.blank_regions:
            record = {k: (v if k in _IDENTITY else None) for k, v in record.items()}
        records.append(record)
    return records


_IDENTITY = frozenset({"region_code", "region_name", "province_name", "assessment_year", "assessment_class",
                       "submitted_at", "respondent_name", "respondent_phone"})


def _junk_record(k: int, shape: RoundShape) -> dict:
    return {"region_code": f"99{k:02d}", "region_name": f"Kota Contoh Pengisian {k + 1}",
            "assessment_year": shape.years[-1], "assessment_class": shape.classes[0]}


def _csv_bytes(records: list[dict], columns: list[str], framework: Framework, header: str) -> bytes:
    labels = {f: (f if header == "id" else str(framework.fields.loc[f, header])) for f in columns}
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", lineterminator="\r\n")
    writer.writerow([labels[c] for c in columns])
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "Ya" if value else "Tidak"
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def shape_matrix() -> tuple[RoundShape, ...]:
    """Return the round shapes every end-to-end check runs: each one departure from a plain round."""
    plain = RoundShape("plain")
    return (
        replace(plain, name="one_region", n_regions=1, classes=("Kelas A",)),
        replace(plain, name="two_regions", n_regions=2),
        replace(plain, name="five_regions", n_regions=5),
        replace(plain, name="one_class", n_regions=20, classes=("Kelas A",)),
        replace(plain, name="no_assessor_scores", n_regions=15, blank_fields=ASSESSOR_FIELDS),
        replace(plain, name="no_population_or_area", n_regions=15, blank_fields=DENOMINATOR_FIELDS),
        replace(plain, name="columns_missing", n_regions=15, dropped_fields=("population", "area_km2",
                                                                                "spbe_index", "notes")),
        replace(plain, name="constant_columns", n_regions=15,
                constant_fields=MappingProxyType({"has_data_center": True, "spbe_index": 2.5})),
        replace(plain, name="several_years", n_regions=14, years=(2021, 2022)),
        replace(plain, name="half_quarantined", n_regions=8, junk_rows=8),
        replace(plain, name="english_headers", n_regions=10, header="label_en"),
        replace(plain, name="only_kota", n_regions=10, region_type="Kota"),
        replace(plain, name="blank_region", n_regions=10, blank_regions=1),
        replace(plain, name="small_classes", n_regions=9, classes=("Kelas A", "Kelas B", "Kelas C", "Kelas D"),
                panel_shift=MappingProxyType({"Kelas C": 0.5})),
    )
