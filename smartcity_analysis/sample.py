"""Generate the bundled sample round: seeded, realistic and messy submissions of the November 2021 round.

The generator invites 150 real kab/kota from the reference table, lets 88 of them take part in four assessment
classes, derives every template field from a latent readiness built on reference facts (population, density,
Kota vs Kabupaten, Java, remote Papua), then writes the answers the way regions really send them: Excel
workbooks with an instructions sheet and ``;``-separated Windows-1252 CSV, with every kind of mess listed in
``DOMAIN.md`` planted a known number of times. The :class:`SampleRound` it returns states what a correct
cleaner must find (rows, quarantine reasons, superseded rows, rejected files); ``docs/sample_round.md``
documents the design.

Output is byte-identical for the same seed: one ``numpy.random.default_rng(seed)`` drives every choice, and
workbooks carry fixed timestamps inside and in their zip entries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook

from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.reference import load_papua_renumbering, load_regions

# --- Parameters of the round --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleParameters:
    """What the sample round looks like; every number is a documented modelling choice.

    Attributes
    ----------
    year : int
        Assessment year of the round.
    n_invited, n_submitted : int
        Regions invited and regions that took part (the November 2021 round: 150 and 88).
    classes : tuple of str
        The assessment classes (parallel sittings); participants are split evenly between them.
    panel_shift : Mapping
        Shift added to every likert score (before rounding) by the panel of a class: a lenient panel.
    round_days : tuple of datetime.date
        The four days the round ran; first submissions are dated on one of them.
    revision_days : tuple of datetime.date
        Days on which revised files arrive, after the interviews.
    forced_codes : tuple of str
        Regions always invited and taking part, because the planted identity mess needs them.
    """

    year: int = 2021
    n_invited: int = 150
    n_submitted: int = 88
    classes: tuple[str, ...] = ("Kelas A", "Kelas B", "Kelas C", "Kelas D")
    panel_shift: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {"Kelas A": 0.0, "Kelas B": 0.0, "Kelas C": 0.3, "Kelas D": 0.0})
    )
    round_days: tuple[dt.date, ...] = tuple(dt.date(2021, 11, d) for d in (8, 9, 10, 11))
    revision_days: tuple[dt.date, ...] = tuple(dt.date(2021, 11, d) for d in (15, 16, 17, 18, 19))
    forced_codes: tuple[str, ...] = (
        "3273", "3204", "2172", "7472", "9203", "1212", "9301", "9404", "9501", "9671", "3404",
    )


DEFAULT_PARAMETERS = SampleParameters()

JAVA_PROVINCES = frozenset({"31", "32", "33", "34", "35", "36"})
PAPUA_PROVINCES = frozenset({"91", "92", "93", "94", "95", "96"})
LIKERT_FIELDS = ("leadership_score", "governance_score", "infrastructure_score", "regulation_score",
                 "dim_governance", "dim_branding", "dim_economy", "dim_living", "dim_society",
                 "dim_environment")
VALUE_GROUPS = ("context", "struktur", "infrastruktur", "suprastruktur", "dimension")

# Spelling variants, a renamed region and pre-2022 Papua codes, keyed by the current region code.
SPELLING_VARIANTS = MappingProxyType(
    {"2172": "Kota Tanjungpinang", "7472": "Baubau", "9203": "Kabupaten Fakfak"})
RENAMED = MappingProxyType({"1212": "Kabupaten Toba Samosir"})
OLD_PROVINCE_NAMES = MappingProxyType({"93": "Papua", "94": "Papua", "95": "Papua", "96": "Papua Barat"})
PAPUA_OLD_CODE_FORMS = MappingProxyType({"9301": "{c}", "9404": "{d}", "9501": "{c}", "9671": "{f}"})

HOSTILE_NOTES = ('<script>alert(1)</script>', '=HYPERLINK("http://x","klik")', "=1+1",
                 '<img src=x onerror=alert(document.cookie)>')
BENIGN_NOTES = ("Data per Desember 2020", "Sumber: BPS dan Bappeda", "Angka sementara, menunggu APBD-P",
                "Sudah dikoordinasikan dengan tim (lihat résumé rapat)", "Luas wilayah dalam km² menurut BIG",
                "Diisi oleh Diskominfo", "Dokumen pendukung dikirim lewat e-mail")
MISSING_MARKERS = ("", "-", "n/a", "tidak tersedia", "belum ada data")
FIRST_NAMES = ("Agus", "Budi", "Dewi", "Siti", "Rina", "Andi", "Yusuf", "Fitri", "Hendra", "Wahyu", "Putu",
               "Made", "Nur", "Ratna", "Joko", "Sri", "Fransiskus", "Maria", "Teguh", "Lestari")
LAST_NAMES = ("Santoso", "Wijaya", "Lestari", "Hidayat", "Saputra", "Pratama", "Nugroho", "Siregar",
              "Harahap", "Rahmawati", "Setiawan", "Kurniawan", "Wibowo", "Simanjuntak", "Tanjung", "Mahuze")
PHONE_PREFIXES = ("0812", "0813", "0821", "0852", "0856", "0857", "0877", "0878", "0811", "0895")
INDONESIAN_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                     "Oktober", "November", "Desember")

QUARANTINE_ROWS = (
    # (reason, region_code cell, region_name cell, story)
    ("ambiguous_region", None, "Bandung", "duplicate junk row: bare twin name, no code"),
    ("ambiguous_region", None, "MALANG", "bare twin name, no code"),
    ("region_conflict", "3578", "Kota Malang", "code of Kota Surabaya, name of Kota Malang"),
    ("region_conflict", "32.73", "Kabupaten Sleman", "code of Kota Bandung, name of Kabupaten Sleman"),
    ("missing_region", None, None, "contoh pengisian: no code, no name"),
    ("missing_region", "-", "", "no code, no name"),
    ("unknown_region", None, "Kabupaten Antah Berantah", "test row: a name matching nothing"),
    ("unknown_region", "99.99", "Kota Contoh Pengisian", "test row: unknown code and name"),
)


# --- The result ---------------------------------------------------------------------------------------------


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


# --- Internal records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    """One written cell: its value, the mess it carries, and what a correct parser reads from it."""

    value: Any
    tags: tuple[str, ...] = ()
    denoted: Any = None
    number_format: str | None = None


@dataclass(frozen=True)
class _Row:
    """A planned data row: the region it speaks for, its true values, what the cleaner should do with it."""

    region_code: str | None
    values: Mapping[str, Any]
    outcome: str  # "accepted", "superseded" or "quarantine:<reason>"
    identity: tuple[Any, Any]  # (region_code cell, region_name cell), already rendered
    province: str | None
    submitted_at: dt.datetime | None
    date_form: str | None = None
    anomaly: str | None = None
    note: str | None = None
    missing: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class _File:
    """A planned submission file with its presentation style."""

    name: str
    kind: str  # "xlsx" or "csv"
    rows: tuple[_Row, ...]
    locale: str  # "id", "en" or "mixed"
    header_kind: str  # "id" or "label"
    header_case: str  # "asis", "lower", "upper" or "title"
    omit: tuple[str, ...] = ()
    extra_column: bool = False
    shuffle_columns: bool = False
    date_form: str = "iso"
    boolean_words: tuple[str, str] = ("Ya", "Tidak")


# --- Public entry point -------------------------------------------------------------------------------------


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
        The submissions folder (e.g. ``data/raw/submissions/sample-2021``). The generator owns it: ``.xlsx``
        and ``.csv`` files already at its top level are removed first, so a regeneration leaves no stale file.
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

    regions = with_readiness(load_regions(reference_dir), rng)
    twins = frozenset(regions["region_name"][regions["region_name"].duplicated()])
    old_codes = _old_papua_codes(load_papua_renumbering(reference_dir))
    invited = choose_invited(regions, rng, parameters)
    participants = assign_classes(choose_participants(invited, rng, parameters), rng, parameters)
    values = generate_values(participants, rng, parameters)
    files, broken_name = _plan_files(participants, values, old_codes, twins, framework, rng, parameters)
    rendered = {f.name: _render_file(f, framework, rng, parameters) for f in files}
    source = next(f for f in files if f.name == _broken_source(files, broken_name))
    broken = _render_file(replace(source, name=broken_name, kind="xlsx"), framework, rng, parameters).payload
    payloads = {name: r.payload for name, r in rendered.items()} | {broken_name: broken[: len(broken) // 2]}

    _write_payloads(out_dir, payloads)
    invitations = invitation_table(invited, participants)
    invitations_path.parent.mkdir(parents=True, exist_ok=True)
    invitations_path.write_bytes(invitations.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    _write_broken_examples(broken_dir)
    return _summary(seed, out_dir, invitations_path, broken_dir, files, rendered, broken_name, participants,
                    invitations, framework, parameters)


# --- Regions: readiness, invitation, participation, classes ------------------------------------------------


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
    raw = (0.35 * _z(np.log(out["population"])) + 0.45 * _z(np.log(out["density"])) + 0.5 * out["is_kota"]
           + 0.35 * out["is_java"] - 1.0 * out["is_remote_papua"] + rng.normal(0.0, 0.35, len(out)))
    out["readiness"] = _z(raw)
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


# --- True values --------------------------------------------------------------------------------------------


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
        "apbd_total_idr": _round_to(apbd, 1e6),
        "pad_idr": _round_to(apbd * pad_share, 1e6),
        "ict_budget_idr": _round_to(apbd * ict_share, 1e6),
        "civil_servants": civil,
        "ict_civil_servants": np.round(civil * ict_staff_share).astype(np.int64),
        "households_internet_pct": np.clip(60 + 10 * r + 8 * kota - 25 * remote + rng.normal(0, 4, n),
                                           3, 98).round(1),
        "opd_connected_pct": np.clip(65 + 12 * r + rng.normal(0, 8, n), 5, 100).round(1),
        "has_data_center": rng.random(n) < _sigmoid(0.3 + 1.5 * r),
        "has_command_center": rng.random(n) < _sigmoid(-0.3 + 1.7 * r + 0.8 * kota),
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
    values["has_smart_city_council"] = rng.random(n) < _sigmoid(0.2 + 1.5 * r)
    values["has_spbe_architecture"] = rng.random(n) < _sigmoid(0.5 + 1.3 * r)
    values["spbe_index"] = np.clip(2.3 + 0.7 * r + rng.normal(0, 0.3, n), 0.5, 4.8).round(2)
    values["submitted_at"] = _submission_times(rng, n, parameters.round_days)
    return values


def _fiscal_class(apbd: pd.Series, pad_share: np.ndarray) -> np.ndarray:
    score = 0.6 * _z(np.log(apbd.to_numpy(dtype=float))) + 0.4 * _z(pd.Series(pad_share)).to_numpy()
    return np.select([score < -1.0, score < -0.35, score < 0.35, score < 1.0],
                     ["sangat rendah", "rendah", "sedang", "tinggi"], "sangat tinggi")


def _submission_times(rng: np.random.Generator, n: int, days: tuple[dt.date, ...]) -> list[dt.datetime]:
    day = rng.integers(0, len(days), n)
    minute = rng.integers(8 * 60, 17 * 60, n)
    return [dt.datetime.combine(days[d], dt.time(int(m) // 60, int(m) % 60)) for d, m in zip(day, minute,
                                                                                                 strict=True)]


# --- Planning rows and files --------------------------------------------------------------------------------


def _plan_files(participants: pd.DataFrame, values: pd.DataFrame, old_codes: Mapping[str, str],
                twins: frozenset[str], framework: Framework, rng: np.random.Generator,
                parameters: SampleParameters) -> tuple[list[_File], str]:
    """Decide the rows, the files carrying them, resubmissions, junk rows and planted anomalies."""
    values = values.assign(assessment_class=participants["assessment_class"].to_numpy())
    rows = {code: _base_row(p, values.iloc[i], old_codes, twins, rng)
            for i, (code, p) in enumerate(zip(participants["region_code"], participants.itertuples(),
                                              strict=True))}
    regular = [c for c in participants["region_code"] if c not in parameters.forced_codes]
    batches = _batch_groups(participants, parameters)
    in_batch = {c for members in batches.values() for c in members}
    singles = [c for c in participants["region_code"] if c not in in_batch]
    resubmitters = ["3404", *[c for c in rng.permutation(regular) if c not in {"3404"}][:5]]
    files = [_batch_file(slug, [rows[c] for c in members], rng) for slug, members in batches.items()]
    files += [_single_file(participants, rows[c], rng) for c in singles]
    files = _add_resubmissions(files, rows, resubmitters, participants, rng, parameters)
    files = _add_junk_rows(files, values, rng)
    files = _plant_anomalies(files, resubmitters, framework, rng)
    files = _mark_layouts(files, rng)
    broken_source = next(f for f in files if f.kind == "csv" and len(f.rows) == 1
                         and f.rows[0].region_code not in resubmitters
                         and f.rows[0].region_code not in parameters.forced_codes)
    broken_name = broken_source.name.removesuffix(".csv") + "_rusak.xlsx"
    _check_unique([f.name for f in files] + [broken_name])
    return sorted(files, key=lambda f: f.name), broken_name


def _base_row(region: Any, value_row: pd.Series, old_codes: Mapping[str, str], twins: frozenset[str],
              rng: np.random.Generator) -> _Row:
    values = {k: v for k, v in value_row.items() if k != "submitted_at"}
    identity, tags = _identity(region, old_codes, twins, rng)
    province = OLD_PROVINCE_NAMES.get(region.province_code, region.province_name) if (
        region.region_code in old_codes.values()) else _province_form(region.province_name, rng)
    return _Row(region_code=region.region_code, values=MappingProxyType(values), outcome="accepted",
                identity=identity, province=province, submitted_at=value_row["submitted_at"], tags=tags)


def _identity(region: Any, old_codes: Mapping[str, str], twins: frozenset[str],
              rng: np.random.Generator) -> tuple[tuple, tuple]:
    """Return the (code cell, name cell) a region writes for itself, and the identity mess it carries."""
    code, name = region.region_code, region.region_name
    type_word = "Kab." if region.region_type == "Kabupaten" else "Kota"
    if code in PAPUA_OLD_CODE_FORMS:
        old = {v: k for k, v in old_codes.items()}[code]
        form = PAPUA_OLD_CODE_FORMS[code].format(c=old, d=f"{old[:2]}.{old[2:]}", f=f"{old}.0")
        return (form, region.official_name), ("papua_old_code",)
    special = {
        "3273": ((int(code), name), ("bare_twin_with_code",)),
        "3204": ((None, "Kab. Bandung"), ("name_only", "type_abbreviation")),
        "2172": ((None, SPELLING_VARIANTS.get(code)), ("name_only", "spelling_variant")),
        "7472": ((_dotted(code), SPELLING_VARIANTS.get(code)), ("spelling_variant", "code_dotted")),
        "9203": ((code, SPELLING_VARIANTS.get(code)), ("spelling_variant",)),
        "1212": ((_dotted(code), RENAMED.get(code)), ("renamed_region", "code_dotted")),
    }
    if code in special:
        return special[code]
    code_form = ("plain", "dotted", "float", "none")[rng.choice(4, p=[0.45, 0.3, 0.15, 0.1])]
    name_form = ("official", "abbrev", "upper", "bare")[rng.choice(4, p=[0.4, 0.3, 0.1, 0.2])]
    code_cell = {"plain": code, "dotted": _dotted(code), "float": f"{code}.0", "none": None}[code_form]
    names = {"official": region.official_name, "abbrev": f"{type_word} {name}",
             "upper": region.official_name.upper(), "bare": name}
    tags = {"dotted": ("code_dotted",), "float": ("code_float",), "none": ("name_only",)}.get(code_form, ())
    if name_form == "abbrev" and type_word == "Kab.":
        tags += ("type_abbreviation",)
    if name_form == "bare" and code_form == "none":
        name_form = "official"
    if name_form == "bare" and name in twins:
        tags += ("bare_twin_with_code",)
    return (code_cell, names[name_form]), tags


def _province_form(province: str, rng: np.random.Generator) -> str:
    return (province, province.upper(), f"Prov. {province}")[rng.choice(3, p=[0.7, 0.2, 0.1])]


def _batch_groups(participants: pd.DataFrame, parameters: SampleParameters) -> dict[str, list[str]]:
    """Three province offices send one workbook each for their regions (the forced regions send their own)."""
    regular = participants[~participants["region_code"].isin(parameters.forced_codes)]
    counts = regular.groupby("province_code", sort=True).size().sort_values(ascending=False, kind="stable")
    groups = {}
    for province_code in counts.index[:3]:
        members = regular[regular["province_code"] == province_code]
        groups[_slug(members["province_name"].iloc[0])] = list(members["region_code"])
    return groups


def _batch_file(slug: str, rows: list[_Row], rng: np.random.Generator) -> _File:
    order = rng.permutation(len(rows))
    return _File(name=f"batch_{slug}_2021.xlsx", kind="xlsx", rows=tuple(rows[i] for i in order),
                 **_file_style("xlsx", rng))


def _single_file(participants: pd.DataFrame, row: _Row, rng: np.random.Generator) -> _File:
    kind = "xlsx" if row.region_code == "3273" or rng.random() < 0.5 else "csv"
    stem = _region_stem(participants, row.region_code)
    letter = str(row.values["assessment_class"])[-1]
    pattern = int(rng.choice(3)) if row.region_code != "3273" else 0
    name = (f"kelas{letter}_{stem}", stem, f"form_smartcity_{stem}")[pattern] + f".{kind}"
    return _File(name=name, kind=kind, rows=(row,), **_file_style(kind, rng))


def _file_style(kind: str, rng: np.random.Generator) -> dict[str, Any]:
    booleans = [("Ya", "Tidak"), ("Ada", "Tidak ada"), ("Sudah", "Belum"), ("Y", "T"), ("1", "0")]
    booleans.append(("✓", "✗") if kind == "xlsx" else ("V", "Tidak"))
    dates = ["iso", "iso_time", "dayfirst", "dayfirst_time", "month_name"] + (["excel"] * 3 if kind == "xlsx"
                                                                               else [])
    omit = tuple(name for name, p in (("submission_id", 0.4), ("notes", 0.2)) if rng.random() < p)
    return {
        "locale": ("id", "en", "mixed")[rng.choice(3, p=[0.45, 0.2, 0.35])],
        "header_kind": ("id", "label")[rng.choice(2)],
        "header_case": ("asis", "lower", "upper", "title")[rng.choice(4, p=[0.5, 0.2, 0.15, 0.15])],
        "omit": omit,
        "date_form": dates[rng.choice(len(dates))],
        "boolean_words": booleans[rng.choice(len(booleans))],
    }


def _add_resubmissions(files: list[_File], rows: Mapping[str, _Row], resubmitters: list[str],
                       participants: pd.DataFrame, rng: np.random.Generator,
                       parameters: SampleParameters) -> list[_File]:
    """Six regions send a second file.

    Four send a later-dated revision; one sends a dated revision of an undated original; one re-sends the same
    form (same timestamp, same values) in the other format, so either row may win and the values agree.
    """
    out = list(files)
    for k, code in enumerate(resubmitters):
        original = rows[code]
        index = next(i for i, f in enumerate(out) if any(r is original for r in f.rows))
        home = out[index]
        stem = home.name.rsplit(".", 1)[0] if len(home.rows) == 1 else _region_stem(participants, code)
        if k == 5:
            kind = "csv" if home.kind == "xlsx" else "xlsx"
            superseded = replace(original, outcome="superseded", date_form="iso_time")
            out[index] = _swap_row(home, original, superseded)
            second = replace(original, tags=original.tags + ("equal_timestamp",), date_form="dayfirst_time")
            out.append(_File(name=f"{stem}_kirim_ulang.{kind}", kind=kind, rows=(second,),
                             **_file_style(kind, rng)))
            continue
        undated = k == 4
        out[index] = _swap_row(home, original, replace(
            original, outcome="superseded", submitted_at=None if undated else original.submitted_at))
        kind = "csv" if code == "3404" else ("xlsx", "csv")[rng.choice(2)]
        out.append(_File(name=f"{stem}_revisi.{kind}", kind=kind, rows=(_revise(original, rng, parameters),),
                         **_file_style(kind, rng)))
    return out


def _region_stem(participants: pd.DataFrame, code: str) -> str:
    region = participants.set_index("region_code").loc[code]
    type_word = "kab" if region["region_type"] == "Kabupaten" else "kota"
    return f"{type_word}_{_slug(region['region_name'])}"


def _revise(row: _Row, rng: np.random.Generator, parameters: SampleParameters) -> _Row:
    values = dict(row.values)
    for name in rng.choice(LIKERT_FIELDS, size=2, replace=False):
        values[str(name)] = int(min(5, values[str(name)] + 1))
    values["ict_budget_idr"] = int(_round_to(np.array([values["ict_budget_idr"] * 1.15]), 1e6)[0])
    day = parameters.revision_days[int(rng.integers(0, len(parameters.revision_days)))]
    when = dt.datetime.combine(day, dt.time(int(rng.integers(8, 17)), int(rng.integers(0, 60))))
    return replace(row, values=MappingProxyType(values), submitted_at=when, outcome="accepted",
                   note="Revisi setelah wawancara", tags=row.tags + ("revision",))


def _swap_row(file: _File, old: _Row, new: _Row) -> _File:
    return replace(file, rows=tuple(new if r is old else r for r in file.rows))


def _add_junk_rows(files: list[_File], values: pd.DataFrame, rng: np.random.Generator) -> list[_File]:
    """Append the rows that must end in quarantine, spread over the batch workbooks and two single files."""
    batch_idx = [i for i, f in enumerate(files) if f.name.startswith("batch_")]
    single_idx = [i for i, f in enumerate(files) if len(f.rows) == 1 and not f.name.endswith(
        ("_revisi.csv", "_revisi.xlsx"))]
    hosts = batch_idx + [single_idx[int(j)] for j in rng.choice(len(single_idx), size=2, replace=False)]
    out = list(files)
    for k, (reason, code, name, story) in enumerate(QUARANTINE_ROWS):
        donor = values.iloc[int(rng.integers(0, len(values)))]
        row = _Row(region_code=None, values=MappingProxyType(
            {c: v for c, v in donor.items() if c != "submitted_at"}),
            outcome=f"quarantine:{reason}", identity=(code, name), province=None,
            submitted_at=donor["submitted_at"], note=story if reason.startswith("missing") else None,
            tags=(reason,))
        i = hosts[k % len(hosts)]
        position = int(rng.integers(0, len(out[i].rows) + 1))
        out[i] = replace(out[i], rows=out[i].rows[:position] + (row,) + out[i].rows[position:])
    return out


ANOMALIES = (
    # (name, rows, only in xlsx, the fields it may hit)
    ("apbd_juta_slip", 3, False, ("apbd_total_idr",)),
    ("likert_out_of_range", 3, False, LIKERT_FIELDS),
    ("hdi_out_of_range", 2, False, ("hdi",)),
    ("percent_out_of_range", 2, False, ("opd_connected_pct", "households_internet_pct")),
    ("pad_above_apbd", 2, False, ("pad_idr",)),
    ("ict_staff_above_staff", 2, False, ("ict_civil_servants",)),
    ("percent_fraction", 3, False, ("households_internet_pct",)),
    ("excel_percent_cell", 2, True, ("households_internet_pct", "opd_connected_pct")),
    ("in_progress_word", 3, False, ("has_spbe_architecture", "has_smart_city_council")),
    ("regulation_in_penyusunan", 2, False, ("smart_city_regulation",)),
)


def _plant_anomalies(files: list[_File], resubmitters: list[str], framework: Framework,
                     rng: np.random.Generator) -> list[_File]:
    """Give chosen accepted rows one planted anomaly each, plus missing markers, hostile and benign notes."""
    slots = [(i, j) for i, f in enumerate(files) for j, r in enumerate(f.rows)
             if r.outcome == "accepted" and r.region_code not in resubmitters]
    order = [slots[int(k)] for k in rng.permutation(len(slots))]
    out = [list(f.rows) for f in files]
    used: set[tuple[int, int]] = set()
    for name, count, xlsx_only, targets in ANOMALIES:
        free = [s for s in order if s not in used and (not xlsx_only or files[s[0]].kind == "xlsx")]
        for i, j in free[:count]:
            out[i][j] = replace(out[i][j], anomaly=f"{name}:{targets[int(rng.integers(0, len(targets)))]}")
            used.add((i, j))
    value_fields = list(framework.fields.index[framework.fields["group"].isin(VALUE_GROUPS)])
    free = [s for s in order if s not in used]
    for k, marker in enumerate(np.repeat(MISSING_MARKERS, 3)):
        i, j = free[k]
        column = value_fields[int(rng.integers(0, len(value_fields)))]
        out[i][j] = replace(out[i][j], missing=out[i][j].missing + ((column, str(marker)),))
    with_notes = [s for s in order if "notes" not in files[s[0]].omit]
    for k, note in enumerate(HOSTILE_NOTES * 2 + BENIGN_NOTES):
        i, j = with_notes[k]
        out[i][j] = replace(out[i][j], note=note)
    return [replace(f, rows=tuple(rows)) for f, rows in zip(files, out, strict=True)]


def _mark_layouts(files: list[_File], rng: np.random.Generator) -> list[_File]:
    """One single-region CSV carries an unknown extra column; one workbook has its columns shuffled."""
    out = list(files)
    csvs = [i for i, f in enumerate(out) if f.kind == "csv" and len(f.rows) == 1]
    xlsxs = [i for i, f in enumerate(out) if f.kind == "xlsx"]
    extra = csvs[int(rng.integers(0, len(csvs)))]
    shuffled = xlsxs[int(rng.integers(0, len(xlsxs)))]
    out[extra] = replace(out[extra], extra_column=True)
    out[shuffled] = replace(out[shuffled], shuffle_columns=True)
    return out


def _check_unique(names: list[str]) -> None:
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RuntimeError(f"sample generator planned two files with the same name: {duplicated}")


def _broken_source(files: list[_File], broken_name: str) -> str:
    return next(f.name for f in files if broken_name == f.name.removesuffix(".csv") + "_rusak.xlsx")


# --- Rendering cells ----------------------------------------------------------------------------------------

EXTRA_COLUMN = "Keterangan Tambahan"


@dataclass(frozen=True)
class _Rendered:
    """A file's bytes and, per data row, the cells written (field id -> cell)."""

    payload: bytes
    cells: tuple[Mapping[str, _Cell], ...]


