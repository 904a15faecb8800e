import math

import pytest

from smartcity_analysis.narrative import (
    REPORT_SECTIONS,
    SUMMARY_SECTIONS,
    NumberFormat,
    format_number,
    normalise_region_code,
    render_section,
    render_summary_section,
    report_context,
    summary_context,
)
from smartcity_analysis.plots import index_distribution_svg, profile_comparison_svg
from smartcity_analysis.testing import write_synthetic_processed


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    codes = write_synthetic_processed(folder, n_regions=6)
    return folder, codes


@pytest.mark.parametrize(("value", "decimals", "id_text", "en_text"), [
    (72.45, 2, "72,45", "72.45"),
    (1234, 0, "1.234", "1,234"),
    (1234567.891, 2, "1.234.567,89", "1,234,567.89"),
    (-0.5, 1, "-0,5", "-0.5"),
    (math.nan, 2, "–", "–"),
])
def test_numbers_are_written_the_way_each_language_writes_them(value, decimals, id_text, en_text):
    assert format_number(value, "id", decimals) == id_text
    assert format_number(value, "en", decimals) == en_text


def test_percent_and_logged_values():
    assert NumberFormat("id").percent(0.755, 1) == "75,5%"
    assert NumberFormat("en").value("1500000000000.0") == "1,500,000,000,000"
    assert NumberFormat("id").value("Rp 1,5 T") == "Rp 1,5 T"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        format_number(1.0, "fr")


@pytest.mark.parametrize("good", ["3273", 3273, "1101"])
def test_region_codes_accept_strings_and_papermill_ints(good):
    assert normalise_region_code(good) == str(good)


@pytest.mark.parametrize("bad", ["32.73", "327", "32730", "abcd", "../x", " 3273", 3273.0, True, None])
def test_invalid_region_codes_are_rejected(bad):
    with pytest.raises(ValueError, match="4 digits"):
        normalise_region_code(bad)


def test_hostile_notes_are_escaped(processed):
    folder, codes = processed
    html = {code: render_section(report_context(folder, code, "en"), "notes") for code in codes[:3]}
    joined = "".join(html.values())
    assert "<script" not in joined and "<img" not in joined
    assert "&lt;script&gt;" in html[codes[0]]
    assert "&lt;img src=x onerror=" in html[codes[1]]
    assert "=HYPERLINK(" in html[codes[2]] and "<a " not in html[codes[2]]


def test_report_in_indonesian(processed):
    folder, codes = processed
    context = report_context(folder, int(codes[0]), "id")
    text = "".join(render_section(context, s) for s in REPORT_SECTIONS)
    index = format_number(context.standing.index, "id")
    assert "," in index
    assert f"Indeks kesiapan {context.region.name} adalah <strong>{index}</strong> dari 100" in text
    assert f"peringkat <strong>{context.standing.rank}</strong> dari 6 wilayah peserta" in text
    assert "(interval 5–95%)" in text
    assert "termasuk profil kesiapan" in text
    assert "Catatan yang ditulis wilayah" in text


def test_report_in_english(processed):
    folder, codes = processed
    context = report_context(folder, codes[1], "en")
    text = "".join(render_section(context, s) for s in REPORT_SECTIONS)
    index = format_number(context.standing.index, "en")
    assert f"The readiness index of {context.region.name} is <strong>{index}</strong> out of 100" in text
    assert "of 6 participating regions" in text
    assert "belongs to the readiness profile" in text
    assert "Values imputed by the index engine" in text  # the synthetic round imputes this region's IPM
    assert "Fields left empty: Human Development Index (IPM)." in text


def test_recommendations_follow_weaknesses_in_the_report_language(processed):
    folder, codes = processed
    for code in codes:
        en = report_context(folder, code, "en")
        idn = report_context(folder, code, "id")
        assert [r.code for r in en.recommendations] == [r.code for r in idn.recommendations]
        weak = {w.code for w in en.weaknesses}
        for rec in en.recommendations:
            assert rec.code in weak or rec.code.startswith("aspect_")
        if en.recommendations:
            assert en.recommendations[0].text != idn.recommendations[0].text
    assert any(report_context(folder, code, "en").recommendations for code in codes)


def test_unknown_region_names_the_file(processed):
    folder, _ = processed
    with pytest.raises(ValueError, match="submissions_clean.csv"):
        report_context(folder, "9999", "id")


def test_summary_reads_the_panel_sentence(processed):
    folder, _ = processed
    for language, words in (("id", "Tidak ada bukti"), ("en", "No evidence")):
        context = summary_context(folder, language)
        text = "".join(render_summary_section(context, s) for s in SUMMARY_SECTIONS)
        assert words in text
        assert context.n_regions == 6


def test_charts_are_deterministic_svg(processed):
    folder, codes = processed
    chart = report_context(folder, codes[0], "id").chart
    first, second = profile_comparison_svg(chart, "id"), profile_comparison_svg(chart, "id")
    assert first == second and first.startswith("<svg")
    assert "Median nasional" in first and "<metadata>" not in first
    assert index_distribution_svg([10.0, 50.0, 90.0], "en").startswith("<svg")
