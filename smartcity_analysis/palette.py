"""The colours the workbook's charts share: selected, borderline, other and ineligible regions, and a palette."""

from __future__ import annotations

SELECTED, BORDERLINE, OTHER, INELIGIBLE = "#1f6f8b", "#e0a100", "#9aa5ad", "#d9d9d9"


def palette(n: int) -> list:
    """Return ``n`` colours of matplotlib's ``tab10``, cycling after ten."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]