def _render_file(file: _File, framework: Framework, rng: np.random.Generator,
                 parameters: SampleParameters) -> _Rendered:
    columns = [c for c in framework.field_ids() if c not in file.omit]
    if file.extra_column:
        columns.insert(len(columns) - 1, EXTRA_COLUMN)
    if file.shuffle_columns:
        columns = [columns[int(i)] for i in rng.permutation(len(columns))]
    headers = [_header(c, file, framework, rng) for c in columns]
    cells = tuple(MappingProxyType({c: _render_cell(c, row, file, framework, rng) for c in columns})
                  for row in file.rows)
    table = [[row_cells[c] for c in columns] for row_cells in cells]
    if file.kind == "csv":
        return _Rendered(_csv_bytes(headers, table), cells)
    return _Rendered(_xlsx_bytes(headers, table, _instructions(framework), _stamp(file, parameters)), cells)


def _header(column: str, file: _File, framework: Framework, rng: np.random.Generator) -> _Cell:
    if column == EXTRA_COLUMN:
        return _Cell(column, ("extra_column",))
    text = column if file.header_kind == "id" else str(framework.fields.at[column, "label_id"])
    cases = {"asis": text, "lower": text.lower(), "upper": text.upper(), "title": text.title()}
    text = cases[file.header_case]
    pad = int(rng.choice(4, p=[0.8, 0.08, 0.08, 0.04]))
    text = (" " if pad in (1, 3) else "") + text + (" " if pad in (2, 3) else "")
    return _Cell(text, ("header_stray_space",) if pad else ())


