"""Charts of the history stage (notebook 07), built without pyplot (no global figure state)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from smartcity_analysis.palette import OTHER, SELECTED


def plot_rank_changes(table: pd.DataFrame, year: int) -> Figure:
    """Each returning region's comparable rank in its previous round against its rank in ``year``.

    Points above the diagonal moved up; regions selected in ``year`` are coloured.
    """
    moved = table[(table["year"] == year) & table["previous_year"].notna()]
    previous = table.set_index(["region_code", "year"])["comparable_rank"]
    before = [previous[(c, int(y))] for c, y in zip(moved["region_code"], moved["previous_year"], strict=True)]
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.subplots()
    colours = [SELECTED if s else OTHER for s in moved["selected"]]
    ax.scatter(before, moved["comparable_rank"], c=colours, s=22)
    top = max([*before, *moved["comparable_rank"], 1])
    ax.plot([1, top], [1, top], color="black", linewidth=0.8, linestyle="--")
    ax.invert_xaxis()
    ax.invert_yaxis()
    ax.set(xlabel="Peringkat sebelumnya / previous rank", ylabel=f"Peringkat {year} / rank in {year}",
           title=f"{len(moved)} wilayah ikut kembali / returning regions")
    return fig
