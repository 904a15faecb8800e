import math
import os
import shutil

import pandas as pd
import pytest

from smartcity_analysis.reports.charts import index_distribution_svg, profile_comparison_svg
from smartcity_analysis.reports.language import NumberFormat, format_number, normalise_region_code
from smartcity_analysis.reports.region import format_field_value, report_context
from smartcity_analysis.reports.sections import (
    REPORT_SECTIONS,
    SUMMARY_SECTIONS,
    render_chart,
    render_section,
    render_sections,
    render_summary_chart,
    render_summary_section,
    render_summary_sections,
)
from smartcity_analysis.reports.summary import summary_context
from smartcity_analysis.reports.tables import read_processed_tables
from smartcity_analysis.synthetic.processed import write_synthetic_processed


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


def test_summary_reads_the_panel_sentence_and_the_effect_of_each_class(processed):
    folder, _ = processed
    for language, words, effect, interval in (("id", "Tidak ada bukti", "+0,12", "−0,05 … +0,30"),
                                              ("en", "No evidence", "+0.12", "−0.05 … +0.30")):
        context = summary_context(folder, language)
        text = "".join(render_summary_section(context, s) for s in SUMMARY_SECTIONS)
        assert words in text
        assert context.n_regions == 6
        assert [row[0] for row in context.panel_effects] == ["Kelas A", "Kelas B"]
        assert f"<td>Kelas A</td><td class=\"num\">{effect}</td>" in text
        assert f"<td class=\"num\">{interval}</td>" in text
        assert "df_den" not in text  # the test's internals are not shown to officials


def test_charts_are_deterministic_svg(processed):
    folder, codes = processed
    chart = report_context(folder, codes[0], "id").chart
    first, second = profile_comparison_svg(chart, "id"), profile_comparison_svg(chart, "id")
    assert first == second and first.startswith("<svg")
    assert "Median nasional" in first and "<metadata>" not in first
    assert index_distribution_svg([10.0, 50.0, 90.0], "en").startswith("<svg")


# --- One language per report ------------------------------------------------------------------------------
HEADINGS = {
    "id": ("Laporan kesiapan smart city", "Indeks, peringkat dan seleksi", "Profil kesiapan", "Aspek dan dimensi",
           "Kekuatan dan kelemahan", "Rekomendasi", "Catatan data", "Catatan wilayah"),
    "en": ("Smart-city readiness report", "Index, rank and selection", "Readiness profile",
           "Aspects and dimensions", "Strengths and weaknesses", "Recommendations", "Data notes",
           "The region's notes"),
}
SUMMARY_HEADINGS = {
    "id": ("Ringkasan eksekutif putaran asesmen", "Partisipasi", "Sebaran indeks kesiapan", "Profil kesiapan",
           "Seleksi dan kekokohannya", "Efek panel antar kelas"),
    "en": ("Executive summary of the assessment round", "Participation", "Distribution of the readiness index",
           "Readiness profiles", "Selection and its robustness", "Panel effect between classes"),
}


def _whole_report(context):
    split = REPORT_SECTIONS.index("profile") + 1
    svg = profile_comparison_svg(context.chart, context.language)
    return (render_sections(context, REPORT_SECTIONS[:split]) + render_chart(context, svg)
            + render_sections(context, REPORT_SECTIONS[split:]))


@pytest.mark.parametrize(("language", "other"), [("id", "en"), ("en", "id")])
def test_every_heading_of_a_report_is_in_its_language_only(processed, language, other):
    folder, codes = processed
    text = _whole_report(report_context(folder, codes[0], language))
    for heading in HEADINGS[language]:
        assert heading in text
    for heading in HEADINGS[other]:
        assert heading not in text
    assert text.count("<h1>") == 1 and 'alt="' in text and "data:image/svg+xml;base64," in text