def _render_cell(column: str, row: _Row, file: _File, framework: Framework,
                 rng: np.random.Generator) -> _Cell:
    missing = dict(row.missing)
    if column in missing:
        marker = missing[column]
        return _Cell(marker or None, ("missing_marker",), None)
    anomaly, _, target = (row.anomaly or "").partition(":")
    if target == column:
        return _anomaly_cell(anomaly, row.values[column], row.values, file, rng)
    if column in _META_RENDERERS:
        return _META_RENDERERS[column](row, file, rng)
    value = row.values[column]
    kind = str(framework.fields.at[column, "type"])
    if kind == "integer":
        return _integer_cell(int(value), file, rng)
    if kind == "number":
        return _number_cell(float(value), 2, file, rng)
    if kind == "money":
        return _money_cell(int(value), file, rng)
    if kind == "percent":
        return _percent_cell(float(value), file, rng)
    if kind == "boolean":
        return _boolean_cell(bool(value), file, rng)
    if kind == "ordinal":
        return _ordinal_cell(column, str(value), framework, rng)
    if kind == "likert":
        return _likert_cell(int(value), file, rng)
    raise ValueError(f"sample generator: no renderer for field {column!r} of type {kind!r}")


def _anomaly_cell(anomaly: str, value: Any, values: Mapping[str, Any], file: _File,
                  rng: np.random.Generator) -> _Cell:
    if anomaly == "apbd_juta_slip":
        in_juta = int(value) // 1_000_000
        return _Cell(_grouped(str(in_juta), "."), ("money_juta_slip",), in_juta)
    if anomaly == "likert_out_of_range":
        return _Cell(6 if file.kind == "xlsx" else "6", ("out_of_range",), 6)
    if anomaly == "hdi_out_of_range":
        return _Cell("172" if file.kind == "csv" else 172.0, ("out_of_range",), 172.0)
    if anomaly == "percent_out_of_range":
        return _Cell("105%" if rng.random() < 0.5 else "105", ("out_of_range",), 105.0)
    if anomaly == "pad_above_apbd":
        bigger = int(values["apbd_total_idr"]) * 13 // 10
        cell = _money_cell(bigger, file, rng)
        return replace(cell, tags=cell.tags + ("rule_break",))
    if anomaly == "ict_staff_above_staff":
        more = int(values["civil_servants"]) + max(5, int(values["civil_servants"]) // 5)
        cell = _integer_cell(more, file, rng)
        return replace(cell, tags=cell.tags + ("rule_break",))
    if anomaly == "percent_fraction":
        whole = int(round(float(value)))
        return _Cell(f"0,{whole:02d}", ("percent_fraction",), float(whole))
    if anomaly == "excel_percent_cell":
        return _Cell(round(float(value) / 100, 4), ("excel_percent_cell",), float(value), "0.0%")
    if anomaly == "in_progress_word":
        word = ("Proses", "Dalam penyusunan", "Sedang disusun")[int(rng.integers(0, 3))]
        return _Cell(word, ("in_progress_word",), None)
    if anomaly == "regulation_in_penyusunan":
        return _Cell("Dalam penyusunan", ("in_progress_word_ordinal",), "draf")
    raise ValueError(f"sample generator: unknown anomaly {anomaly!r}")


def _locale(file: _File, rng: np.random.Generator) -> str:
    return file.locale if file.locale != "mixed" else ("id", "en")[int(rng.integers(0, 2))]


def _integer_cell(value: int, file: _File, rng: np.random.Generator) -> _Cell:
    grouped_ok = value >= 1000 and _locale(file, rng) == "id"
    form = ("native", "grouped", "float")[rng.choice(3, p=[0.5, 0.35, 0.15])]
    if form == "grouped" and grouped_ok:
        return _Cell(_grouped(str(value), "."), ("indonesian_number",), value)
    if form == "float":
        return _Cell(f"{value}.0", ("excel_float",), value)
    return _Cell(value if file.kind == "xlsx" else str(value), (), value)


def _number_cell(value: float, decimals: int, file: _File, rng: np.random.Generator) -> _Cell:
    if file.kind == "xlsx" and rng.random() < 0.5:
        return _Cell(value, (), value)
    locale = _locale(file, rng)
    text = _format_number(value, decimals, locale, grouped=locale == "id")
    return _Cell(text, ("indonesian_number",) if locale == "id" else ("english_number",), value)


_UNITS = (  # (threshold, word choices, multiplier, decimals)
    (1e12, ("T", "triliun", "Triliun"), 10**12, 2),
    (1e9, ("M", "miliar", "Milyar"), 10**9, 2),
    (1e6, ("jt", "juta", "Juta"), 10**6, 0),
    (0, ("rb", "ribu"), 10**3, 0),
)


def _money_cell(value: int, file: _File, rng: np.random.Generator) -> _Cell:
    form = ("plain", "grouped", "shorthand", "english")[rng.choice(4, p=[0.25, 0.2, 0.45, 0.1])]
    prefix = ("Rp ", "Rp. ", "Rp", "IDR ", "")[rng.choice(5, p=[0.35, 0.2, 0.1, 0.15, 0.2])]
    prefix_tag = ("money_prefix",) if prefix else ()
    if form == "plain":
        return _Cell(value if file.kind == "xlsx" else str(value), (), value)
    if form == "grouped":
        cents = ",00" if rng.random() < 0.3 else ""
        return _Cell(prefix + _grouped(str(value), ".") + cents, ("indonesian_number",) + prefix_tag, value)
    if form == "english":
        return _Cell(prefix + _grouped(str(value), ",") + ".00", ("english_number",) + prefix_tag, value)
    return _shorthand_cell(value, prefix, _locale(file, rng), rng)


def _shorthand_cell(value: int, prefix: str, locale: str, rng: np.random.Generator) -> _Cell:
    candidates = [u for u in _UNITS if value >= u[0]][:2]
    _, words, multiplier, decimals = candidates[int(rng.integers(0, len(candidates)))]
    step = multiplier // 10**decimals
    quanta = int(round(value / step))
    whole, fraction = divmod(quanta, 10**decimals)
    fraction_text = str(fraction).zfill(decimals).rstrip("0") if decimals else ""
    whole_text = _grouped(str(whole), ".") if locale == "id" else str(whole)
    number = whole_text + (("," if locale == "id" else ".") + fraction_text if fraction_text else "")
    word = words[int(rng.integers(0, len(words)))]
    space = " " if rng.random() < 0.7 else ""
    tags = ("money_shorthand",) + (("money_prefix",) if prefix else ())
    return _Cell(f"{prefix}{number}{space}{word}", tags, quanta * step)


def _percent_cell(value: float, file: _File, rng: np.random.Generator) -> _Cell:
    if file.kind == "xlsx" and rng.random() < 0.4:
        return _Cell(value, (), value)
    locale = _locale(file, rng)
    number = _format_number(value, 0 if value == int(value) else 1, locale, grouped=False)
    decimal_tag = (("indonesian_number",) if locale == "id" else ("english_number",)) if "," in number or (
        "." in number) else ()
    if rng.random() < 0.5:
        return _Cell(number + ("%" if rng.random() < 0.7 else " %"), ("percent_sign",) + decimal_tag, value)
    return _Cell(number, ("percent_bare",) + decimal_tag, value)


def _boolean_cell(value: bool, file: _File, rng: np.random.Generator) -> _Cell:
    if file.kind == "xlsx" and rng.random() < 0.15:
        return _Cell(value, ("excel_bool",), value)
    word = file.boolean_words[0 if value else 1]
    tag = {"✓": "check_mark", "✗": "check_mark", "V": "check_mark", "1": "boolean_digit",
           "0": "boolean_digit"}
    if word in ("1", "0") and file.kind == "xlsx":
        return _Cell(int(word), ("boolean_digit",), value)
    word = (word, word.upper(), word.lower())[rng.choice(3, p=[0.7, 0.15, 0.15])]
    return _Cell(word, (tag.get(word, "boolean_word"),), value)


def _ordinal_cell(column: str, value: str, framework: Framework, rng: np.random.Generator) -> _Cell:
    variants = [k for k, v in framework.vocabulary["ordinal_variants"][column].items()
                if v == value and k != value and k != "dalam penyusunan"]
    if variants and rng.random() < 0.35:
        word = variants[int(rng.integers(0, len(variants)))]
        return _Cell(word.title() if rng.random() < 0.5 else word, ("ordinal_variant",), value)
    word = (value, value.title(), value.upper())[rng.choice(3, p=[0.5, 0.35, 0.15])]
    return _Cell(word, (), value)


def _likert_cell(value: int, file: _File, rng: np.random.Generator) -> _Cell:
    if rng.random() < 0.1:
        return _Cell(f"{value}.0", ("excel_float",), value)
    return _Cell(value if file.kind == "xlsx" else str(value), (), value)


# --- Meta fields --------------------------------------------------------------------------------------------


def _submission_id(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    return _Cell(f"GMSC21-{int(rng.integers(1, 1000)):03d}", (), None)


def _region_code_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    code = row.identity[0]
    if file.kind == "xlsx" and isinstance(code, str) and code.isdigit() and rng.random() < 0.5:
        return _Cell(int(code), (), code)
    return _Cell(code, (), code)


def _region_name_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    return _Cell(row.identity[1], (), row.identity[1])


def _province_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    return _Cell(row.province, (), row.province)


def _year_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    form = int(rng.choice(3, p=[0.6, 0.25, 0.15]))
    cell = (2021 if file.kind == "xlsx" else "2021", "2021", "2021.0")[form]
    return _Cell(cell, ("excel_float",) if form == 2 else (), 2021)


def _class_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    return _Cell(row.values["assessment_class"], (), row.values["assessment_class"])


def _date_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    when = row.submitted_at
    if when is None:
        return _Cell(None, ("undated",), None)
    form = row.date_form or file.date_form
    day = dt.datetime(when.year, when.month, when.day)
    if form == "excel":
        return _Cell(when, ("date_excel_cell",), when, "dd/mm/yyyy hh:mm")
    if form == "iso":
        return _Cell(f"{when:%Y-%m-%d}", ("date_iso",), day)
    if form == "iso_time":
        return _Cell(f"{when:%Y-%m-%d %H:%M}", ("date_iso",), when)
    if form == "dayfirst":
        return _Cell(f"{when:%d/%m/%Y}", ("date_dayfirst",), day)
    if form == "dayfirst_time":
        return _Cell(f"{when:%d/%m/%Y %H:%M}", ("date_dayfirst",), when)
    month = INDONESIAN_MONTHS[when.month - 1]
    month = ("Nopember", month, "Nov")[int(rng.integers(0, 3))] if when.month == 11 else month
    return _Cell(f"{when.day} {month} {when.year}", ("date_month_name",), day)


def _respondent_name_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    first = FIRST_NAMES[int(rng.integers(0, len(FIRST_NAMES)))]
    last = LAST_NAMES[int(rng.integers(0, len(LAST_NAMES)))]
    title = ("", ", S.Kom.", ", S.T., M.T.", ", S.E.")[rng.choice(4, p=[0.55, 0.2, 0.15, 0.1])]
    return _Cell(f"{first} {last}{title}", ("pii_name",), None)


def _respondent_phone_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    prefix = PHONE_PREFIXES[int(rng.integers(0, len(PHONE_PREFIXES)))]
    digits = prefix + "".join(str(int(d)) for d in rng.integers(0, 10, 8))
    form = int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))
    if form == 3 and file.kind == "xlsx":
        return _Cell(int(digits), ("pii_phone",), None)
    text = (digits, f"{digits[:4]}-{digits[4:8]}-{digits[8:]}",
            f"+62 {digits[1:4]} {digits[4:8]} {digits[8:]}", digits)[form]
    return _Cell(text, ("pii_phone",), None)


