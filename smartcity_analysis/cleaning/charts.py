"""Charts of the cleaning stage."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

# Up to this many regions the coverage map names every region, one row of 0.11 in each; a larger round (all
# 514 kab/kota, or village-level units) is drawn at the height of this many rows without naming them: a figure
# of 514 named rows is 58 in tall and takes longer to draw than the cleaning itself.
MAX_NAMED_ROWS = 120
ROW_INCHES = 0.11


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
        The coverage map; fields sorted as given, regions as given. Above :data:`MAX_NAMED_ROWS` regions the
        rows are not named and the figure keeps the height of that many rows.
    """
    present = coverage.astype(bool).astype(int)
    named = len(present) <= MAX_NAMED_ROWS
    height = max(4.0, ROW_INCHES * min(len(present), MAX_NAMED_ROWS) + 1.5)
    fig, ax = plt.subplots(figsize=(11, height))
    ax.imshow(present.to_numpy(), aspect="auto", interpolation="nearest",
              cmap=ListedColormap(["#f4d6cc", "#2c6e8f"]), vmin=0, vmax=1)
    ax.set_xticks(range(present.shape[1]), present.columns, rotation=90, fontsize=7)
    if named:
        ax.set_yticks(range(present.shape[0]), present.index, fontsize=5)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(present):,} regions, in the order of the table")
    ax.set_title(f"{title}: dark = present, light = missing")
    fig.subplots_adjust(left=0.12, right=0.98, top=0.95, bottom=0.2)
    return fig
