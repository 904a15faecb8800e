"""Charts of the cleaning stage."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure


def plot_field_coverage(coverage: pd.DataFrame, *, title: str = "Field coverage by region") -> Figure:
    """Draw a region x field map of present (dark) and missing (light) values.

    Parameters
    ----------
    coverage : pandas.DataFrame
        One row per region, one column per field, truthy where the value is present.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The coverage map; fields sorted as given, regions as given.
    """
    present = coverage.astype(bool).astype(int)
    height = max(4.0, 0.11 * len(present) + 1.5)
    fig, ax = plt.subplots(figsize=(11, height))
    ax.imshow(present.to_numpy(), aspect="auto", interpolation="nearest",
              cmap=ListedColormap(["#f4d6cc", "#2c6e8f"]), vmin=0, vmax=1)
    ax.set_xticks(range(present.shape[1]), present.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(present.shape[0]), present.index, fontsize=5)
    ax.set_title(f"{title}: dark = present, light = missing")
    fig.subplots_adjust(left=0.12, right=0.98, top=0.95, bottom=0.2)
    return fig
