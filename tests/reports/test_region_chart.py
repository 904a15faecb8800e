"""The region chart (profile_comparison_svg), written as SVG directly: geometry, legend, escaping, stability."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from smartcity_analysis.reports.charts import _LEGEND, _LEGEND_TEXT_WIDTHS, profile_comparison_svg
from smartcity_analysis.reports.region import ChartData

NAN = float("nan")
SVG = "{http://www.w3.org/2000/svg}"
COLOURS = ("#1f5fa8", "#9bb8d9", "#d98c1f")  # region, profile centre, national median
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP = 151.2, 488.88, 25.2  # 0.30 and 0.97 of 504 pt; 0.35 in below the top
PLOT_WIDTH = PLOT_RIGHT - PLOT_LEFT
Y_TICK_BASELINE = 3.419  # a label's baseline below its tick

# Region 1101 of the national round of the profiling run (report_context(<round>, "1101", "id").chart),
# values rounded to 3 decimals.
REALISTIC = ChartData(
    codes=("aspect_struktur", "aspect_infrastruktur", "aspect_suprastruktur", "dimension_governance",
           "dimension_branding", "dimension_economy", "dimension_living", "dimension_society",
           "dimension_environment"),
    labels=("Struktur", "Infrastruktur", "Suprastruktur", "Smart Governance", "Smart Branding", "Smart Economy",
            "Smart Living", "Smart Society", "Smart Environment"),
    region=(28.764, 50.659, 15.205, 24.652, 51.441, 27.858, 43.326, 41.129, 50.0),
    centroid=(25.196, 33.761, 22.414, 22.032, 35.763, 22.719, 30.194, 38.168, 25.691),
    national=(37.56, 50.023, 51.287, 40.12, 44.336, 29.629, 50.253, 57.461, 50.0),
)
# Read once from the matplotlib 3.11 SVG of REALISTIC in "id" (the implementation this one replaced), in pt:
# each bar's (left, top, right, bottom), series by series as matplotlib wrote them.
OLD_BARS = [
    (151.2, 37.898, 248.33, 45.681), (151.2, 66.725, 322.265, 74.508), (151.2, 95.552, 202.544, 103.335),
    (151.2, 124.378, 234.445, 132.161), (151.2, 153.205, 324.906, 160.988), (151.2, 182.032, 245.271, 189.815),
    (151.2, 210.859, 297.503, 218.642), (151.2, 239.685, 290.084, 247.468), (151.2, 268.512, 320.04, 276.295),
    (151.2, 45.681, 236.282, 53.464), (151.2, 74.508, 265.204, 82.291), (151.2, 103.335, 226.888, 111.118),
    (151.2, 132.162, 225.598, 139.945), (151.2, 160.988, 271.964, 168.771), (151.2, 189.815, 227.918, 197.598),
    (151.2, 218.642, 253.159, 226.425), (151.2, 247.469, 280.086, 255.252), (151.2, 276.295, 237.953, 284.078),
    (151.2, 53.465, 278.033, 61.248), (151.2, 82.291, 320.118, 90.074), (151.2, 111.118, 324.386, 118.901),
    (151.2, 139.945, 286.677, 147.728), (151.2, 168.772, 300.914, 176.555), (151.2, 197.598, 251.251, 205.381),
    (151.2, 226.425, 320.894, 234.208), (151.2, 255.252, 345.234, 263.035), (151.2, 284.079, 320.04, 291.862),
]
# ... and its texts: (text, x, y of the baseline, text-anchor).
OLD_TEXTS = [
    ("0", 151.2, 318.397891, "middle"), ("20", 218.736, 318.397891, "middle"), ("40", 286.272, 318.397891, "middle"),
    ("60", 353.808, 318.397891, "middle"), ("80", 421.344, 318.397891, "middle"),
    ("100", 488.88, 318.397891, "middle"), ("Skor (0–100)", 320.04, 331.398594, "middle"),
    ("Struktur", 144.2, 52.992311, "end"), ("Infrastruktur", 144.2, 81.819057, "end"),
    ("Suprastruktur", 144.2, 110.645804, "end"), ("Smart Governance", 144.2, 139.472199, "end"),
    ("Smart Branding", 144.2, 168.299297, "end"), ("Smart Economy", 144.2, 197.125692, "end"),
    ("Smart Living", 144.2, 225.95279, "end"), ("Smart Society", 144.2, 254.779536, "end"),
    ("Smart Environment", 144.2, 283.606283, "end"), ("Wilayah ini", 202.933125, 14.937891, "start"),
    ("Pusat profil", 295.460156, 14.937891, "start"), ("Median nasional", 389.116406, 14.937891, "start"),
]
# ... and its legend patches (left, top, width, height), and where it put the ticks of the two axes.
OLD_LEGEND = [(177.733, 8.638, 18.0, 6.3), (270.26, 8.638, 18.0, 6.3), (363.916, 8.638, 18.0, 6.3)]
OLD_X_TICKS = [151.2, 218.736, 286.272, 353.808, 421.344, 488.88]
OLD_Y_TICKS = [49.573014, 78.399761, 107.226507, 136.053254, 164.88, 193.706746, 222.533493, 251.360239,
               280.186986]


def _chart(labels, region, centroid, national):
    return ChartData(tuple(labels), tuple(labels), tuple(region), tuple(centroid), tuple(national))


def _flat(rows):
    return [value for row in rows for value in row]


def _parse(svg):
    assert svg.startswith("<svg") and "<?xml" not in svg and "<metadata" not in svg
    return ET.fromstring(svg)


def _rects(root):
    """The bars and the legend patches: every rect but the background (which has no x)."""
    return [(float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")), r.get("fill"))
            for r in root.iter(f"{SVG}rect") if r.get("x") is not None]


def _bars(root):
    return [r for r in _rects(root) if r[1] >= PLOT_TOP]


def _legend_patches(root):
    return [r for r in _rects(root) if r[1] < PLOT_TOP]


def _texts(root, anchor):
    return [(t.text or "", float(t.get("x")), float(t.get("y"))) for t in root.iter(f"{SVG}text")
            if t.get("text-anchor") == anchor]


def _plot_bottom(root):
    return float(root.get("viewBox").split()[3]) - 0.55 * 72


def test_region_chart_is_xml_of_the_figures_size():
    for n in (0, 1, 9):
        svg = profile_comparison_svg(_chart([f"L{i}" for i in range(n)], [50.0] * n, [40.0] * n, [30.0] * n))
        root = _parse(svg)
        height = (0.42 * n + 1.0) * 72
        assert root.tag == f"{SVG}svg"
        assert root.get("width") == "504pt"
        assert float(root.get("height").removesuffix("pt")) == pytest.approx(height, abs=1e-3)
        assert [float(v) for v in root.get("viewBox").split()] == pytest.approx([0, 0, 504, height], abs=1e-3)
    assert root.get("height") == "344.16pt" and root.get("viewBox") == "0 0 504 344.16"


def test_one_bar_per_value_with_its_width_proportional_to_the_value():
    root = _parse(profile_comparison_svg(_chart(["a", "b"], [50.0, 100.0], [0.0, 25.0], [12.5, 75.0])))
    bars = _bars(root)
    assert [b[4] for b in bars] == [COLOURS[0]] * 2 + [COLOURS[1]] * 2 + [COLOURS[2]] * 2
    assert all(b[0] == pytest.approx(PLOT_LEFT) for b in bars)
    assert [b[2] for b in bars] == pytest.approx([v / 100 * PLOT_WIDTH for v in (50, 100, 0, 25, 12.5, 75)],
                                                 abs=2e-3)
    assert bars[0][2] == pytest.approx(PLOT_WIDTH / 2, abs=2e-3)


def test_bars_sit_on_their_label_in_series_order_first_label_at_the_top():
    labels = ["first", "second", "third", "fourth"]
    root = _parse(profile_comparison_svg(_chart(labels, [10.0] * 4, [20.0] * 4, [30.0] * 4)))
    bars, names = _bars(root), _texts(root, "end")
    assert [name for name, _, _ in names] == labels
    ticks = [y - Y_TICK_BASELINE for _, _, y in names]
    assert ticks == sorted(ticks)  # the first label at the top
    bar_height = bars[0][3]
    scale = bar_height / 0.27  # pt per label unit
    assert ticks[1] - ticks[0] == pytest.approx(scale, abs=2e-3)
    for k in range(3):
        for i, tick in enumerate(ticks):
            x, y, _, height, colour = bars[k * len(labels) + i]
            assert colour == COLOURS[k] and height == pytest.approx(bar_height, abs=2e-3)
            assert y + height / 2 == pytest.approx(tick + (k - 1) * bar_height, abs=2e-3)
    # The label axis spans the bars' extent (-0.405 .. n - 1 + 0.405) with 5 % margins, as matplotlib's autoscale.
    low, high = -0.405, len(labels) - 1 + 0.405
    margin = 0.05 * (high - low)
    scale = (ticks[-1] - ticks[0]) / (len(labels) - 1)  # less rounding in it than in the bar's height
    assert ticks[0] == pytest.approx(PLOT_TOP + (margin + 0.405) * scale, abs=0.01)
    assert (high + margin - low + margin) * scale == pytest.approx(_plot_bottom(root) - PLOT_TOP, abs=0.01)


def test_a_missing_value_draws_no_bar():
    root = _parse(profile_comparison_svg(_chart(["a", "b", "c"], [10.0, NAN, 30.0], [NAN] * 2 + [5.0],
                                                [1.0, 2.0, 3.0])))
    bars = _bars(root)
    assert [b[4] for b in bars] == [COLOURS[0]] * 2 + [COLOURS[1]] + [COLOURS[2]] * 3
    assert [t for t, _, _ in _texts(root, "start")] == list(_LEGEND["id"])


def test_a_series_without_any_value_is_neither_drawn_nor_in_the_legend():
    root = _parse(profile_comparison_svg(_chart(["a", "b"], [10.0, 20.0], [NAN, NAN], [30.0, 40.0]), "en"))
    assert COLOURS[1] not in {b[4] for b in _bars(root)}
    assert [p[4] for p in _legend_patches(root)] == [COLOURS[0], COLOURS[2]]
    assert [t for t, _, _ in _texts(root, "start")] == ["This region", "National median"]


def test_no_legend_when_no_series_has_a_value():
    root = _parse(profile_comparison_svg(_chart(["a", "b"], [NAN] * 2, [NAN] * 2, [NAN] * 2)))
    assert _rects(root) == []
    assert _texts(root, "start") == []
    assert [t for t, _, _ in _texts(root, "end")] == ["a", "b"]  # the labels and axes are still drawn
    assert "Skor (0–100)" in [t for t, _, _ in _texts(root, "middle")]


def test_labels_are_escaped_and_round_trip_through_the_xml_parser():
    labels = ['Tata & kelola', "<script>alert(1)</script>", '"dikutip" dan \'tunggal\'', "A > B < C", "x\x01y"]
    svg = profile_comparison_svg(_chart(labels, [50.0] * 5, [50.0] * 5, [50.0] * 5))
    root = _parse(svg)
    assert [t for t, _, _ in _texts(root, "end")] == labels[:4] + ["xy"]  # a control character XML cannot hold
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Tata &amp; kelola" in svg
    assert "&quot;dikutip&quot;" in svg and "&#x27;tunggal&#x27;" in svg


def test_values_outside_0_to_100_stay_inside_the_plot():
    root = _parse(profile_comparison_svg(_chart(["a", "b"], [150.0, -20.0], [1e9, -1e9], [100.0, 0.0])))
    bottom = _plot_bottom(root)
    bars = _bars(root)
    assert len(bars) == 6
    for x, y, width, height, _ in bars:
        assert x >= PLOT_LEFT - 1e-3 and x + width <= PLOT_RIGHT + 1e-3 and width >= 0
        assert y >= PLOT_TOP - 1e-3 and y + height <= bottom + 1e-3
    assert [b[2] for b in bars] == pytest.approx([PLOT_WIDTH, 0, PLOT_WIDTH, 0, PLOT_WIDTH, 0], abs=2e-3)


@pytest.mark.parametrize(("language", "legend", "axis"), [
    ("id", ["Wilayah ini", "Pusat profil", "Median nasional"], "Skor (0–100)"),
    ("en", ["This region", "Profile centre", "National median"], "Score (0–100)"),
])
def test_legend_and_axis_are_in_the_reports_language(language, legend, axis):
    root = _parse(profile_comparison_svg(REALISTIC, language))
    assert [t for t, _, _ in _texts(root, "start")] == legend
    assert [t for t, _, _ in _texts(root, "middle")] == ["0", "20", "40", "60", "80", "100", axis]


def test_unknown_language_is_refused():
    with pytest.raises(ValueError):
        profile_comparison_svg(REALISTIC, "fr")


def test_the_same_input_gives_the_same_bytes():
    copy = ChartData(*(tuple(field) for field in (REALISTIC.codes, REALISTIC.labels, REALISTIC.region,
                                                   REALISTIC.centroid, REALISTIC.national)))
    assert profile_comparison_svg(REALISTIC, "en") == profile_comparison_svg(copy, "en")
    assert profile_comparison_svg(REALISTIC, "id") == profile_comparison_svg(REALISTIC, "id")


def test_geometry_agrees_with_the_matplotlib_chart_it_replaced():
    svg = profile_comparison_svg(REALISTIC, "id")
    root = _parse(svg)
    bars = _bars(root)
    assert _flat((x, y, x + w, y + h) for x, y, w, h, _ in bars) == pytest.approx(_flat(OLD_BARS), abs=0.01)
    assert [b[4] for b in bars] == [c for c in COLOURS for _ in range(9)]
    texts = [(t.text, float(t.get("x")), float(t.get("y")), t.get("text-anchor")) for t in root.iter(f"{SVG}text")]
    assert [t[0] for t in texts] == [t[0] for t in OLD_TEXTS] and [t[3] for t in texts] == [t[3] for t in OLD_TEXTS]
    assert _flat(t[1:3] for t in texts) == pytest.approx(_flat(t[1:3] for t in OLD_TEXTS), abs=0.01)
    assert _flat(p[:4] for p in _legend_patches(root)) == pytest.approx(_flat(OLD_LEGEND), abs=0.01)
    # The tick marks, one path: each x tick 3.5 pt down from the axis, then each y tick 3.5 pt left of it.
    ticks = re.findall(r"M([\d.]+) ([\d.]+)([vh])(-?[\d.]+)", root.find(f"{SVG}path").get("d"))
    assert _flat((float(x), float(y)) for x, y, _, _ in ticks) == pytest.approx(
        _flat([(x, 304.56) for x in OLD_X_TICKS] + [(PLOT_LEFT, y) for y in OLD_Y_TICKS]), abs=0.01)
    assert [(d, float(length)) for _, _, d, length in ticks] == [("v", 3.5)] * 6 + [("h", -3.5)] * 9


def test_geometry_without_a_series_agrees_with_the_matplotlib_chart_it_replaced():
    # Without the region's series the label axis is autoscaled to the other bars and the legend centres two
    # entries; the numbers were read once from the matplotlib 3.11 SVG of this very chart in "en".
    root = _parse(profile_comparison_svg(_chart(["A", "B"], [NAN, NAN], [40.0, NAN], [70.0, 20.0]), "en"))
    assert root.get("viewBox") == "0 0 504 132.48"
    bars = [(x, y, x + w, y + h) for x, y, w, h, _ in _bars(root)]
    assert _flat(bars) == pytest.approx(_flat([(151.2, 28.276, 286.272, 39.063), (151.2, 39.064, 387.576, 49.851),
                                               (151.2, 79.016, 218.736, 89.803)]), abs=0.01)
    assert _flat(p[:2] for p in _legend_patches(root)) == pytest.approx([218.988, 8.638, 321.791, 8.638], abs=0.01)
    assert _flat(_texts(root, "start")) == pytest.approx(["Profile centre", 244.188281, 14.937891,
                                                          "National median", 346.990781, 14.937891], abs=0.01)
    assert _flat(_texts(root, "end")) == pytest.approx(["A", 144.2, 37.088934, "B", 144.2, 77.041708], abs=0.01)
    assert _flat(_texts(root, "middle")[-1:]) == pytest.approx(["Score (0–100)", 320.04, 119.717891], abs=0.01)


def test_legend_text_widths_are_those_matplotlib_measures():
    # The legend is centred from these widths; they must follow the legend's texts if those change.
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    measure = TextToPath()
    for language in ("id", "en"):
        for text in _LEGEND[language]:
            width = measure.get_text_width_height_descent(text, FontProperties(family="DejaVu Sans", size=9), False)[0]
            assert math.isclose(_LEGEND_TEXT_WIDTHS[text], width, abs_tol=1e-3), text
