"""The bundled second round (2022: 157 invited, 50 to select), grown from the same seeded model as 2021.

The 2021 round's latent readiness and its participants are replayed exactly as
:func:`~smartcity_analysis.synthetic.sample_round.generate_sample_round` draws them (same seed, same calls, in
the same order). Each kab/kota then progresses: its readiness moves by a draw of ``N(drift_mean, drift_sd)``,
so most improve a little and some fall back. 2022's invitations favour the regions that took part in 2021
(``returning_weight``), and more-ready regions are more likely to be invited and to take part, as in 2021; so
most of 2022's participants come back and some are new. Every field's value comes from the 2021 model
(:func:`~smartcity_analysis.synthetic.population.generate_values`) on the progressed readiness.

The files are plain: one ``;``-separated Windows-1252 CSV per region with the Indonesian labels as headers,
Indonesian decimal commas and day-first dates, no personal data and none of 2021's planted mess (the 2021
round is the cleaner's test; this one is the history's). The same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.reference import load_regions
from smartcity_analysis.synthetic.helpers import locale_number, slugify
from smartcity_analysis.synthetic.parameters import DEFAULT_PARAMETERS, SampleParameters
from smartcity_analysis.synthetic.population import (
    assign_classes,
    choose_invited,
    choose_participants,
    generate_values,
    invitation_table,
    with_readiness,
)

SECOND_ROUND_PARAMETERS = SampleParameters(
    year=2022, n_invited=157, n_submitted=94, classes=("Kelas A", "Kelas B", "Kelas C", "Kelas D"),
    panel_shift=MappingProxyType({"Kelas A": 0.0, "Kelas B": 0.0, "Kelas C": 0.0, "Kelas D": 0.0}),
    round_days=tuple(dt.date(2022, 11, d) for d in (7, 8, 9, 10)),
    revision_days=tuple(dt.date(2022, 11, d) for d in (14, 15, 16)),
    forced_codes=(),
)
# How many regions 2022 selects (DOMAIN.md: 50); the run passes it as `quota`.
SECOND_ROUND_QUOTA = 50


@dataclass(frozen=True)
class Progression:
    """How regions move between the rounds; every number a documented modelling choice.

    Attributes
    ----------
    drift_mean, drift_sd : float
        Readiness (in 2021 standard deviations) changes by ``N(drift_mean, drift_sd)``: with 0.12 and 0.2,
        about three regions in four improve, a quarter fall back.
    returning_weight : float
        A 2021 participant is this many times as likely to be invited again as a region of the same readiness
        that did not take part (regions that came once tend to come back).
    returning_turnout : float
        Likewise for taking part once invited.
    """

    drift_mean: float = 0.12
    drift_sd: float = 0.2
    returning_weight: float = 3.0
    returning_turnout: float = 2.0


@dataclass(frozen=True)
class SecondRound:
    """What :func:`generate_second_round` wrote.

    Attributes
    ----------
    seed : int
        The seed of 2022's draws (2021's are replayed with ``base_seed``).
    out_dir, invitations_file : pathlib.Path
        The submissions folder and the invitation list written beside it.
    invited, submitted : int
        Regions invited and regions that took part.
    returning, new : int
        Participants that also took part in 2021, and those that did not.
    files_written : tuple of str
        File names in ``out_dir``, sorted.
    readiness : pandas.DataFrame
        Per kab/kota: ``region_code``, ``readiness_2021``, ``readiness_2022``, ``took_part_2021``,
        ``invited_2022``, ``took_part_2022``.
    """

    seed: int
    out_dir: Path
    invitations_file: Path
    invited: int
    submitted: int
    returning: int
    new: int
    files_written: tuple[str, ...]
    readiness: pd.DataFrame = field(repr=False, compare=False)


def replay_first_round(regions: pd.DataFrame, base_seed: int = 2021,
                       parameters: SampleParameters = DEFAULT_PARAMETERS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replay the 2021 round's first draws: the latent readiness of every region and the participants.

    Returns
    -------
    regions, participants : pandas.DataFrame
        The reference regions with ``readiness`` (as in 2021), and 2021's participants.
    """
    rng = np.random.default_rng(base_seed)
    with_latent = with_readiness(regions, rng)
    invited = choose_invited(with_latent, rng, parameters)
    return with_latent, choose_participants(invited, rng, parameters)


def progress(regions: pd.DataFrame, rng: np.random.Generator, progression: Progression) -> pd.DataFrame:
    """Return the regions a round later: ``readiness_2021`` kept, ``readiness`` moved by the drift."""
    drift = rng.normal(progression.drift_mean, progression.drift_sd, len(regions))
    return regions.assign(readiness_2021=regions["readiness"], readiness=regions["readiness"] + drift)


def _weighted_choice(pool: pd.DataFrame, size: int, weight: np.ndarray, rng: np.random.Generator) -> list[int]:
    return [int(i) for i in rng.choice(pool.index, size=size, replace=False, p=weight / weight.sum())]


def choose_invited_again(regions: pd.DataFrame, returning: pd.Series, rng: np.random.Generator,
                         parameters: SampleParameters, progression: Progression) -> pd.DataFrame:
    """Invite one region per province, then more: more-ready and returning regions more often."""
    weight = np.exp(0.9 * regions["readiness"].to_numpy()) * np.where(returning, progression.returning_weight, 1.0)
    chosen: list[int] = []
    for _, members in regions.groupby("province_code", sort=True):
        chosen += _weighted_choice(members, 1, weight[members.index], rng)
    rest = regions.loc[regions.index.difference(chosen)]
    chosen += _weighted_choice(rest, parameters.n_invited - len(chosen), weight[rest.index], rng)
    return regions.loc[sorted(chosen)].reset_index(drop=True)


