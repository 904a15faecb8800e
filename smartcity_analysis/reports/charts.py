"""Charts of the region reports and the round summary, returned as SVG text.

The region chart (:func:`profile_comparison_svg`, drawn once per region report, 514 times in a national run)
is written as SVG directly: :func:`_profile_comparison_layout` computes its coordinates, in pt like
matplotlib's SVG backend, and :func:`_profile_comparison_svg_text` writes them with fixed precision, so the
same data give the same bytes. It reproduces the look of the matplotlib figure it replaced (same size,
margins, autoscaled label axis, ticks, legend, colours and fonts) at a small fraction of its cost.

The round's histogram (:func:`index_distribution_svg`, once per round) is still built with
:class:`matplotlib.figure.Figure` directly (no pyplot, so no global figure registry to leak between reports
rendered in one kernel), with fixed margins instead of ``tight_layout`` (it costs a third of the drawing time)
and a fixed SVG hash salt and no date, so the same data give the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

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

# Geometry of the region chart. Lengths are in pt (1/72 in), the unit of the SVG's viewBox as in matplotlib's
# SVG backend; the offsets of texts from what they label are those matplotlib's layout gives DejaVu Sans 9 pt.
_PT_PER_INCH = 72.0
_CHART_WIDTH = 7.0 * _PT_PER_INCH
_ROW_INCHES, _BASE_INCHES = 0.42, 1.0  # the figure's height: 0.42 in a label, plus 1 in
_PLOT_LEFT, _PLOT_RIGHT = 0.30, 0.97  # fractions of the figure's width
_PLOT_TOP, _PLOT_BOTTOM = 0.35 * _PT_PER_INCH, 0.55 * _PT_PER_INCH  # from the figure's top and bottom edges
_BAR_HEIGHT = 0.27  # in label units: label k is centred on y = k, series s of three on k + (s - 1) * 0.27
_LABEL_MARGIN = 0.05  # of the bars' extent, on each side (matplotlib's autoscale margin)
_X_TICKS = (0, 20, 40, 60, 80, 100)
_TICK_LENGTH, _TICK_PAD = 3.5, 3.5
_X_TICK_BASELINE, _X_LABEL_BASELINE = 13.838, 26.838  # below the plot's bottom edge
_Y_TICK_BASELINE = 3.419  # below its tick (matplotlib's "center_baseline" alignment)
_LEGEND_BASELINE = 14.938  # from the figure's top edge; the legend's patches stand on it
_LEGEND_PATCH_WIDTH, _LEGEND_PATCH_HEIGHT = 18.0, 6.3
_LEGEND_TEXT_GAP, _LEGEND_COLUMN_GAP = 7.2, 18.0
# Widths of the legend texts in DejaVu Sans 9 pt as matplotlib measures them (TextToPath), to centre the legend
# as it did; a text not listed is estimated at 0.6 em a character.
_LEGEND_TEXT_WIDTHS = {"Wilayah ini": 49.327, "Pusat profil": 50.456, "Median nasional": 73.23,
                       "This region": 49.714, "Profile centre": 59.603, "National median": 74.101}
_FONT_FAMILY = ("'DejaVu Sans', 'Bitstream Vera Sans', 'Computer Modern Sans Serif', 'Lucida Grande', 'Verdana', "
                "'Geneva', 'Lucid', 'Arial', 'Helvetica', 'Avant Garde', sans-serif")  # matplotlib's default list
_FONT_SIZE = 9.0
_LINE_WIDTH = 0.8
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # no XML 1.0 text may hold


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
        The chart as SVG text (no XML declaration, no metadata), to embed in HTML; the same data give the
        same bytes.

    Notes
    -----
    A horizontal grouped bar chart, written directly (no matplotlib) with the size, margins and look of the
    matplotlib figure it replaced: 7 in wide, 0.42 in a label plus 1 in high, x from 0 to 100. A series with
    no value is neither drawn nor in the legend; a missing value draws no bar; a value outside 0-100 draws its
    bar clamped to the plot. Labels are escaped, so they may hold any text.
    """
    language = validate_language(language)
    return _profile_comparison_svg_text(_profile_comparison_layout(chart, language))


@dataclass(frozen=True)
class _Rect:
    """A filled rectangle of the chart, in pt from the figure's top left corner."""

    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True)
class _Text:
    """A text of the chart: its anchor point (on the baseline) and alignment (SVG ``text-anchor``)."""

    x: float
    y: float
    text: str
    anchor: str


@dataclass(frozen=True)
class _ChartLayout:
    """Where everything of the region chart goes, in pt from the figure's top left corner."""

    width: float
    height: float
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    bars: tuple[_Rect, ...]
    x_ticks: tuple[float, ...]
    y_ticks: tuple[float, ...]
    legend_patches: tuple[_Rect, ...]
    texts: tuple[_Text, ...]


