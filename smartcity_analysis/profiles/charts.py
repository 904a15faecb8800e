"""Charts of the profiles stage (notebook 03).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so no global figure state is
left behind and a notebook shows each chart exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from smartcity_analysis.palette import OTHER, SELECTED, palette


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
    for colour, (_, row) in zip(palette(len(profiles)), profiles.iterrows(), strict=True):
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
    for colour, column in zip(palette(crosstab.shape[1]), crosstab.columns, strict=True):
        ax.barh(crosstab.index.astype(str), crosstab[column], left=left, color=colour, label=column)
        left += crosstab[column].to_numpy()
    ax.invert_yaxis()
    ax.set(xlabel="Jumlah daerah / regions", title=title)
    ax.legend(frameon=False, fontsize=8, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    return fig

