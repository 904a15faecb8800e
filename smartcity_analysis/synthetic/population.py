"""The regions of the sample round: latent readiness, invitation, participation, classes and true values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from smartcity_analysis.synthetic.helpers import LIKERT_FIELDS, round_to, sigmoid, zscore
from smartcity_analysis.synthetic.parameters import SampleParameters

JAVA_PROVINCES = frozenset({"31", "32", "33", "34", "35", "36"})


PAPUA_PROVINCES = frozenset({"91", "92", "93", "94", "95", "96"})


def with_readiness(regions: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Add the latent ``readiness`` (standardised) and the drivers it is built from.

    Parameters
    ----------
    regions : pandas.DataFrame
        The reference regions (:func:`smartcity_analysis.reference.load_regions`).
    rng : numpy.random.Generator
        The round's generator.

    Returns
    -------
    pandas.DataFrame
        A copy with ``is_kota``, ``is_java``, ``is_remote_papua``, ``density`` and ``readiness``.
    """
    out = regions.copy()
    out["is_kota"] = (out["region_type"] == "Kota").astype(float)
    out["is_java"] = out["province_code"].isin(JAVA_PROVINCES).astype(float)
    papua = out["province_code"].isin(PAPUA_PROVINCES)
    out["is_remote_papua"] = (papua & (out["is_kota"] == 0)).astype(float)
    out["density"] = out["population"] / out["area_km2"]
    raw = (0.35 * zscore(np.log(out["population"])) + 0.45 * zscore(np.log(out["density"])) + 0.5 * out["is_kota"]
           + 0.35 * out["is_java"] - 1.0 * out["is_remote_papua"] + rng.normal(0.0, 0.35, len(out)))
    out["readiness"] = zscore(raw)
    return out


def choose_invited(regions: pd.DataFrame, rng: np.random.Generator,
                   parameters: SampleParameters) -> pd.DataFrame:
    """Choose the invited regions: the forced ones, one per province, then more-ready regions more often."""
    weight = np.exp(0.9 * regions["readiness"].to_numpy())
    chosen = [regions.index[regions["region_code"] == code][0] for code in parameters.forced_codes]
    for _, members in regions.groupby("province_code", sort=True):
        if not set(members.index) & set(chosen):
            w = weight[members.index]
            chosen.append(int(rng.choice(members.index, p=w / w.sum())))
    rest = regions.index.difference(chosen)
    w = weight[rest]
    extra = rng.choice(rest, size=parameters.n_invited - len(chosen), replace=False, p=w / w.sum())
    picked = sorted(set(chosen) | {int(i) for i in extra})
    return regions.loc[picked].reset_index(drop=True)


def choose_participants(invited: pd.DataFrame, rng: np.random.Generator,
                        parameters: SampleParameters) -> pd.DataFrame:
    """Choose the regions that took part; more-ready regions are more likely to."""
    forced = invited["region_code"].isin(parameters.forced_codes)
    rest = invited.index[~forced]
    w = np.exp(0.8 * invited.loc[rest, "readiness"].to_numpy())
    extra = rng.choice(rest, size=parameters.n_submitted - int(forced.sum()), replace=False, p=w / w.sum())
    picked = sorted(set(invited.index[forced]) | {int(i) for i in extra})
    return invited.loc[picked].reset_index(drop=True)


def assign_classes(participants: pd.DataFrame, rng: np.random.Generator,
                   parameters: SampleParameters) -> pd.DataFrame:
    """Split the participants evenly, at random, between the assessment classes."""
    labels = np.resize(np.array(parameters.classes), len(participants))
    return participants.assign(assessment_class=labels[rng.permutation(len(participants))])