def _profile_comparison_layout(chart: ChartData, language: str) -> _ChartLayout:
    """Lay the region chart out as matplotlib did: three bars a label, first label at the top, x from 0 to 100.

    A series with no value at all (no profile in a small round) is neither drawn nor in the legend, and there
    is no legend when no series has a value (a round without index). A value that is not finite draws no bar;
    one outside 0-100 draws its bar clamped to the plot.
    """
    n = len(chart.labels)
    height = (_ROW_INCHES * n + _BASE_INCHES) * _PT_PER_INCH
    left, right = _PLOT_LEFT * _CHART_WIDTH, _PLOT_RIGHT * _CHART_WIDTH
    top, bottom = _PLOT_TOP, height - _PLOT_BOTTOM
    series = (chart.region, chart.centroid, chart.national)
    drawn = [k for k, values in enumerate(series) if any(v == v for v in values)]
    values = [(k, p + (k - 1) * _BAR_HEIGHT, v) for k in drawn
              for p, v in zip(range(n), series[k], strict=True) if math.isfinite(v)]
    low, high = _label_limits([centre for _, centre, _ in values], n)
    scale = (bottom - top) / (high - low)
    bars = tuple(_Rect(left, top + (centre - _BAR_HEIGHT / 2 - low) * scale,
                       min(max(v, 0.0), 100.0) / 100 * (right - left), _BAR_HEIGHT * scale, _COLOURS[k])
                 for k, centre, v in values)
    x_ticks = tuple(left + t / 100 * (right - left) for t in _X_TICKS)
    y_ticks = tuple(top + (p - low) * scale for p in range(n))
    patches, legend = _legend_layout([(_COLOURS[k], _LEGEND[language][k]) for k in drawn], (left + right) / 2)
    texts = (*(_Text(x, bottom + _X_TICK_BASELINE, str(t), "middle") for x, t in zip(x_ticks, _X_TICKS, strict=True)),
             _Text((left + right) / 2, bottom + _X_LABEL_BASELINE, _AXIS[language]["score"], "middle"),
             *(_Text(left - _TICK_LENGTH - _TICK_PAD, y + _Y_TICK_BASELINE, label, "end")
               for y, label in zip(y_ticks, chart.labels, strict=True)),
             *legend)
    return _ChartLayout(_CHART_WIDTH, height, (left, top, right, bottom), bars, x_ticks, y_ticks, patches, texts)


def _label_limits(centres: Sequence[float], n: int) -> tuple[float, float]:
    """Return the label axis's range (top, bottom) as matplotlib's autoscale gives it.

    The bars' extent with 5 % margins (0 to 1 with no bar), widened to take in the ticks 0 to ``n - 1``.
    """
    if centres:
        low, high = min(centres) - _BAR_HEIGHT / 2, max(centres) + _BAR_HEIGHT / 2
        margin = (high - low) * _LABEL_MARGIN
        low, high = low - margin, high + margin
    else:
        low, high = 0.0, 1.0
    return (min(low, 0.0), max(high, n - 1.0)) if n else (low, high)


def _legend_layout(entries: Sequence[tuple[str, str]], centre: float) -> tuple[tuple[_Rect, ...], tuple[_Text, ...]]:
    """Lay the legend's entries (colour, text) out in one row centred on ``centre``, above the plot."""
    widths = [_LEGEND_PATCH_WIDTH + _LEGEND_TEXT_GAP + _LEGEND_TEXT_WIDTHS.get(text, 0.6 * _FONT_SIZE * len(text))
              for _, text in entries]
    x = centre - (sum(widths) + _LEGEND_COLUMN_GAP * max(0, len(widths) - 1)) / 2
    patches, texts = [], []
    for (colour, text), width in zip(entries, widths, strict=True):
        patches.append(_Rect(x, _LEGEND_BASELINE - _LEGEND_PATCH_HEIGHT, _LEGEND_PATCH_WIDTH, _LEGEND_PATCH_HEIGHT,
                             colour))
        texts.append(_Text(x + _LEGEND_PATCH_WIDTH + _LEGEND_TEXT_GAP, _LEGEND_BASELINE, text, "start"))
        x += width + _LEGEND_COLUMN_GAP
    return tuple(patches), tuple(texts)


def _profile_comparison_svg_text(layout: _ChartLayout) -> str:
    """Write a laid-out region chart as SVG text: no XML declaration, numbers to 3 decimals, texts escaped."""
    width, height = _num(layout.width), _num(layout.height)
    left, top, right, bottom = (_num(v) for v in layout.plot)
    ticks = ("".join(f"M{_num(x)} {bottom}v{_num(_TICK_LENGTH)}" for x in layout.x_ticks)
             + "".join(f"M{left} {_num(y)}h{_num(-_TICK_LENGTH)}" for y in layout.y_ticks))
    stroke = f'fill="none" stroke="#000000" stroke-width="{_num(_LINE_WIDTH)}"'
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}pt" height="{height}pt" '
             f'viewBox="0 0 {width} {height}" version="1.1">',
             f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
             *(_rect_element(bar) for bar in layout.bars),
             f'<path d="{ticks}" {stroke}/>',
             f'<path d="M{left} {top}V{bottom}H{right}" {stroke} stroke-linecap="square"/>',
             *(_rect_element(patch) for patch in layout.legend_patches),
             f'<g font-family="{_FONT_FAMILY}" font-size="{_num(_FONT_SIZE)}px">',
             *(f'<text x="{_num(t.x)}" y="{_num(t.y)}" text-anchor="{t.anchor}">{_xml_text(t.text)}</text>'
               for t in layout.texts),
             "</g>",
             "</svg>"]
    return "\n".join(lines) + "\n"


def _rect_element(rect: _Rect) -> str:
    return (f'<rect x="{_num(rect.x)}" y="{_num(rect.y)}" width="{_num(rect.width)}" height="{_num(rect.height)}" '
            f'fill="{rect.colour}"/>')


def _num(value: float) -> str:
    """Format a coordinate to 3 decimals at most, with no trailing zeros (and no ``-0``), for stable bytes."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _xml_text(text: str) -> str:
    """Escape a text for an SVG element (``&<>"'``), dropping the characters XML 1.0 cannot hold at all."""
    return escape(_NOT_XML.sub("", str(text)), quote=True)


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
