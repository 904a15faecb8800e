"""The dot map (every kab/kota, participants by profile, the selected ringed, the absent hollow) and the
participation sections of the round summary and the index page."""

import re

import pandas as pd
import pytest

from smartcity_analysis.cleaning.invitations import participation_table
from smartcity_analysis.reference import load_regions
from smartcity_analysis.reports.html import index_extras, index_rows, render_index
from smartcity_analysis.reports.map import load_centroids, map_points, position_map_svg, round_map_svg
from smartcity_analysis.reports.region import report_context
from smartcity_analysis.reports.sections import render_section, render_summary_section
from smartcity_analysis.reports.summary import summary_context
from smartcity_analysis.synthetic.processed import write_synthetic_processed

DOT = re.compile(r'<circle class="sc-dot sc-(\w+)" data-code="(\d{4})"')
RING = re.compile(r'<circle class="sc-ring" data-code="(\d{4})"')


def _write_participation(folder, codes, invited_extra=("1171", "1172"), not_invited=1):
    """Invite the participants but the last ``not_invited``, plus two regions that stay away."""
    regions = load_regions()
    invited = regions[regions["region_code"].isin([*codes[:len(codes) - not_invited], *invited_extra])]
    invited = invited.assign(scheduled_class="Kelas A")[["region_code", "scheduled_class"]]
    clean = pd.DataFrame({"region_code": codes, "assessment_class": "Kelas A"})
    quarantine = pd.DataFrame({"region_code": [invited_extra[0]]})
    table = participation_table(invited, clean, quarantine, regions)
    table.to_csv(folder / "participation.csv", index=False)
    pd.DataFrame({"source_file": "invitations-2021.csv", "source_row": [7, 4], "region_code": [None, "1171"],
                  "reason_code": ["unknown_region", "duplicate_invitation"], "detail": "-"}).to_csv(
        folder / "invitations_quarantine.csv", index=False)
    return table


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed_map")
    codes = write_synthetic_processed(folder, n_regions=8)
    participation = _write_participation(folder, codes)
    return folder, codes, participation


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed_bare")
    return folder, write_synthetic_processed(folder, n_regions=5)


def _ranking(folder):
    return pd.read_csv(folder / "ranking.csv", dtype={"region_code": str})


def test_the_round_map_has_514_dots_the_selected_ringed_and_the_absent_hollow(processed):
    folder, codes, participation = processed
    html = render_summary_section(summary_context(folder, "id"), "map")
    dots = DOT.findall(html)
    assert len(dots) == 514 and len({code for _, code in dots}) == 514
    by_status = {code: status for status, code in dots}
    assert {c for c, s in by_status.items() if s == "participant"} == set(codes)
    assert {c for c, s in by_status.items() if s == "absent"} == {"1171", "1172"}
    ranking = _ranking(folder)
    selected = set(ranking.loc[ranking["selected"].astype(str) == "True", "region_code"])
    assert selected and set(RING.findall(html)) == selected
    assert "<script" not in html and "http" not in html and "href" not in html


def test_the_map_speaks_the_page_language(processed):
    folder, _, _ = processed
    indonesian = render_summary_section(summary_context(folder, "id"), "map")
    english = render_summary_section(summary_context(folder, "en"), "map")
    assert "Peta peserta" in indonesian and "Profil 1" in indonesian and "Terpilih" in indonesian
    assert "Diundang, tidak ikut serta (2)" in indonesian
    assert "Map of the participants" in english and "Profile 1" in english and "Invited, did not take part" in english


def test_the_map_is_the_same_bytes_for_the_same_round(processed):
    folder, _, _ = processed
    assert summary_context(folder, "id").map_svg == summary_context(folder, "id").map_svg


def test_without_an_invitation_list_nobody_is_marked_absent(bare):
    folder, codes = bare
    context = summary_context(folder, "id")
    assert context.participation is None
    assert "Daftar undangan tidak tersedia" in render_summary_section(context, "invitations")
    statuses = [s for s, _ in DOT.findall(context.map_svg)]
    assert len(statuses) == 514 and "absent" not in statuses and statuses.count("participant") == len(codes)


def test_participation_in_the_summary(processed):
    folder, codes, _ = processed
    indonesian = render_summary_section(summary_context(folder, "id"), "invitations")
    assert "9 diundang, 7 ikut serta" in indonesian
    assert "1171" in indonesian and "dikarantina" in indonesian  # the absent list names who to call
    assert "Kiriman dari wilayah yang tidak diundang (1)" in indonesian and codes[-1] in indonesian
    assert "Baris daftar undangan yang tidak dapat dipakai (2)" in indonesian
    assert "wilayah sudah tercantum di baris lain" in indonesian and "wilayah tidak dikenali" in indonesian
    assert indonesian.index(">4</td>") < indonesian.index(">7</td>")  # by row
    english = render_summary_section(summary_context(folder, "en"), "invitations")
    assert "9 invited, 7 took part" in english and "not invited (1)" in english
    assert "the region is listed twice" in english


def test_the_index_page_shows_participation_and_the_map(processed, bare):
    folder, _, _ = processed
    page = render_index(index_rows(folder, {}, "id"), "id", summary_href="html/06_round_summary.html",
                        **index_extras(folder, "id"))
    assert "9 diundang, 7 ikut serta" in page and len(DOT.findall(page)) == 514
    plain = render_index(index_rows(bare[0], {}, "en"), "en", **index_extras(bare[0], "en"))
    assert "invited" not in plain.split("<table>")[0] and len(DOT.findall(plain)) == 514
    assert render_index([], "en").count("<svg") == 0


def test_a_region_report_shows_its_own_position(processed):
    folder, codes, _ = processed
    context = report_context(folder, codes[2], "en")
    html = render_section(context, "position")
    dots = DOT.findall(html)
    assert len(dots) == 514 and [c for s, c in dots if s == "here"] == [codes[2]]
    assert RING.findall(html) == [] and html.count('class="sc-ring"') == 1
    assert f">{context.region.name}</text>" in html and "Where the region lies" in html
    assert "Letak wilayah" in render_section(report_context(folder, codes[2], "id"), "position")


def test_a_code_outside_the_reference_is_refused():
    with pytest.raises(ValueError, match="not a kab/kota"):
        position_map_svg(map_points(load_centroids()), "9999", "id")


def test_names_are_escaped_in_the_svg():
    points = map_points(load_centroids().assign(official_name="<b>x</b>"),
                        profiles=pd.DataFrame({"region_code": ["1101"], "profile_id": [1]}))
    svg = round_map_svg(points, {1: "A & B"}, "en")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "A &amp; B" in svg


def test_the_map_renders_offline_in_a_browser(processed, tmp_path):
    from tests.reports.test_browser import ARGS, _browser_or_skip, _visit

    sync_playwright, chromium = _browser_or_skip()
    folder, _, _ = processed
    page_path = tmp_path / "index.html"
    page_path.write_text(render_index(index_rows(folder, {}, "id"), "id", **index_extras(folder, "id")),
                         encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            requests, errors = _visit(page, page_path.resolve().as_uri())
            dots = page.locator("svg.sc-map circle.sc-dot").count()
            rings = page.locator("svg.sc-map circle.sc-ring").count()
            box = page.locator("svg.sc-map").bounding_box()
        finally:
            browser.close()
    assert not errors, errors
    assert all(url.startswith(("file://", "data:")) for url in requests), requests
    ranking = _ranking(folder)
    assert dots == 514 and rings == int((ranking["selected"].astype(str) == "True").sum())
    assert box is not None and box["width"] > 500 and 0.3 < box["height"] / box["width"] < 0.7