@pytest.mark.parametrize(("language", "other"), [("id", "en"), ("en", "id")])
def test_every_heading_of_the_summary_is_in_its_language_only(processed, language, other):
    folder, _ = processed
    context = summary_context(folder, language)
    text = render_summary_sections(context, SUMMARY_SECTIONS) + render_summary_chart(
        context, index_distribution_svg(context.index_values, language))
    for heading in SUMMARY_HEADINGS[language]:
        assert heading in text
    for heading in SUMMARY_HEADINGS[other]:
        assert heading not in text


def test_unknown_section_is_refused(processed):
    folder, codes = processed
    with pytest.raises(ValueError, match="unknown section"):
        render_section(report_context(folder, codes[0], "id"), "chart")


# --- Data notes -------------------------------------------------------------------------------------------
def _append_csv(path, rows):
    table = pd.read_csv(path, dtype=str)
    pd.concat([table, pd.DataFrame(rows)], ignore_index=True).to_csv(path, index=False, lineterminator="\n")


@pytest.fixture(scope="module")
def resubmitted(processed, tmp_path_factory):
    """The synthetic round, where the first region resubmitted and a third row naming it was quarantined."""
    source, codes = processed
    folder = tmp_path_factory.mktemp("resubmitted")
    shutil.copytree(source, folder, dirs_exist_ok=True)
    code = codes[0]
    accepted = {"source_file": f"{code}_kuesioner.xlsx", "source_row": "2", "region_code": code}
    superseded = {"source_file": "batch_lama.xlsx", "source_row": "7", "region_code": code}
    _append_csv(folder / "cleaning_log.csv", [
        {**superseded, "field": "has_data_center", "original_value": "Y", "cleaned_value": "true",
         "rule": "yes_no_word"},
        {**accepted, "field": "assessment_year", "original_value": "2021.0", "cleaned_value": "2021",
         "rule": "number_format"},
        {**accepted, "field": "has_command_center", "original_value": "Ada", "cleaned_value": "true",
         "rule": "yes_no_word"},
        {**accepted, "field": "pad_idr", "original_value": "Rp 9 T", "cleaned_value": "",
         "rule": "rule_pad_not_above_apbd"},
        {**accepted, "field": "population", "original_value": "1.234.567", "cleaned_value": "1234567",
         "rule": "a_rule_nobody_phrased_yet"},
    ])
    _append_csv(folder / "superseded.csv", [{**superseded, "superseded_by_file": accepted["source_file"],
                                             "superseded_by_row": "2"}])
    _append_csv(folder / "quarantine.csv", [{"source_file": "batch_lain.xlsx", "source_row": "4",
                                             "region_code": code, "reason_code": "region_conflict",
                                             "detail": "code and name disagree"}])
    return folder, code


def test_data_notes_list_the_accepted_submission_only(resubmitted):
    folder, code = resubmitted
    notes = report_context(folder, code, "id").data_notes
    fields = [r["field"] for r in notes.cleaning]
    assert "Pusat Data" not in fields  # changed in the superseded submission only
    assert fields.count("Command Center") == 1
    assert notes.source == {"source_file": f"{code}_kuesioner.xlsx", "source_row": "2"}
    assert notes.superseded == ({"source_file": "batch_lama.xlsx", "source_row": "7"},)
    assert notes.quarantined == ({"source_file": "batch_lain.xlsx", "source_row": "4",
                                  "reason": "kode dan nama wilayah tidak cocok"},)


