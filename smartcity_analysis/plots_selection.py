"""Charts of the profiles, ranking, selection and panel-effect stages (notebooks 03, 04, 04b).

Every function takes the tables the stage produces and returns a :class:`matplotlib.figure.Figure` built
without pyplot, so no global figure state is left behind and a notebook shows each chart exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SELECTED, BORDERLINE, OTHER, INELIGIBLE = "#1f6f8b", "#e0a100", "#9aa5ad", "#d9d9d9"


def _palette(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def plot_silhouette(silhouette_by_k: pd.Series, chosen_k: int) -> Figure:
    """Mean silhouette for each number of profiles tried, the chosen k marked."""
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(silhouette_by_k.index, silhouette_by_k.to_numpy(), marker="o", color=OTHER)
    ax.plot([chosen_k], [silhouette_by_k.loc[chosen_k]], marker="o", markersize=11, color=SELECTED)
    ax.annotate(f"k = {chosen_k}", (chosen_k, silhouette_by_k.loc[chosen_k]), textcoords="offset points",
                xytext=(8, 6))
    ax.set_xticks(list(silhouette_by_k.index))
    ax.set(xlabel="Jumlah profil / number of profiles (k)", ylabel="Rata-rata silhouette / mean silhouette",
           title="Memilih jumlah profil / choosing the number of profiles")
    return fig


def plot_stability(ari: np.ndarray, n_profiles: int) -> Figure:
    """Histogram of the bootstrap adjusted Rand indices (1 = the same partition every time)."""
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.hist(ari, bins=np.linspace(min(0.0, float(np.min(ari))), 1.0, 26), color=SELECTED)
    ax.axvline(float(np.median(ari)), color="black", linestyle="--", label=f"median {np.median(ari):.2f}")
    ax.set(xlabel="Adjusted Rand index", ylabel="Bootstrap resamples",
           title=f"Stabilitas {n_profiles} profil / stability of {n_profiles} profiles")
    ax.legend(frameon=False)
    return fig


def plot_profile_map(coords: pd.DataFrame, *, language: str = "id") -> Figure:
    """Regions on the first two principal components, coloured by profile (``pca_coordinates`` output)."""
    name = f"profile_name_{language}"
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    profiles = coords[["profile_id", name]].drop_duplicates().sort_values("profile_id")
    for colour, (_, row) in zip(_palette(len(profiles)), profiles.iterrows(), strict=True):
        part = coords[coords["profile_id"] == row["profile_id"]]
        ax.scatter(part["pc1"], part["pc2"], s=28, color=colour, label=f"{row['profile_id']}. {row[name]}",
                   edgecolor="white", linewidth=0.4)
    ratio = coords.attrs.get("explained_variance_ratio", (np.nan, np.nan))
    ax.set(xlabel=f"PC1 ({ratio[0]:.0%})", ylabel=f"PC2 ({ratio[1]:.0%})",
           title="Peta profil kesiapan (PCA) / readiness profiles (PCA)")
    ax.legend(frameon=False, fontsize=8, loc="best")
    return fig


def plot_centroid_heatmap(centroids: pd.DataFrame, features: pd.DataFrame,
                          labels: Mapping[str, str] | None = None, *, language: str = "id") -> Figure:
    """Profiles x features, coloured by the centroid's deviation from the mean (in standard deviations).

    Parameters
    ----------
    centroids : pandas.DataFrame
        ``profile_centroids.csv``.
    features : pandas.DataFrame
        All regions' features (for the mean and standard deviation).
    labels : Mapping, optional
        Feature code -> display label.
    language : {"id", "en"}
        Which profile names to show.
    """
    codes = list(features.columns)
    z = (centroids[codes] - features.mean()) / features.std(ddof=0).replace(0, 1)
    fig = Figure(figsize=(1.1 * len(codes) + 3, 0.6 * len(centroids) + 2.2), layout="constrained")
    ax = fig.subplots()
    limit = max(1.0, float(np.nanmax(np.abs(z.to_numpy()))))
    image = ax.imshow(z.to_numpy(), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), value in np.ndenumerate(centroids[codes].to_numpy()):
        ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=8)
    names = [f"{p}. {n} ({c})" for p, n, c in zip(centroids["profile_id"], centroids[f"profile_name_{language}"],
                                                  centroids["n_regions"], strict=True)]
    ax.set_yticks(range(len(centroids)), names, fontsize=8)
    ax.set_xticks(range(len(codes)), [(labels or {}).get(c, c) for c in codes], rotation=40, ha="right",
                  fontsize=8)
    fig.colorbar(image, ax=ax, label="simpangan baku dari rata-rata / SD from the mean")
    ax.set_title("Pusat profil (nilai 0-100) / profile centroids (scores 0-100)")
    return fig


def plot_profile_sizes(crosstab: pd.DataFrame, title: str) -> Figure:
    """Stacked horizontal bars: regions per group (rows of ``crosstab``) and profile (columns)."""
    fig = Figure(figsize=(8, max(2.5, 0.28 * len(crosstab) + 1.5)), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(len(crosstab))
    for colour, column in zip(_palette(crosstab.shape[1]), crosstab.columns, strict=True):
        ax.barh(crosstab.index.astype(str), crosstab[column], left=left, color=colour, label=column)
        left += crosstab[column].to_numpy()
    ax.invert_yaxis()
    ax.set(xlabel="Jumlah daerah / regions", title=title)
    ax.legend(frameon=False, fontsize=8, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    return fig


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
    for colour, cls in zip(_palette(len(classes)), classes, strict=True):
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


def what_if_controls(inputs, candidates: pd.DataFrame, baseline: pd.DataFrame, selection_params,
                     nominal: tuple[str, str, str]):
    """JupyterLab controls (ipywidgets) for a what-if: methods, quota and weights; redraws on every change.

    Parameters
    ----------
    inputs : smartcity_analysis.uncertainty.UncertaintyInputs
        Matrices and tree.
    candidates, baseline : pandas.DataFrame
        As for :func:`smartcity_analysis.uncertainty.what_if`.
    selection_params : smartcity_analysis.selection.SelectionParams
        The baseline rule (its quota is the slider's start).
    nominal : tuple of str
        ``(impute, normalise, aggregate)`` the dropdowns start at.

    Returns
    -------
    ipywidgets.VBox
        Display it in a notebook cell.
    """
    import dataclasses

    import ipywidgets as widgets
    from IPython.display import display

    from smartcity_analysis.uncertainty import what_if

    tree = inputs.tree
    options = sorted(inputs.matrices)
    dropdowns = {
        "impute": widgets.Dropdown(options=sorted({i for i, _ in options}), value=nominal[0], description="Imputasi"),
        "normalise": widgets.Dropdown(options=sorted({n for _, n in options}), value=nominal[1],
                                      description="Normalisasi"),
        "aggregate": widgets.Dropdown(options=["arithmetic", "geometric"], value=nominal[2], description="Agregasi"),
    }
    quota = widgets.IntSlider(value=selection_params.quota, min=1, max=len(candidates), description="Kuota")
    sliders = {code: widgets.FloatSlider(value=float(w), min=0.0, max=3.0, step=0.05, description=code,
                                         style={"description_width": "200px"}, layout={"width": "480px"})
               for code, w in zip(tree.weight_codes, tree.nominal_weights, strict=True)}
    top_level = max(tree.weight_levels)
    top = [c for c, level in zip(tree.weight_codes, tree.weight_levels, strict=True) if level == top_level]
    indicator_box = widgets.Accordion([widgets.VBox([s for c, s in sliders.items() if c not in top])],
                                      titles=("Bobot indikator / indicator weights",))
    output = widgets.Output()

    def redraw(_=None) -> None:
        result = what_if(inputs, candidates, baseline, **{k: d.value for k, d in dropdowns.items()},
                         weights={c: s.value for c, s in sliders.items()},
                         selection_params=dataclasses.replace(selection_params, quota=quota.value))
        output.clear_output(wait=True)
        with output:
            display(result.counts.to_frame("regions"))
            display(result.comparison[result.comparison["change"].isin(["entered", "left"])])
            display(plot_selection_changes(result.comparison))

    for control in [*dropdowns.values(), quota, *sliders.values()]:
        control.observe(redraw, names="value")
    redraw()
    controls = widgets.VBox([widgets.HBox(list(dropdowns.values())), quota,
                             widgets.HTML("<b>Bobot aspek / aspect weights</b>"), *(sliders[c] for c in top),
                             indicator_box])
    return widgets.VBox([controls, output])
