"""Panel effect between assessment classes: did some assessor panels score more generously than others.

The November 2021 assessment ran "per kelas": parallel sittings, each with its own assessor panel. The
assessor-given 1-5 scores (the framework's ``likert`` fields) should depend on how ready a region is, not on
which class it sat in. The test:

1. ``assessor_score``: each region's mean over the likert fields it has;
2. ``objective_index``: the weighted mean of the normalised indicators *not* derived from a likert field, with
   each indicator's nominal share of the readiness index (weights rescaled over the indicators a region has);
3. OLS ``assessor_score ~ objective_index + class`` against ``assessor_score ~ objective_index``: the nested
   F test of the class terms (the main test), with each class's adjusted effect (its deviation from the mean of
   the classes at equal objective readiness) and a confidence interval;
4. as a robustness check that needs no normality, a permutation test: class labels shuffled among regions
   (seeded), the F statistic recomputed; p = (1 + #{F_perm >= F}) / (1 + n_permutations).

The decisions (a permuted F at least the observed one, p below ``alpha``) compare values at the decision
precision (:func:`~smartcity_analysis.index.engine.decision_key`): a least-squares fit's last bits depend on
the machine's linear-algebra kernel, and a permutation that leaves the classes as they were must count as
reaching the observed F on any machine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from smartcity_analysis.config import Framework
from smartcity_analysis.index.engine import decision_key
from smartcity_analysis.index.indicators import framework_table
from smartcity_analysis.notes import NotApplicable, Note
from smartcity_analysis.selection.uncertainty import effective_weights, tree_from_table

PANEL_COLUMNS = ["region_code", "assessment_class", "assessor_score", "objective_index"]


@dataclass(frozen=True)
class PanelParams:
    """Parameters of the panel-effect test.

    Attributes
    ----------
    alpha : float
        Significance level of the F test.
    confidence : float
        Level of the confidence intervals of the class effects.
    n_permutations : int
        Permutations of the robustness check.
    random_state : int
        Seed of the permutations.
    min_class_regions : int
        A class takes part in the test only with at least this many regions: a class effect estimated from
        one or two regions is that region's own score, not its panel's generosity.
    """

    alpha: float = 0.05
    confidence: float = 0.95
    n_permutations: int = 2000
    random_state: int = 2021
    min_class_regions: int = 3


@dataclass(frozen=True)
class PanelEffect:
    """The result of the panel-effect test (written to ``panel_effect.json``).

    Attributes
    ----------
    detected : bool
        The class terms are significant at ``alpha`` (F test).
    f_statistic, df_num, df_den, p_value : float
        The nested-model F test of the class terms.
    p_permutation : float
        The permutation test's p-value.
    objective_slope : float
        Assessor points per objective-index point, from the full model.
    r2_reduced, r2_full : float
        R-squared without and with the class terms.
    effects : pandas.DataFrame
        Per class: ``assessment_class``, ``n_regions``, ``effect`` (adjusted deviation from the mean of the
        classes, assessor points), ``ci_low``, ``ci_high``, ``adjusted_mean`` (at the mean objective index).
    summary_id, summary_en : str
        The result in one sentence.
    """

    detected: bool
    n_regions: int
    n_classes: int
    f_statistic: float
    df_num: int
    df_den: int
    p_value: float
    p_permutation: float
    objective_slope: float
    r2_reduced: float
    r2_full: float
    effects: pd.DataFrame
    summary_id: str
    summary_en: str
    likert_fields: tuple[str, ...]
    objective_indicators: tuple[str, ...]
    params: PanelParams
    classes_left_out: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (``test``, ``p_value``, ``summary_id``, ``summary_en`` and the details)."""
        payload = {k: v for k, v in asdict(self).items() if k not in ("effects", "params")}
        payload.update(test="ols_nested_f_with_permutation", params=asdict(self.params),
                       likert_fields=list(self.likert_fields), objective_indicators=list(self.objective_indicators),
                       effects=json.loads(self.effects.to_json(orient="records", double_precision=15)))
        return payload


