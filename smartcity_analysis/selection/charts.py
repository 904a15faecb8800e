"""Charts of the ranking, selection and panel-effect stage and of the what-if notebook (04, 04b).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from smartcity_analysis.palette import BORDERLINE, INELIGIBLE, OTHER, SELECTED, palette


def plot_rank_intervals(ranking: pd.DataFrame, quota: int, *, max_rank: int | None = None) -> Figure:
    """Each region's nominal rank and its 5-95 % Monte Carlo range, the quota line drawn.

    Parameters
    ----------
    ranking : pandas.DataFrame
        ``ranking.csv`` columns (``rank``, ``rank_p05``, ``rank_p95``, ``rank_median``, ``selected``,
        ``borderline``, ``eligible``).
    quota : int
        Where the cut-off line goes.
    max_rank : int, optional
        Show regions up to this nominal rank (default twice the quota).
    """
    shown = ranking[ranking["rank"] <= (max_rank or 2 * quota)].sort_values("rank")
    colour = np.where(~shown["eligible"], INELIGIBLE, np.where(shown["borderline"], BORDERLINE,
                                                                np.where(shown["selected"], SELECTED, OTHER)))
    fig = Figure(figsize=(max(8, 0.12 * len(shown) + 3), 5), layout="constrained")
    ax = fig.subplots()
    ax.vlines(shown["rank"], shown["rank_p05"], shown["rank_p95"], colors=colour, linewidth=2)
    ax.scatter(shown["rank"], shown["rank"], c=colour, s=14, zorder=3)
    ax.scatter(shown["rank"], shown["rank_median"], marker="_", c="black", s=30, zorder=4)
    ax.axhline(quota + 0.5, color="black", linestyle="--", linewidth=1)
    ax.text(1, quota + 0.5, f" kuota / quota {quota}", va="bottom")
    ax.invert_yaxis()
    ax.set(xlabel="Peringkat nominal / nominal rank", ylabel="Peringkat dalam simulasi / rank in draws",
           title="Ketidakpastian peringkat (garis: 5-95 %, strip: median) / rank uncertainty")
    for label, c in (("terpilih / selected", SELECTED), ("batas / borderline", BORDERLINE),
                     ("tidak terpilih / not selected", OTHER), ("tidak memenuhi syarat / not eligible", INELIGIBLE)):
        ax.scatter([], [], color=c, label=label)
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    return fig


def plot_sensitivity(summary: pd.DataFrame, *, outcome: str = "rank") -> Figure:
    """First-order and total Sobol indices of each modelling choice (``SensitivityResult.summary``)."""
    ordered = summary.sort_values(f"ST_{outcome}")
    fig = Figure(figsize=(7, 0.55 * len(ordered) + 1.8), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(ordered))
    ax.barh(y - 0.2, ordered[f"S1_{outcome}"], height=0.4, color=OTHER, label="orde pertama / first order (S1)")
    ax.barh(y + 0.2, ordered[f"ST_{outcome}"], height=0.4, color=SELECTED, label="total (ST)")
    ax.set_yticks(y, [f"{a} / {b}" for a, b in zip(ordered["label_id"], ordered["label_en"], strict=True)])
    what = "peringkat / ranks" if outcome == "rank" else "keterpilihan / selection"
    ax.set(xlabel="Bagian varians / share of variance", xlim=(0, max(1.0, float(ordered[f"ST_{outcome}"].max()))),
           title=f"Pilihan mana yang paling menggeser {what}?")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return fig


def plot_panel_effect(data: pd.DataFrame, effects: pd.DataFrame) -> Figure:
    """Left: assessor score against the objective sub-index by class. Right: adjusted class effects with CIs."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    classes = effects["assessment_class"].tolist()
    for colour, cls in zip(palette(len(classes)), classes, strict=True):
        part = data[data["assessment_class"] == cls]
        left.scatter(part["objective_index"], part["assessor_score"], s=18, color=colour, label=f"kelas {cls}")
    left.set(xlabel="Sub-indeks objektif / objective sub-index",
             ylabel="Rata-rata skor asesor (1-5) / mean assessor score",
             title="Skor asesor vs indikator objektif / assessor vs objective")
    left.legend(frameon=False, fontsize=8)
    y = np.arange(len(effects))
    right.errorbar(effects["effect"], y, xerr=[effects["effect"] - effects["ci_low"],
                                               effects["ci_high"] - effects["effect"]],
                   fmt="o", color=SELECTED, capsize=4)
    right.axvline(0, color="black", linewidth=1)
    right.set_yticks(y, [f"kelas {c} (n={n})" for c, n in zip(effects["assessment_class"], effects["n_regions"],
                                                               strict=True)])
    right.invert_yaxis()
    right.set(xlabel="Efek kelas disesuaikan (poin) / adjusted class effect",
              title="Efek panel, IK 95 % / panel effect, 95 % CI")
    return fig


def plot_selection_changes(comparison: pd.DataFrame) -> Figure:
    """Rank before and after a what-if for the regions entering or leaving the selection."""
    moved = comparison[comparison["change"].isin(["entered", "left"])]
    fig = Figure(figsize=(7, max(2.5, 0.3 * len(moved) + 1.5)), layout="constrained")
    ax = fig.subplots()
    if moved.empty:
        ax.text(0.5, 0.5, "Tidak ada yang masuk atau keluar / nobody enters or leaves", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    y = np.arange(len(moved))
    colour = np.where(moved["change"] == "entered", SELECTED, BORDERLINE)
    ax.hlines(y, moved["rank_before"], moved["rank_after"], colors=colour, linewidth=2)
    ax.scatter(moved["rank_before"], y, color=OTHER, zorder=3, label="sebelum / before")
    ax.scatter(moved["rank_after"], y, color=colour, zorder=3, label="sesudah / after")
    ax.set_yticks(y, [f"{n} ({c})" for n, c in zip(moved["official_name"], moved["change_id"], strict=True)],
                  fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="Peringkat / rank", title="Masuk dan keluar dari daftar terpilih / entering and leaving")
    ax.legend(frameon=False, fontsize=8)
    return fig

