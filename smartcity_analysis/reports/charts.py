"""Charts of the region reports and the round summary, returned as SVG text.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot, so no global figure registry to
leak between reports rendered in one kernel), with fixed margins instead of ``tight_layout`` (it costs a
third of the drawing time) and a fixed SVG hash salt and no date, so the same data give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from smartcity_analysis.reports.language import validate_language
from smartcity_analysis.reports.region import ChartData

_SVG_RC = {"svg.hashsalt": "smartcity-analysis", "svg.fonttype": "none", "font.size": 9}
_COLOURS = ("#1f5fa8", "#9bb8d9", "#d98c1f")
_LEGEND = {
    "id": ("Wilayah ini", "Pusat profil", "Median nasional"),
    "en": ("This region", "Profile centre", "National median"),
}
_AXIS = {
    "id": {"score": "Skor (0–100)", "index": "Indeks kesiapan (0–100)", "regions": "Jumlah wilayah"},
    "en": {"score": "Score (0–100)", "index": "Readiness index (0–100)", "regions": "Number of regions"},
}


def profile_comparison_svg(chart: ChartData, language: str = "id") -> str:
    """Draw a region's aspect and dimension scores against its profile's centre and the national median.

    Parameters
    ----------
    chart : ChartData
        From :func:`smartcity_analysis.reports.region.report_context` (``context.chart``).
    language : {"id", "en"}
        Language of the legend and axis.

    Returns
    -------
    str
        The chart as SVG text (no XML declaration), to embed in HTML.
    """
    language = validate_language(language)
    with matplotlib.rc_context(_SVG_RC):
        return _to_svg(_profile_comparison_figure(chart, language))


def _profile_comparison_figure(chart: ChartData, language: str) -> Figure:
    n = len(chart.labels)
    height_inches = 0.42 * n + 1.0
    fig = Figure(figsize=(7.0, height_inches))
    fig.subplots_adjust(left=0.30, right=0.97, top=1 - 0.35 / height_inches, bottom=0.55 / height_inches)
    ax = fig.add_subplot()
    height = 0.27
    positions = range(n)
    series = (chart.region, chart.centroid, chart.national)
    for k, (values, colour, label) in enumerate(zip(series, _COLOURS, _LEGEND[language], strict=True)):
        if not any(v == v for v in values):  # a series with no value (no profile in a small round) is not drawn
            continue
        ax.barh([p + (k - 1) * height for p in positions], values, height=height, color=colour, label=label)
    ax.set_yticks(list(positions), labels=list(chart.labels))
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(_AXIS[language]["score"])
    ax.spines[["top", "right"]].set_visible(False)
    if ax.get_legend_handles_labels()[0]:  # nothing to name when no series has a value (a round without index)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
    return fig


def index_distribution_svg(values: Sequence[float], language: str = "id", bins: int = 20) -> str:
    """Draw the distribution of the readiness index over the regions of a round.

    Parameters
    ----------
    values : sequence of float
        The readiness index of each region (0-100).
    language : {"id", "en"}
        Language of the axes.
    bins : int, default 20
        Number of equal-width bins over 0-100.

    Returns
    -------
    str
        The histogram as SVG text.
    """
    language = validate_language(language)
    with matplotlib.rc_context(_SVG_RC):
        return _to_svg(_histogram_figure(values, language, bins))


def _histogram_figure(values: Sequence[float], language: str, bins: int) -> Figure:
    fig = Figure(figsize=(7.0, 3.0))
    fig.subplots_adjust(left=0.09, right=0.97, top=0.95, bottom=0.17)
    ax = fig.add_subplot()
    ax.hist(list(values), bins=bins, range=(0, 100), color=_COLOURS[0], edgecolor="white")
    ax.set_xlabel(_AXIS[language]["index"])
    ax.set_ylabel(_AXIS[language]["regions"])
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _to_svg(fig: Figure) -> str:
    buffer = io.StringIO()
    FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # The RDF metadata block only names vocabularies by URL; the page needs none of it.
    start, end = text.find("<metadata>"), text.find("</metadata>")
    return text[:start] + text[end + len("</metadata>"):] if start != -1 and end != -1 else text
