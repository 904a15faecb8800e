"""Plan the sample round's rows and files: batches and single forms, resubmissions, junk rows, planted mess."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.synthetic.helpers import LIKERT_FIELDS, dotted_code, round_to, slugify
from smartcity_analysis.synthetic.parameters import SampleParameters

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


@dataclass(frozen=True)
class PlannedRow:
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
class PlannedFile:
    """A planned submission file with its presentation style."""

    name: str
    kind: str  # "xlsx" or "csv"
    rows: tuple[PlannedRow, ...]
    locale: str  # "id", "en" or "mixed"
    header_kind: str  # "id" or "label"
    header_case: str  # "asis", "lower", "upper" or "title"
    omit: tuple[str, ...] = ()
    extra_column: bool = False
    shuffle_columns: bool = False
    date_form: str = "iso"
    boolean_words: tuple[str, str] = ("Ya", "Tidak")
    # How the file is saved: "plain" (as its kind), or for a workbook "xlsm", "xls", "ods", "titled" (a title
    # line and a blank line above the header), for a text file "utf16_txt" (Excel's "Unicode text").
    form: str = "plain"


def plan_files(participants: pd.DataFrame, values: pd.DataFrame, old_codes: Mapping[str, str],
                twins: frozenset[str], framework: Framework, rng: np.random.Generator,
                parameters: SampleParameters) -> tuple[list[PlannedFile], str]:
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
    files = assign_forms(files, broken_source.name)
    _check_unique([f.name for f in files] + [broken_name])
    return sorted(files, key=lambda f: f.name), broken_name


def _base_row(region: Any, value_row: pd.Series, old_codes: Mapping[str, str], twins: frozenset[str],
              rng: np.random.Generator) -> PlannedRow:
    values = {k: v for k, v in value_row.items() if k != "submitted_at"}
    identity, tags = _identity(region, old_codes, twins, rng)
    province = OLD_PROVINCE_NAMES.get(region.province_code, region.province_name) if (
        region.region_code in old_codes.values()) else _province_form(region.province_name, rng)
    return PlannedRow(region_code=region.region_code, values=MappingProxyType(values), outcome="accepted",
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
        "7472": ((dotted_code(code), SPELLING_VARIANTS.get(code)), ("spelling_variant", "code_dotted")),
        "9203": ((code, SPELLING_VARIANTS.get(code)), ("spelling_variant",)),
        "1212": ((dotted_code(code), RENAMED.get(code)), ("renamed_region", "code_dotted")),
    }
    if code in special:
        return special[code]
    code_form = ("plain", "dotted", "float", "none")[rng.choice(4, p=[0.45, 0.3, 0.15, 0.1])]
    name_form = ("official", "abbrev", "upper", "bare")[rng.choice(4, p=[0.4, 0.3, 0.1, 0.2])]
    code_cell = {"plain": code, "dotted": dotted_code(code), "float": f"{code}.0", "none": None}[code_form]
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
        groups[slugify(members["province_name"].iloc[0])] = list(members["region_code"])
    return groups


def _batch_file(slug: str, rows: list[PlannedRow], rng: np.random.Generator) -> PlannedFile:
    order = rng.permutation(len(rows))
    return PlannedFile(name=f"batch_{slug}_2021.xlsx", kind="xlsx", rows=tuple(rows[i] for i in order),
                 **_file_style("xlsx", rng))


def _single_file(participants: pd.DataFrame, row: PlannedRow, rng: np.random.Generator) -> PlannedFile:
    kind = "xlsx" if row.region_code == "3273" or rng.random() < 0.5 else "csv"
    stem = _region_stem(participants, row.region_code)
    letter = str(row.values["assessment_class"])[-1]
    pattern = int(rng.choice(3)) if row.region_code != "3273" else 0
    name = (f"kelas{letter}_{stem}", stem, f"form_smartcity_{stem}")[pattern] + f".{kind}"
    return PlannedFile(name=name, kind=kind, rows=(row,), **_file_style(kind, rng))


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


def _add_resubmissions(files: list[PlannedFile], rows: Mapping[str, PlannedRow], resubmitters: list[str],
                       participants: pd.DataFrame, rng: np.random.Generator,
                       parameters: SampleParameters) -> list[PlannedFile]:
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
            out.append(PlannedFile(name=f"{stem}_kirim_ulang.{kind}", kind=kind, rows=(second,),
                             **_file_style(kind, rng)))
            continue
        undated = k == 4
        out[index] = _swap_row(home, original, replace(
            original, outcome="superseded", submitted_at=None if undated else original.submitted_at))
        kind = "csv" if code == "3404" else ("xlsx", "csv")[rng.choice(2)]
        out.append(PlannedFile(name=f"{stem}_revisi.{kind}", kind=kind, rows=(_revise(original, rng, parameters),),
                         **_file_style(kind, rng)))
    return out


def _region_stem(participants: pd.DataFrame, code: str) -> str:
    region = participants.set_index("region_code").loc[code]
    type_word = "kab" if region["region_type"] == "Kabupaten" else "kota"
    return f"{type_word}_{slugify(region['region_name'])}"


def _revise(row: PlannedRow, rng: np.random.Generator, parameters: SampleParameters) -> PlannedRow:
    values = dict(row.values)
    for name in rng.choice(LIKERT_FIELDS, size=2, replace=False):
        values[str(name)] = int(min(5, values[str(name)] + 1))
    values["ict_budget_idr"] = int(round_to(np.array([values["ict_budget_idr"] * 1.15]), 1e6)[0])
    day = parameters.revision_days[int(rng.integers(0, len(parameters.revision_days)))]
    when = dt.datetime.combine(day, dt.time(int(rng.integers(8, 17)), int(rng.integers(0, 60))))
    return replace(row, values=MappingProxyType(values), submitted_at=when, outcome="accepted",
                   note="Revisi setelah wawancara", tags=row.tags + ("revision",))


def _swap_row(file: PlannedFile, old: PlannedRow, new: PlannedRow) -> PlannedFile:
    return replace(file, rows=tuple(new if r is old else r for r in file.rows))


def _add_junk_rows(files: list[PlannedFile], values: pd.DataFrame, rng: np.random.Generator) -> list[PlannedFile]:
    """Append the rows that must end in quarantine, spread over the batch workbooks and two single files."""
    batch_idx = [i for i, f in enumerate(files) if f.name.startswith("batch_")]
    single_idx = [i for i, f in enumerate(files) if len(f.rows) == 1 and not f.name.endswith(
        ("_revisi.csv", "_revisi.xlsx"))]
    hosts = batch_idx + [single_idx[int(j)] for j in rng.choice(len(single_idx), size=2, replace=False)]
    out = list(files)
    for k, (reason, code, name, story) in enumerate(QUARANTINE_ROWS):
        donor = values.iloc[int(rng.integers(0, len(values)))]
        row = PlannedRow(region_code=None, values=MappingProxyType(
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


def _plant_anomalies(files: list[PlannedFile], resubmitters: list[str], framework: Framework,
                     rng: np.random.Generator) -> list[PlannedFile]:
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


def _mark_layouts(files: list[PlannedFile], rng: np.random.Generator) -> list[PlannedFile]:
    """One single-region CSV carries an unknown extra column; one workbook has its columns shuffled."""
    out = list(files)
    csvs = [i for i, f in enumerate(out) if f.kind == "csv" and len(f.rows) == 1]
    xlsxs = [i for i, f in enumerate(out) if f.kind == "xlsx"]
    extra = csvs[int(rng.integers(0, len(csvs)))]
    shuffled = xlsxs[int(rng.integers(0, len(xlsxs)))]
    out[extra] = replace(out[extra], extra_column=True)
    out[shuffled] = replace(out[shuffled], shuffle_columns=True)
    return out


# The workbook forms given to single-region workbooks, in name order; the text form to one single-region CSV.
WORKBOOK_FORMS = ("xls", "ods", "titled")
FORM_SUFFIXES = MappingProxyType({"xlsm": ".xlsm", "xls": ".xls", "ods": ".ods", "titled": ".xlsx",
                                  "utf16_txt": ".txt"})


def assign_forms(files: list[PlannedFile], keep_plain: str) -> list[PlannedFile]:
    """Save a few existing files in other formats, without drawing from the generator (values stay the same).

    The first batch workbook becomes ``.xlsm``; the first single-region workbooks (by name) without an Excel
    percent cell (a format ``.xls``/``.ods`` readers do not pass on) become ``.xls``, ``.ods`` and a form with
    a title above its header; the first single-region CSV other than ``keep_plain`` becomes UTF-16 ``.txt``.

    Parameters
    ----------
    files : list of PlannedFile
        The planned files.
    keep_plain : str
        A file that must keep its form (the source of the broken workbook).

    Returns
    -------
    list of PlannedFile
        The same files, a few with another ``form`` and the matching extension.
    """
    by_name = sorted(range(len(files)), key=lambda i: files[i].name)
    forms: dict[int, str] = {}
    batch = [i for i in by_name if files[i].name.startswith("batch_")]
    forms[batch[0]] = "xlsm"
    singles = [i for i in by_name if files[i].kind == "xlsx" and len(files[i].rows) == 1
               and not any((r.anomaly or "").startswith("excel_percent_cell") for r in files[i].rows)]
    forms.update(zip(singles, WORKBOOK_FORMS, strict=False))
    texts = [i for i in by_name if files[i].kind == "csv" and len(files[i].rows) == 1 and files[i].name != keep_plain]
    forms[texts[0]] = "utf16_txt"
    out = list(files)
    for i, form in forms.items():
        stem = out[i].name.rsplit(".", 1)[0]
        out[i] = replace(out[i], form=form, name=stem + FORM_SUFFIXES[form])
    return out


def _check_unique(names: list[str]) -> None:
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RuntimeError(f"sample generator planned two files with the same name: {duplicated}")


def broken_source_name(files: list[PlannedFile], broken_name: str) -> str:
    """Return the name of the file whose truncated copy is the broken workbook."""
    return next(f.name for f in files if broken_name == f.name.removesuffix(".csv") + "_rusak.xlsx")