def likert_fields(framework: Framework) -> list[str]:
    """Return the assessor-given 1-5 fields (type ``likert``), in template order."""
    return framework.fields.index[framework.fields["type"] == "likert"].tolist()


def objective_indicators(framework: Framework) -> list[str]:
    """Return the indicators derived from no likert field (per each indicator's ``derive``), in file order."""
    likert = set(likert_fields(framework))
    keep = []
    for _, row in framework.indicators.iterrows():
        derive = row["derive"]
        sources = {derive.get(key) for key in ("field", "numerator", "denominator")} - {None}
        if not sources & likert:
            keep.append(row["code"])
    return keep


def panel_data(scores: pd.DataFrame, submissions: pd.DataFrame, framework: Framework,
               objective_weights: pd.Series) -> pd.DataFrame:
    """Assemble one row per region: class, mean assessor score and objective sub-index.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``scores.csv`` (normalised indicators).
    submissions : pandas.DataFrame
        ``submissions_clean.csv`` (``assessment_class`` and the likert fields).
    framework : Framework
        Says which fields are likert.
    objective_weights : pandas.Series
        Weight of each objective indicator (e.g. :func:`smartcity_analysis.selection.uncertainty.effective_weights`).

    Returns
    -------
    pandas.DataFrame
        ``PANEL_COLUMNS``; regions without a class, a likert score or an objective indicator are left out.
    """
    likert = likert_fields(framework)
    subs = submissions.assign(region_code=submissions["region_code"].astype(str))
    assessor = subs[likert].apply(pd.to_numeric, errors="coerce").mean(axis=1)
    left = pd.DataFrame({"region_code": subs["region_code"], "assessment_class": subs["assessment_class"],
                         "assessor_score": assessor})
    values = scores.set_index(scores["region_code"].astype(str))[list(objective_weights.index)].astype(float)
    has = values.notna().to_numpy()
    weights = objective_weights.to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        objective = (np.where(has, values.to_numpy(), 0.0) @ weights) / (has @ weights)
    right = pd.DataFrame({"region_code": values.index, "objective_index": objective})
    data = left.merge(right, on="region_code", how="inner", validate="1:1")
    data = data.dropna(subset=["assessment_class", "assessor_score", "objective_index"])
    data["assessment_class"] = data["assessment_class"].astype(str)
    return data[PANEL_COLUMNS].sort_values("region_code", kind="stable").reset_index(drop=True)