def invitation_table(invited: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Return the invitation list: every invited region, its class if it took part (blank otherwise)."""
    classes = participants.set_index("region_code")["assessment_class"]
    return pd.DataFrame({
        "region_code": invited["region_code"],
        "official_name": invited["official_name"],
        "province_name": invited["province_name"],
        "invited": True,
        "assessment_class": invited["region_code"].map(classes),
    })


def generate_values(participants: pd.DataFrame, rng: np.random.Generator,
                    parameters: SampleParameters) -> pd.DataFrame:
    """Generate every field's true value from the latent readiness, the reference facts and noise.

    Returns
    -------
    pandas.DataFrame
        One row per participant (same order), one column per value field, plus ``submitted_at``.
    """
    n = len(participants)
    r = participants["readiness"].to_numpy()
    kota = participants["is_kota"].to_numpy()
    remote = participants["is_remote_papua"].to_numpy()
    pop_ref = participants["population"].to_numpy(dtype=float)
    big_city = ((kota == 1) & (pop_ref > 1e6)).astype(float)

    population = np.round(pop_ref * rng.normal(0.97, 0.01, n)).astype(np.int64)
    area = np.round(participants["area_km2"].to_numpy() * rng.normal(1.0, 0.002, n), 2)
    hdi = np.clip(69 + 3.5 * r + 5 * kota - 18 * remote + rng.normal(0, 1.5, n), 30, 88).round(2)
    apbd = np.clip(1.2e12 * (pop_ref / 4e5) ** 0.5 * (1 + 0.5 * big_city) * (1 + 0.08 * r)
                   * np.exp(rng.normal(0, 0.15, n)), 5e11, 1.2e13)
    pad_share = np.clip(0.07 + 0.05 * kota + 0.08 * big_city + 0.03 * r + rng.normal(0, 0.02, n), 0.02, 0.45)
    ict_share = np.clip(np.exp(np.log(0.006) + 0.35 * r + rng.normal(0, 0.25, n)), 0.002, 0.02)
    civil = np.clip(np.round(pop_ref * 0.0075 * np.exp(rng.normal(0, 0.15, n))), 100, 200000).astype(np.int64)
    ict_staff_share = np.clip(0.025 + 0.01 * r + rng.normal(0, 0.006, n), 0.01, 0.06)
    values = pd.DataFrame({
        "population": population,
        "area_km2": area,
        "hdi": hdi,
        "apbd_total_idr": round_to(apbd, 1e6),
        "pad_idr": round_to(apbd * pad_share, 1e6),
        "ict_budget_idr": round_to(apbd * ict_share, 1e6),
        "civil_servants": civil,
        "ict_civil_servants": np.round(civil * ict_staff_share).astype(np.int64),
        "households_internet_pct": np.clip(60 + 10 * r + 8 * kota - 25 * remote + rng.normal(0, 4, n),
                                           3, 98).round(1),
        "opd_connected_pct": np.clip(65 + 12 * r + rng.normal(0, 8, n), 5, 100).round(1),
        "has_data_center": rng.random(n) < sigmoid(0.3 + 1.5 * r),
        "has_command_center": rng.random(n) < sigmoid(-0.3 + 1.7 * r + 0.8 * kota),
        "public_service_apps": rng.poisson(np.exp(3 + 0.5 * r + 0.3 * kota)),
    })
    shift = participants["assessment_class"].map(parameters.panel_shift).to_numpy(dtype=float)
    for name in LIKERT_FIELDS:
        score = 2.8 + 0.75 * r + shift + rng.normal(0, 0.5, n)
        values[name] = np.clip(np.round(score), 1, 5).astype(np.int64)
    values["fiscal_capacity"] = _fiscal_class(values["apbd_total_idr"], pad_share)
    regulation = r + rng.normal(0, 0.6, n)
    values["smart_city_regulation"] = np.select([regulation < -0.4, regulation < 0.6],
                                                ["tidak ada", "draf"], "ditetapkan")
    values["has_smart_city_council"] = rng.random(n) < sigmoid(0.2 + 1.5 * r)
    values["has_spbe_architecture"] = rng.random(n) < sigmoid(0.5 + 1.3 * r)
    values["spbe_index"] = np.clip(2.3 + 0.7 * r + rng.normal(0, 0.3, n), 0.5, 4.8).round(2)
    values["submitted_at"] = _submission_times(rng, n, parameters.round_days)
    return values


def _fiscal_class(apbd: pd.Series, pad_share: np.ndarray) -> np.ndarray:
    score = 0.6 * zscore(np.log(apbd.to_numpy(dtype=float))) + 0.4 * zscore(pd.Series(pad_share)).to_numpy()
    return np.select([score < -1.0, score < -0.35, score < 0.35, score < 1.0],
                     ["sangat rendah", "rendah", "sedang", "tinggi"], "sangat tinggi")


def _submission_times(rng: np.random.Generator, n: int, days: tuple[dt.date, ...]) -> list[dt.datetime]:
    day = rng.integers(0, len(days), n)
    minute = rng.integers(8 * 60, 17 * 60, n)
    return [dt.datetime.combine(days[d], dt.time(int(m) // 60, int(m) % 60)) for d, m in zip(day, minute,
                                                                                                 strict=True)]