def _notes_cell(row: _Row, file: _File, rng: np.random.Generator) -> _Cell:
    if row.note is None:
        return _Cell(None, (), None)
    return _Cell(row.note, ("hostile_note",) if row.note in HOSTILE_NOTES else (), row.note)


_META_RENDERERS = MappingProxyType({
    "submission_id": _submission_id,
    "region_code": _region_code_cell,
    "region_name": _region_name_cell,
    "province_name": _province_cell,
    "assessment_year": _year_cell,
    "assessment_class": _class_cell,
    "submitted_at": _date_cell,
    "respondent_name": _respondent_name_cell,
    "respondent_phone": _respondent_phone_cell,
    "notes": _notes_cell,
    EXTRA_COLUMN: lambda row, file, rng: _Cell(("Diisi oleh Diskominfo", "Sudah diverifikasi", None)[
        int(rng.integers(0, 3))], (), None),
})


# --- Writing files ------------------------------------------------------------------------------------------


def _csv_bytes(headers: list[_Cell], table: list[list[_Cell]]) -> bytes:
    """Return a ``;``-separated Windows-1252 CSV with CRLF line ends, as Indonesian Excel exports it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([h.value for h in headers])
    for cells in table:
        writer.writerow(["" if c.value is None else c.value for c in cells])
    return buffer.getvalue().encode("cp1252")


def _xlsx_bytes(headers: list[_Cell], table: list[list[_Cell]], instructions: list[list[str]],
                stamp: dt.datetime) -> bytes:
    """Return a workbook: instructions sheet ``Petunjuk`` before data sheet ``Data``, fixed timestamps."""
    workbook = Workbook()
    guide = workbook.active
    guide.title = "Petunjuk"
    for line in instructions:
        guide.append(line)
    sheet = workbook.create_sheet("Data")
    for col, header in enumerate(headers, start=1):
        sheet.cell(row=1, column=col, value=header.value)
    for r, cells in enumerate(table, start=2):
        for col, cell in enumerate(cells, start=1):
            _write_cell(sheet, r, col, cell)
    workbook.properties.creator = "Diskominfo"
    workbook.properties.lastModifiedBy = "Diskominfo"
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _fixed_zip(buffer.getvalue(), stamp)


def _write_cell(sheet: Any, row: int, column: int, cell: _Cell) -> None:
    if cell.value is None:
        return
    target = sheet.cell(row=row, column=column, value=cell.value)
    if isinstance(cell.value, str) and cell.value.startswith("="):
        target.data_type = "s"  # typed text, not a formula: the cleaner must still neutralise it on output
    if cell.number_format:
        target.number_format = cell.number_format


def _fixed_zip(payload: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite a workbook's zip with fixed entry dates, attributes and ``dcterms:modified``."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with (zipfile.ZipFile(io.BytesIO(payload)) as source,
          zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target):
        for name in source.namelist():
            data = source.read(name)
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              lambda m: m.group(1) + iso.encode() + m.group(2), data)
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    return out.getvalue()


def _instructions(framework: Framework) -> list[list[str]]:
    lines = [
        ["PETUNJUK PENGISIAN KUESIONER KESIAPAN GERAKAN MENUJU SMART CITY 2021"],
        ["1. Isi satu baris per kabupaten/kota pada sheet Data."],
        ["2. Nilai uang dalam Rupiah (Rp); luas wilayah dalam km²."],
        ["3. Skor 1-5: 1 = belum siap, 5 = sangat siap."],
        ["4. Data pribadi pengisi hanya untuk keperluan verifikasi."],
        ["5. Kirim ke Direktorat LAIP, Ditjen Aptika, Kementerian Kominfo."],
        [],
        ["Kolom", "Keterangan", "Satuan"],
    ]
    for _, spec in framework.fields.iterrows():
        unit = spec["unit"] if isinstance(spec["unit"], str) else ""
        lines.append([str(spec["label_id"]), str(spec["label_en"]), unit])
    return lines


def _stamp(file: _File, parameters: SampleParameters) -> dt.datetime:
    """Return the workbook's timestamp: its latest submission, or the round's last day when none is dated."""
    dated = [r.submitted_at for r in file.rows if r.submitted_at is not None]
    if dated:
        return max(dated)
    return dt.datetime.combine(parameters.round_days[-1], dt.time(17, 0))


def _write_payloads(out_dir: Path, payloads: Mapping[str, bytes]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out_dir.iterdir()):
        if stale.is_file() and stale.suffix.lower() in {".xlsx", ".csv"}:
            stale.unlink()
    for name in sorted(payloads):
        (out_dir / name).write_bytes(payloads[name])


def _write_broken_examples(broken_dir: Path) -> None:
    """Write an empty CSV and a text file named ``.xlsx``, for the cleaner's tests of unreadable files."""
    broken_dir.mkdir(parents=True, exist_ok=True)
    (broken_dir / "kosong.csv").write_bytes(b"")
    (broken_dir / "bukan_excel.xlsx").write_bytes(
        b"Ini bukan file Excel: lampiran email tersimpan dengan nama yang salah.\r\n")