def _design(objective: np.ndarray, codes: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    full = np.column_stack([objective, np.eye(n_classes)[codes]])  # one intercept per class
    reduced = np.column_stack([np.ones_like(objective), objective])
    return full, reduced


def _rss(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    residual = y - x @ beta
    return beta, float(residual @ residual)


def _f_statistic(y: np.ndarray, objective: np.ndarray, codes: np.ndarray, n_classes: int) -> float:
    full, reduced = _design(objective, codes, n_classes)
    rss_full, rss_reduced = _rss(full, y)[1], _rss(reduced, y)[1]
    df_num, df_den = n_classes - 1, len(y) - full.shape[1]
    return ((rss_reduced - rss_full) / df_num) / (rss_full / df_den) if rss_full > 0 else np.inf


def panel_test(data: pd.DataFrame, params: PanelParams = PanelParams(), likert: tuple[str, ...] = (),
               objective: tuple[str, ...] = ()) -> PanelEffect:
    """Run the panel-effect test on the classes that have enough regions; say why when it cannot run.

    Classes with fewer than ``params.min_class_regions`` regions are left out of the test (their regions are
    still ranked and selected like any other). The test needs two classes and more regions than classes + 2.

    Raises
    ------
    NotApplicable
        When no assessor score was given, or too few classes or regions remain.
    """
    if data.empty:
        raise NotApplicable("no_assessor_scores", "Uji efek panel dilewati: tidak ada skor asesor di putaran ini.",
                            "The panel-effect test is skipped: this round has no assessor scores.")
    counts = data["assessment_class"].value_counts()
    kept = sorted(counts.index[counts >= params.min_class_regions])
    usable = data[data["assessment_class"].isin(kept)]
    if len(kept) < 2 or len(usable) <= len(kept) + 2:
        raise NotApplicable(
            "too_few_classes",
            f"Uji efek panel dilewati: perlu sedikitnya 2 kelas dengan masing-masing {params.min_class_regions} "
            f"daerah atau lebih; putaran ini {len(kept)} kelas seperti itu dari {len(counts)}.",
            f"The panel-effect test is skipped: it needs at least 2 classes of {params.min_class_regions} or more "
            f"regions; this round has {len(kept)} such class(es) of {len(counts)}.")
    result = estimate_panel_effect(usable.reset_index(drop=True), params, likert, objective)
    left_out = sorted(set(counts.index) - set(kept))
    return replace(result, classes_left_out=tuple(left_out)) if left_out else result


def skipped_payload(notes: Sequence[Note]) -> dict[str, Any]:
    """Return the ``panel_effect.json`` of a round where the test could not run: why, in both languages."""
    note = notes[0] if notes else None
    return {"test": "skipped", "reason_code": note.reason_code if note else "not_run",
            "summary_id": note.message_id if note else "", "summary_en": note.message_en if note else "",
            "effects": []}


def estimate_panel_effect(data: pd.DataFrame, params: PanelParams = PanelParams(),
                      likert: tuple[str, ...] = (), objective: tuple[str, ...] = ()) -> PanelEffect:
    """Test whether assessor scores differ by class beyond the objective indicators.

    Parameters
    ----------
    data : pandas.DataFrame
        From :func:`panel_data`.
    params : PanelParams
        Significance, confidence, permutations, seed.
    likert, objective : tuple of str
        Recorded with the result (which fields and indicators were used).

    Returns
    -------
    PanelEffect

    Raises
    ------
    ValueError
        With fewer than two classes, or too few regions to estimate the model.
    """
    classes, codes = np.unique(data["assessment_class"].to_numpy(str), return_inverse=True)
    n, k = len(data), len(classes)
    if k < 2 or n <= k + 2:
        raise ValueError(f"the panel test needs at least 2 classes and more regions than classes + 2 "
                         f"(got {k} classes, {n} regions)")
    y, x = data["assessor_score"].to_numpy(float), data["objective_index"].to_numpy(float)
    full, reduced = _design(x, codes, k)
    beta, rss_full = _rss(full, y)
    rss_reduced = _rss(reduced, y)[1]
    df_num, df_den = k - 1, n - full.shape[1]
    f_stat = _f_statistic(y, x, codes, k)
    rng = np.random.default_rng(params.random_state)
    permuted = np.array([_f_statistic(y, x, rng.permutation(codes), k) for _ in range(params.n_permutations)])
    effects = _class_effects(full, beta, rss_full / df_den, df_den, classes, codes, x.mean(), params.confidence)
    total = float(((y - y.mean()) ** 2).sum())
    p_value = float(stats.f.sf(f_stat, df_num, df_den))
    p_perm = float((1 + np.sum(decision_key(permuted) >= decision_key(f_stat))) / (1 + params.n_permutations))
    detected = bool(decision_key(p_value) < params.alpha)
    summary_id, summary_en = _sentences(detected, f_stat, p_value, p_perm, effects)
    return PanelEffect(
        detected=bool(detected), n_regions=n, n_classes=k, f_statistic=float(f_stat), df_num=df_num,
        df_den=df_den, p_value=p_value, p_permutation=p_perm, objective_slope=float(beta[0]),
        r2_reduced=1 - rss_reduced / total, r2_full=1 - rss_full / total, effects=effects,
        summary_id=summary_id, summary_en=summary_en, likert_fields=tuple(likert),
        objective_indicators=tuple(objective), params=params,
    )




def _class_effects(full: np.ndarray, beta: np.ndarray, sigma2: float, df: int, classes: np.ndarray,
                   codes: np.ndarray, mean_objective: float, confidence: float) -> pd.DataFrame:
    k = len(classes)
    covariance = sigma2 * np.linalg.inv(full.T @ full)
    contrasts = np.column_stack([np.zeros(k), np.eye(k) - 1.0 / k])  # class intercept minus mean intercept
    effect = contrasts @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", contrasts, covariance, contrasts))
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    return pd.DataFrame({
        "assessment_class": classes, "n_regions": np.bincount(codes, minlength=k), "effect": effect,
        "ci_low": effect - half, "ci_high": effect + half,
        "adjusted_mean": beta[1:] + beta[0] * mean_objective,
    })


def _id_number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",").replace("-", "−")


def _en_number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace("-", "−")


def _p(value: float, fmt: Any) -> str:
    return "< " + fmt(0.001, 3) if value < 0.001 else fmt(value, 3)


def _sentences(detected: bool, f_stat: float, p_value: float, p_perm: float,
               effects: pd.DataFrame) -> tuple[str, str]:
    test_id = (f"uji F: F = {_id_number(f_stat, 2)}, p = {_p(p_value, _id_number)}; "
               f"uji permutasi p = {_p(p_perm, _id_number)}")
    test_en = (f"F test: F = {_en_number(f_stat, 2)}, p = {_p(p_value, _en_number)}; "
               f"permutation test p = {_p(p_perm, _en_number)}")
    if not detected:
        return (f"Tidak ada bukti bahwa skor asesor berbeda antar kelas setelah memperhitungkan indikator "
                f"objektif ({test_id}).",
                f"No evidence that assessor scores differ between classes once the objective indicators are "
                f"accounted for ({test_en}).")
    high, low = effects.loc[effects["effect"].idxmax()], effects.loc[effects["effect"].idxmin()]
    high_id, low_id = _class_name(high["assessment_class"], "kelas"), _class_name(low["assessment_class"], "kelas")
    high_en, low_en = _class_name(high["assessment_class"], "class"), _class_name(low["assessment_class"], "class")
    return (f"Skor asesor berbeda antar kelas melebihi yang dijelaskan indikator objektif ({test_id}). "
            f"Pada kesiapan objektif yang sama, {high_id} memberi skor tertinggi "
            f"(+{_id_number(high['effect'], 2)} poin pada skala 1-5 dari rata-rata kelas) dan "
            f"{low_id} terendah ({_id_number(low['effect'], 2)} poin).",
            f"Assessor scores differ between classes beyond what the objective indicators explain ({test_en}). "
            f"At equal objective readiness, {high_en} scored highest "
            f"(+{_en_number(high['effect'], 2)} points on the 1-5 scale above the mean of the classes) and "
            f"{low_en} lowest ({_en_number(low['effect'], 2)} points).")


def _class_name(label: str, word: str) -> str:
    """``"kelas A"`` for ``"A"``; a label that already names itself (``"Kelas A"``) is kept as is."""
    return label if label.lower().startswith(("kelas", "class")) else f"{word} {label}"


def write_panel_effect(result: PanelEffect | None, processed_dir: str | Path, notes: Sequence[Note] = ()) -> Path:
    """Write ``panel_effect.json`` (UTF-8, sorted keys); return its path.

    Without a result (the test was skipped), the file says so and why (``notes``), so that no earlier
    round's result is left in the folder.
    """
    from smartcity_analysis.outputs import write_text  # atomic: a killed run leaves the previous file whole

    payload = result.to_dict() if result is not None else skipped_payload(notes)
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return write_text(Path(processed_dir) / "panel_effect.json", text + "\n")


def load_panel_data(processed_dir: str | Path, framework: Framework) -> pd.DataFrame:
    """Read ``scores.csv`` and ``submissions_clean.csv`` and assemble :func:`panel_data`.

    The objective indicators are weighted by their nominal share of the readiness index (aspects view).
    """
    folder = Path(processed_dir)
    read = {"dtype": {"region_code": str}, "encoding": "utf-8"}
    tree = tree_from_table(framework_table(framework, "aspects"))
    objective = [c for c in objective_indicators(framework) if c in tree.indicator_codes]
    return panel_data(pd.read_csv(folder / "scores.csv", **read), pd.read_csv(folder / "submissions_clean.csv",
                                                                              **read),
                      framework, effective_weights(tree, objective))