def choose_participants_again(invited: pd.DataFrame, returning: pd.Series, rng: np.random.Generator,
                              parameters: SampleParameters, progression: Progression) -> pd.DataFrame:
    """Choose who takes part: more-ready and returning regions more likely."""
    weight = (np.exp(0.8 * invited["readiness"].to_numpy())
              * np.where(returning, progression.returning_turnout, 1.0))
    picked = _weighted_choice(invited, parameters.n_submitted, weight, rng)
    return invited.loc[sorted(picked)].reset_index(drop=True)


def generate_second_round(out_dir: str | Path, seed: int = 2022, base_seed: int = 2021,
                          framework: Framework | None = None, reference_dir: str | Path | None = None, *,
                          invitations_path: str | Path | None = None,
                          parameters: SampleParameters = SECOND_ROUND_PARAMETERS,
                          progression: Progression | None = None) -> SecondRound:
    """Write the bundled second round: its submissions and its invitation list.

    Parameters
    ----------
    out_dir : str or Path
        The submissions folder (e.g. ``data/raw/submissions/sample-2022``); its ``.csv`` files are replaced.
    seed : int
        Seed of 2022's draws; the same seeds give byte-identical files.
    base_seed : int
        Seed of the 2021 round whose readiness and participants are replayed.
    framework : Framework, optional
        For the template's fields and labels; defaults to :func:`load_framework`.
    reference_dir : str or Path, optional
        The reference tables; defaults to ``data/raw/reference``.
    invitations_path : str or Path, optional
        Defaults to ``invitations-<year>.csv`` beside ``out_dir``.
    parameters : SampleParameters
        The round's shape (:data:`SECOND_ROUND_PARAMETERS`).
    progression : Progression, optional
        How regions move between the rounds; defaults to :class:`Progression` ().

    Returns
    -------
    SecondRound
    """
    framework = framework if framework is not None else load_framework()
    progression = progression if progression is not None else Progression()
    out_dir = Path(out_dir)
    invitations_path = Path(invitations_path) if invitations_path else (
        out_dir.parent / f"invitations-{parameters.year}.csv")
    regions, first_participants = replay_first_round(load_regions(reference_dir), base_seed)
    rng = np.random.default_rng(seed)
    regions = progress(regions, rng, progression)
    came_before = set(first_participants["region_code"])
    invited = choose_invited_again(regions, regions["region_code"].isin(came_before), rng, parameters, progression)
    participants = choose_participants_again(invited, invited["region_code"].isin(came_before), rng, parameters,
                                             progression)
    participants = assign_classes(participants, rng, parameters)
    values = generate_values(participants, rng, parameters)
    payloads = {_file_name(p): _csv_bytes(p, values.iloc[i], framework, parameters)
                for i, p in enumerate(participants.itertuples())}
    _write(out_dir, payloads)
    invitations_path.write_bytes(
        invitation_table(invited, participants).to_csv(index=False, lineterminator="\n").encode("utf-8"))
    returning = int(participants["region_code"].isin(came_before).sum())
    return SecondRound(seed, out_dir, invitations_path, len(invited), len(participants), returning,
                       len(participants) - returning, tuple(sorted(payloads)),
                       _readiness_table(regions, came_before, invited, participants))


def _readiness_table(regions: pd.DataFrame, came_before: set[str], invited: pd.DataFrame,
                     participants: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "region_code": regions["region_code"], "readiness_2021": regions["readiness_2021"],
        "readiness_2022": regions["readiness"], "took_part_2021": regions["region_code"].isin(came_before),
        "invited_2022": regions["region_code"].isin(invited["region_code"]),
        "took_part_2022": regions["region_code"].isin(participants["region_code"]),
    })


def _file_name(region: Any) -> str:
    kind = "kab" if region.region_type == "Kabupaten" else "kota"
    return f"{kind}_{slugify(region.region_name)}_2022.csv"


def _csv_bytes(region: Any, values: pd.Series, framework: Framework, parameters: SampleParameters) -> bytes:
    """One region's questionnaire as Indonesian Excel exports it: ``;``, Windows-1252, CRLF, labels as headers."""
    record: dict[str, Any] = {
        "submission_id": f"SC{parameters.year % 100}-{region.region_code}", "region_code": region.region_code,
        "region_name": region.official_name, "province_name": region.province_name,
        "assessment_year": parameters.year, "assessment_class": region.assessment_class, **values.to_dict()}
    fields = [f for f in framework.field_ids() if f in record]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([str(framework.fields.loc[f, "label_id"]) for f in fields])
    writer.writerow([_cell(record[f]) for f in fields])
    return buffer.getvalue().encode("cp1252")


def _cell(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "Ya" if value else "Tidak"
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, float | np.floating):
        # Two decimals at most in the model, so a decimal comma is never read as a thousands separator.
        return locale_number(float(value), 2, "id", grouped=False).rstrip("0").rstrip(",")
    return str(value)


def _write(out_dir: Path, payloads: Mapping[str, bytes]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out_dir.glob("*.csv")):
        stale.unlink()
    for name in sorted(payloads):
        (out_dir / name).write_bytes(payloads[name])
