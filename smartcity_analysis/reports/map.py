"""A dot map of Indonesia's 514 kab/kota as inline SVG: no tiles, no script, nothing fetched.

Each kab/kota is one dot at the point of ``data/raw/reference/region_centroids.csv`` (usually its seat of
government), on a plain longitude/latitude grid (near the equator the distortion is small). In the round map
every kab/kota is a light dot, participants are coloured by readiness profile, selected regions are ringed and
invited regions that did not take part are hollow. A region report shows the same light dots with the region
itself marked and named. Colours come from the Okabe-Ito palette (distinct for colour-blind readers) and
every category also differs by shape or outline, so a grey-scale print still reads; the legend, title and
description are in the page's language.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd

from smartcity_analysis.paths import REFERENCE_DIR
from smartcity_analysis.reports.language import NumberFormat, as_text, validate_language

CENTROIDS_FILE = "region_centroids.csv"
# The frame: every kab/kota lies inside it (95.3-140.8 E, 10.7 S-5.8 N), with a margin for the dots.
LON_RANGE = (94.6, 141.5)
LAT_RANGE = (-11.4, 6.5)
WIDTH = 1000.0
PIXELS_PER_DEGREE = WIDTH / (LON_RANGE[1] - LON_RANGE[0])
MAP_HEIGHT = PIXELS_PER_DEGREE * (LAT_RANGE[1] - LAT_RANGE[0])
LEGEND_ROW = 22.0
DOT_RADIUS = 3.2
# Okabe-Ito, without its yellow (too light on paper): one colour per profile, cycling after seven.
PROFILE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")
OTHER_FILL, ABSENT_STROKE, RING_STROKE = "#d3d8dc", "#4a4a4a", "#111111"
_TEXT = {
    "id": {"other": "Kabupaten/kota lain", "absent": "Diundang, tidak ikut serta", "selected": "Terpilih (cincin)",
           "profile": "Profil {id}: {name}", "participant": "Peserta",
           "title": "Peta peserta asesmen: {n} kabupaten/kota",
           "desc": ("Setiap titik adalah satu dari {total} kabupaten/kota. Peserta diwarnai menurut profil "
                    "kesiapan dan wilayah terpilih diberi cincin."),
           "desc_absent": " Wilayah yang diundang tetapi tidak ikut serta digambar berongga.",
           "position_title": "Letak {name} di antara {total} kabupaten/kota",
           "position_desc": "Titik abu-abu adalah kabupaten/kota lain; {name} ditandai dan diberi nama."},
    "en": {"other": "Other regencies and cities", "absent": "Invited, did not take part",
           "selected": "Selected (ringed)", "profile": "Profile {id}: {name}", "participant": "Participant",
           "title": "Map of the assessment's participants: {n} regencies and cities",
           "desc": ("Each dot is one of the {total} regencies and cities. Participants are coloured by "
                    "readiness profile and selected regions are ringed."),
           "desc_absent": " Regions invited but absent are hollow.",
           "position_title": "Where {name} lies among the {total} regencies and cities",
           "position_desc": "Grey dots are the other regencies and cities; {name} is marked and named."},
}


@dataclass(frozen=True)
class MapPoint:
    """One kab/kota on the map.

    Attributes
    ----------
    region_code, name : str
        The region.
    x, y : float
        Its position in the SVG's coordinates (``x`` east, ``y`` south).
    status : str
        ``"other"``, ``"absent"`` (invited, did not take part) or ``"participant"``.
    profile_id : int or None
        Its readiness profile, for participants.
    selected : bool
        Selected in the round.
    """

    region_code: str
    name: str
    x: float
    y: float
    status: str = "other"
    profile_id: int | None = None
    selected: bool = False


def project(latitude: float, longitude: float) -> tuple[float, float]:
    """Return the SVG position of a point: longitude and latitude scaled alike (plate carrée)."""
    return ((longitude - LON_RANGE[0]) * PIXELS_PER_DEGREE, (LAT_RANGE[1] - latitude) * PIXELS_PER_DEGREE)


def load_centroids(reference_dir: str | Path | None = None) -> pd.DataFrame:
    """Return the 514 region points, read once per file version.

    Columns: ``region_code`` (4-digit text), ``official_name``, ``latitude``, ``longitude`` (WGS84 degrees).
    """
    path = Path(reference_dir or REFERENCE_DIR) / CENTROIDS_FILE
    stat = path.stat()
    return _read_centroids(str(path), stat.st_size, stat.st_mtime_ns).copy(deep=False)


@functools.lru_cache(maxsize=2)
def _read_centroids(path: str, size: int, mtime_ns: int) -> pd.DataFrame:
    # Reference data only, never region results: a warm kernel reusing it across reports leaks nothing.
    table = pd.read_csv(path, dtype={"region_code": str}, encoding="utf-8")
    return table.sort_values("region_code", kind="stable").reset_index(drop=True)


def map_points(centroids: pd.DataFrame, participation: pd.DataFrame | None = None,
               profiles: pd.DataFrame | None = None, ranking: pd.DataFrame | None = None) -> tuple[MapPoint, ...]:
    """Place every kab/kota and give it its status in the round.

    Parameters
    ----------
    centroids : pandas.DataFrame
        From :func:`load_centroids`.
    participation : pandas.DataFrame, optional
        ``participation.csv`` (``region_code``, ``status``); without it nobody is marked absent.
    profiles : pandas.DataFrame, optional
        ``profiles.csv`` (``region_code``, ``profile_id``): the participants.
    ranking : pandas.DataFrame, optional
        ``ranking.csv`` (``region_code``, ``selected``).

    Returns
    -------
    tuple of MapPoint
        One per row of ``centroids``, in its order.
    """
    profile_of = {} if profiles is None or "profile_id" not in profiles else {
        str(c): int(p) for c, p in zip(profiles["region_code"], profiles["profile_id"], strict=True) if pd.notna(p)}
    selected = set() if ranking is None or "selected" not in ranking else {
        str(c) for c, s in zip(ranking["region_code"], ranking["selected"], strict=True)
        if str(s).strip().lower() in ("true", "1")}
    absent = set() if participation is None or "status" not in participation else set(
        participation.loc[participation["status"] == "absent", "region_code"].astype(str))
    points = []
    for code, name, lat, lon in zip(centroids["region_code"], centroids["official_name"], centroids["latitude"],
                                    centroids["longitude"], strict=True):
        x, y = project(float(lat), float(lon))
        status = "participant" if code in profile_of else "absent" if code in absent else "other"
        points.append(MapPoint(code, str(name), round(x, 1), round(y, 1), status, profile_of.get(code),
                               code in selected))
    return tuple(points)


def profile_colour(profile_id: int) -> str:
    """Return the colour of a profile (1 is the first colour)."""
    return PROFILE_COLOURS[(int(profile_id) - 1) % len(PROFILE_COLOURS)]


def round_map_svg(points: Sequence[MapPoint], profile_names: Mapping[int, str], language: str = "id") -> str:
    """Draw the round map: light dots, participants by profile, the selected ringed, the absent hollow.

    Parameters
    ----------
    points : sequence of MapPoint
        From :func:`map_points`.
    profile_names : Mapping of int to str
        Profile names in the page's language, for the legend.
    language : {"id", "en"}
        Language of the title, description and legend.

    Returns
    -------
    str
        An ``<svg>`` element (no XML declaration, no script, no external reference) to place in the page.
    """
    text = _TEXT[validate_language(language)]
    fmt = NumberFormat(language)
    counts = {s: sum(p.status == s for p in points) for s in ("other", "absent", "participant")}
    by_profile = {pid: sum(p.profile_id == pid for p in points) for pid in sorted(profile_names)}
    legend = [(_dot_legend(OTHER_FILL, "none"), f"{text['other']} ({fmt.integer(counts['other'])})")]
    if counts["absent"]:
        legend.append((_dot_legend("#ffffff", ABSENT_STROKE), f"{text['absent']} ({fmt.integer(counts['absent'])})"))
    legend += [(_dot_legend(profile_colour(pid), "#ffffff"),
                text["profile"].format(id=pid, name=profile_names[pid]) + f" ({fmt.integer(n)})")
               for pid, n in by_profile.items()]
    n_selected = sum(p.selected for p in points)
    if n_selected:
        legend.append((_ring_legend(), f"{text['selected']} ({fmt.integer(n_selected)})"))
    layers = ("other", "absent", "participant")
    ordered = sorted(points, key=lambda p: (layers.index(p.status), p.region_code))
    marks = [_dot(p) for p in ordered] + [_ring(p) for p in ordered if p.selected]
    title = text["title"].format(n=fmt.integer(counts["participant"]))
    description = text["desc"].format(total=fmt.integer(len(points))) + (text["desc_absent"] if counts["absent"]
                                                                          else "")
    return _svg(title, description, marks, legend, "sc-map-round")


def position_map_svg(points: Sequence[MapPoint], region_code: str, language: str = "id") -> str:
    """Draw one region's position: every kab/kota a light dot, the region marked, ringed and named."""
    text = _TEXT[validate_language(language)]
    fmt = NumberFormat(language)
    own = next((p for p in points if p.region_code == region_code), None)
    if own is None:
        raise ValueError(f"region {region_code!r} is not in {CENTROIDS_FILE}: not a kab/kota code")
    others = [_dot(MapPoint(p.region_code, p.name, p.x, p.y)) for p in points if p.region_code != region_code]
    anchor = "end" if own.x > WIDTH * 0.75 else "start"
    dx = -9 if anchor == "end" else 9
    marks = [*others,
             f'<circle class="sc-dot sc-here" data-code="{own.region_code}" cx="{own.x}" cy="{own.y}" r="6" '
             f'fill="{PROFILE_COLOURS[0]}" stroke="#ffffff" stroke-width="1"><title>{escape(own.name)}</title>'
             "</circle>",
             f'<circle class="sc-ring" cx="{own.x}" cy="{own.y}" r="10" fill="none" stroke="{RING_STROKE}" '
             'stroke-width="1.6"/>',
             f'<text x="{own.x + dx}" y="{own.y - 9}" text-anchor="{anchor}" font-size="17" font-weight="bold" '
             f'fill="#111111" stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(own.name)}</text>']
    title = text["position_title"].format(name=own.name, total=fmt.integer(len(points)))
    description = text["position_desc"].format(name=own.name)
    return _svg(title, description, marks, [], "sc-map-position")