@pytest.mark.parametrize(("language", "expected"), [
    ("id", {"Tahun Asesmen": ("2021.0", "2021", "penulisan angka dirapikan"),
            "Command Center": ("Ada", "ya", "jawaban ya/tidak diseragamkan"),
            "PAD (Rp)": ("Rp 9 T", "(kosong)", "PAD (Rp) tidak boleh melebihi Total APBD (Rp), dikosongkan"),
            "Jumlah Penduduk (jiwa)": ("1.234.567", "1.234.567", "a_rule_nobody_phrased_yet"),
            "Total APBD (Rp)": ("Rp 1,5 T", "Rp 1.500.000.000.000", "nilai rupiah ditulis lengkap")}),
    ("en", {"Assessment year": ("2021.0", "2021", "number written out plainly"),
            "Has a command centre": ("Ada", "yes", "yes/no answer standardised"),
            "Own-source revenue (IDR)": ("Rp 9 T", "(empty)",
                                         "Own-source revenue (IDR) cannot exceed Regional budget (IDR), left empty"),
            "Population": ("1.234.567", "1,234,567", "a_rule_nobody_phrased_yet"),
            "Regional budget (IDR)": ("Rp 1,5 T", "Rp 1,500,000,000,000", "rupiah amount written out in full")}),
])
def test_data_notes_speak_the_report_language(resubmitted, language, expected):
    folder, code = resubmitted
    context = report_context(folder, code, language)
    rows = {r["field"]: (r["original_value"], r["cleaned_value"], r["rule"]) for r in context.data_notes.cleaning}
    for field, row in expected.items():
        assert rows[field] == row
    html = render_section(context, "data_notes")
    assert "2.021" not in html and "2,021" not in html
    assert "assessment_year" not in html and "yes_no_word" not in html
    assert "batch_lama.xlsx" in html and "batch_lain.xlsx" in html


def test_imputed_and_treated_values_show_indicator_labels(processed):
    folder, codes = processed
    imputed = report_context(folder, codes[1], "id").data_notes.imputed
    assert imputed == ({"indicator": "Indeks Pembangunan Manusia (IPM)", "imputed_value": "70,12",
                        "method": "median provinsi"},)
    treated = report_context(folder, codes[0], "en").data_notes.treated
    assert treated[0]["indicator"] == "Public-service applications per 100,000 residents"
    assert treated[0]["original_value"] == "812.50" and treated[0]["treatment"] == "winsorised"


@pytest.mark.parametrize(("value", "field_type", "group", "language", "text"), [
    (2021.0, "integer", "meta", "id", "2021"),
    ("2021.0", "integer", "meta", "en", "2021"),
    ("3273", "region_code", "meta", "id", "3273"),
    ("2021-11-15", "datetime", "meta", "id", "2021-11-15"),
    ("true", "boolean", "infrastruktur", "id", "ya"),
    ("false", "boolean", "infrastruktur", "en", "no"),
    ("ditetapkan", "ordinal", "suprastruktur", "en", "ditetapkan"),
    ("1445420000000", "money", "struktur", "id", "Rp 1.445.420.000.000"),
    ("235935", "integer", "context", "id", "235.935"),
    ("72.45", "number", "struktur", "id", "72,45"),
    ("0812-555", "pii", "meta", "en", "(personal data, not shown)"),
    (math.nan, "number", "struktur", "id", "(kosong)"),
])
def test_field_values_are_formatted_by_their_type(value, field_type, group, language, text):
    assert format_field_value(value, field_type, group, NumberFormat(language)) == text


# --- Processed tables are read once per file version --------------------------------------------------------
def test_processed_tables_are_cached_per_file_version(processed, tmp_path):
    source, codes = processed
    folder = tmp_path / "processed"
    shutil.copytree(source, folder)
    first = read_processed_tables(folder)
    first["ranking"].loc[:, "rank"] = -1  # a caller's change must not reach the cache
    again = read_processed_tables(folder)
    assert (again["ranking"]["rank"] > 0).all()
    assert again["scores"] is not first["scores"]
    ranking = pd.read_csv(folder / "ranking.csv", dtype={"region_code": str})
    ranking.loc[ranking["region_code"] == codes[0], "official_name"] = "Kota Berganti Nama"
    ranking.to_csv(folder / "ranking.csv", index=False, lineterminator="\n")
    os.utime(folder / "ranking.csv", ns=(1, 1))  # even with an older mtime, the new version is a new key
    changed = read_processed_tables(folder)["ranking"]
    assert "Kota Berganti Nama" in changed["official_name"].tolist()