# --- The summary and the expected clean values -------------------------------------------------------------


def _summary(seed: int, out_dir: Path, invitations_path: Path, broken_dir: Path, files: list[_File],
             rendered: Mapping[str, _Rendered], broken_name: str, participants: pd.DataFrame,
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


def _mess_counts(files: list[_File], rendered: Mapping[str, _Rendered]) -> Counter:
    counts: Counter = Counter()
    for f in files:
        counts["file_" + f.kind] += 1
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


def _truth(files: list[_File], rendered: Mapping[str, _Rendered], participants: pd.DataFrame,
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


# --- Small helpers ------------------------------------------------------------------------------------------


def _z(values: Any) -> Any:
    return (values - values.mean()) / values.std()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _round_to(values: np.ndarray, step: float) -> np.ndarray:
    return (np.round(np.asarray(values, dtype=float) / step) * step).astype(np.int64)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _grouped(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    return separator.join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


def _format_number(value: float, decimals: int, locale: str, *, grouped: bool) -> str:
    whole, _, fraction = f"{abs(value):.{decimals}f}".partition(".")
    if grouped:
        whole = _grouped(whole, "." if locale == "id" else ",")
    sign = "-" if value < 0 else ""
    return sign + whole + ((("," if locale == "id" else ".") + fraction) if fraction else "")


def _old_papua_codes(renumbering: pd.DataFrame) -> Mapping[str, str]:
    """Pre-2022 code -> current code, for the Papua kab/kota renumbered in 2022."""
    pairs = zip(renumbering["code_before_2022"], renumbering["region_code"], strict=True)
    return MappingProxyType(dict(pairs))


def _dotted(code: str) -> str:
    return f"{code[:2]}.{code[2:]}"