def _dot(point: MapPoint) -> str:
    if point.status == "participant":
        fill, stroke, width = profile_colour(point.profile_id or 1), "#ffffff", 0.6
    elif point.status == "absent":
        fill, stroke, width = "#ffffff", ABSENT_STROKE, 1.3
    else:
        fill, stroke, width = OTHER_FILL, "none", 0
    radius = DOT_RADIUS + (0.8 if point.status != "other" else 0)
    label = f"<title>{escape(point.name)}</title>" if point.status != "other" else ""
    return (f'<circle class="sc-dot sc-{point.status}" data-code="{point.region_code}" cx="{point.x}" '
            f'cy="{point.y}" r="{radius:g}" fill="{fill}" stroke="{stroke}" stroke-width="{width:g}">{label}'
            "</circle>")


def _ring(point: MapPoint) -> str:
    return (f'<circle class="sc-ring" data-code="{point.region_code}" cx="{point.x}" cy="{point.y}" r="7" '
            f'fill="none" stroke="{RING_STROKE}" stroke-width="1.3"/>')


def _dot_legend(fill: str, stroke: str) -> str:
    return f'<circle cx="0" cy="0" r="5" fill="{fill}" stroke="{stroke}" stroke-width="1.3"/>'


def _ring_legend() -> str:
    return (f'<circle cx="0" cy="0" r="4" fill="{PROFILE_COLOURS[0]}"/>'
            f'<circle cx="0" cy="0" r="8" fill="none" stroke="{RING_STROKE}" stroke-width="1.3"/>')


