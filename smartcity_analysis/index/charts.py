"""Charts of the index stage."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def plot_index_distribution(scores: pd.DataFrame, regions: pd.DataFrame, aspects: list[str]) -> Figure:
    """Draw the readiness index by region type and the spread of each aspect.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``scores.csv`` (``region_code``, aspects, ``readiness_index``).
    regions : pandas.DataFrame
        ``region_code`` and ``region_type`` of each region.
    aspects : list of str
        Aspect columns to show.

    Returns
    -------
    matplotlib.figure.Figure
        Left: histogram of the index, kabupaten and kota stacked; right: box plot of each aspect.
    """
    data = scores.merge(regions[["region_code", "region_type"]], on="region_code", how="left")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    bins = np.linspace(0, 100, 21)
    groups = [g for g in ("Kabupaten", "Kota") if (data["region_type"] == g).any()]
    left.hist([data.loc[data["region_type"] == g, "readiness_index"] for g in groups], bins=bins,
              stacked=True, label=groups, color=["#7fa7c9", "#2c6e8f"][: len(groups)])
    left.set_xlabel("Readiness index (0-100)")
    left.set_ylabel("Regions")
    left.legend(frameon=False)
    right.boxplot([data[a].dropna() for a in aspects], tick_labels=[a.removeprefix("aspect_") for a in aspects])
    right.set_ylabel("Aspect score (0-100)")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, wspace=0.25)
    return fig


def plot_coherence(correlations: pd.DataFrame, *, title: str) -> Figure:
    """Draw a correlation matrix as a heat map with the values printed.

    Parameters
    ----------
    correlations : pandas.DataFrame
        A square correlation table.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The heat map (red positive, blue negative).
    """
    size = 0.45 * len(correlations) + 2.5
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(correlations.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(correlations.columns)), correlations.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(correlations.index)), correlations.index, fontsize=7)
    for (i, j), value in np.ndenumerate(correlations.to_numpy(dtype=float)):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    fig.tight_layout()
    return fig