def _svg(title: str, description: str, marks: Sequence[str], legend: Sequence[tuple[str, str]],
         css_class: str) -> str:
    rows = (len(legend) + 1) // 2
    height = MAP_HEIGHT + (rows * LEGEND_ROW + 16 if legend else 0)
    items = []
    for k, (symbol, label) in enumerate(legend):
        x, y = 20 + (k % 2) * WIDTH / 2, MAP_HEIGHT + 18 + (k // 2) * LEGEND_ROW
        items.append(f'<g transform="translate({x:g},{y:g})">{symbol}<text x="16" y="5" font-size="15" '
                     f'fill="#111111">{escape(label)}</text></g>')
    return (f'<svg class="sc-map {css_class}" viewBox="0 0 {WIDTH:g} {height:.1f}" width="100%" role="img" '
            f'aria-labelledby="{css_class}-title {css_class}-desc" font-family="sans-serif">'
            f'<title id="{css_class}-title">{escape(title)}</title><desc id="{css_class}-desc">'
            f'{escape(description)}</desc>'
            f'<rect x="0" y="0" width="{WIDTH:g}" height="{MAP_HEIGHT:.1f}" fill="#ffffff" stroke="#c8ced3"/>'
            + "".join(marks) + "".join(items) + "</svg>")


def round_map_from_tables(tables: Mapping[str, pd.DataFrame], language: str = "id",
                          reference_dir: str | Path | None = None) -> str:
    """Draw the round map from a round's processed tables.

    Reads ``profiles``, ``ranking``, ``profile_centroids`` and, when the round has an invitation list,
    ``participation`` (a table without ``status`` marks nobody absent).

    Returns
    -------
    str
        The SVG, or an empty string when the reference has no region points (the page then says so).
    """
    try:
        centroids = load_centroids(reference_dir)
    except FileNotFoundError:
        return ""
    names = {int(p): as_text(n) for p, n in zip(tables["profile_centroids"]["profile_id"],
                                                 tables["profile_centroids"][f"profile_name_{language}"],
                                                 strict=True) if pd.notna(p)}
    points = map_points(centroids, tables.get("participation"), tables["profiles"], tables["ranking"])
    return round_map_svg(points, names, language)


def position_map(region_code: str, language: str = "id", reference_dir: str | Path | None = None) -> str:
    """Draw one region's position among the 514 kab/kota; an empty string when the reference has no points."""
    path = Path(reference_dir or REFERENCE_DIR) / CENTROIDS_FILE
    if not path.is_file():
        return ""
    stat = path.stat()
    return position_map_svg(_reference_points(str(path), stat.st_size, stat.st_mtime_ns), region_code, language)


@functools.lru_cache(maxsize=2)
def _reference_points(path: str, size: int, mtime_ns: int) -> tuple[MapPoint, ...]:
    # The 514 points of the reference alone (no round data): safe to share between reports in a warm kernel.
    return map_points(_read_centroids(path, size, mtime_ns))
