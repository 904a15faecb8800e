import datetime as dt

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from smartcity_analysis.cleaning.parse import (
    apply_consistency_rules,
    canonical_text,
    describe_change,
    number_readings,
    parse_frame,
    parse_value,
    to_typed,
)


def parse(field, raw, specs, vocab):
    return parse_value(raw, specs[field], vocab)


@pytest.mark.parametrize(("text", "expected"), [
    ("72", [(72.0, None)]),
    ("72.45", [(72.45, None)]),
    ("72,45", [(72.45, "id_number_format")]),
    ("1.234.567,89", [(1234567.89, "id_number_format")]),
    ("1.234.567", [(1234567.0, "id_number_format")]),
    ("1,234,567.89", [(1234567.89, "en_number_format")]),
    ("1.234", [(1.234, None), (1234.0, "id_number_format")]),
    ("1,234", [(1.234, "id_number_format"), (1234.0, "en_number_format")]),
    ("0.820", [(0.82, None)]),
    ("3204.0", [(3204.0, None)]),
    ("-5", [(-5.0, None)]),
    ("1 234 567", [(1234567.0, None)]),
    ("abc", []),
    ("1.2.3", []),
])
def test_number_readings(text, expected):
    assert number_readings(text) == expected


@pytest.mark.parametrize(("field", "raw", "value", "rule"), [
    # integers: Indonesian thousands, Excel floats, cells
    ("population", "1.234.567", 1234567, "id_number_format"),
    ("population", "1.234", 1234, "id_number_format"),
    ("population", "1,234,567", 1234567, "en_number_format"),
    ("population", "3204.0", 3204, None),
    ("population", 250000, 250000, None),
    ("population", 250000.0, 250000, None),
    ("population", "12,5", None, "not_an_integer"),
    ("population", "banyak", None, "unparseable_number"),
    ("population", "500", None, "out_of_range"),
    # numbers: the range decides an ambiguous 1.234 when only one reading fits
    ("hdi", "72,45", 72.45, "id_number_format"),
    ("hdi", "72.45", 72.45, None),
    ("hdi", 72.45, 72.45, None),
    ("hdi", "12.345", 12.345, None),
    ("area_km2", "1.234", None, "ambiguous_number"),
    ("area_km2", "123.456", 123.456, None),
    ("area_km2", "12.345", None, "ambiguous_number"),
    ("hdi", "172", None, "out_of_range"),
    ("spbe_index", "2,61", 2.61, "id_number_format"),
    # money shorthand
    ("apbd_total_idr", "Rp 12,5 M", 12_500_000_000.0, "money_shorthand"),
    ("apbd_total_idr", "Rp. 12,5 miliar", 12_500_000_000.0, "money_shorthand"),
    ("apbd_total_idr", "IDR 1,5 T", 1_500_000_000_000.0, "money_shorthand"),
    ("apbd_total_idr", "1,5 triliun", 1_500_000_000_000.0, "money_shorthand"),
    ("ict_budget_idr", "750 jt", 750_000_000.0, "money_shorthand"),
    ("ict_budget_idr", "750 juta", 750_000_000.0, "money_shorthand"),
    ("ict_budget_idr", "500 rb", 500_000.0, "money_shorthand"),
    ("ict_budget_idr", "Rp 1.250.000.000,-", 1_250_000_000.0, "money_shorthand"),
    ("ict_budget_idr", "1.250.000.000", 1_250_000_000.0, "id_number_format"),
    ("ict_budget_idr", "1.234", 1234.0, "id_number_format"),
    ("ict_budget_idr", 2_000_000_000, 2_000_000_000.0, None),
    ("ict_budget_idr", "Rp 20.727 jt", 20_727_000_000.0, "money_shorthand"),
    ("ict_budget_idr", "Rp. 154.712jt", 154_712_000_000.0, "money_shorthand"),
    ("ict_budget_idr", "1,234 M", 1_234_000_000.0, "money_shorthand"),
    ("ict_budget_idr", "IDR 11,841,000,000.00", 11_841_000_000.0, "money_shorthand"),
    ("ict_budget_idr", "1,250,000,000.00", 1_250_000_000.0, "en_number_format"),
    ("ict_budget_idr", "12 dolar", None, "unparseable_number"),
    ("apbd_total_idr", "750 jt", None, "out_of_range"),
    # percentages
    ("households_internet_pct", "82%", 82.0, "percent_sign"),
    ("households_internet_pct", "82 %", 82.0, "percent_sign"),
    ("households_internet_pct", "82", 82.0, None),
    ("households_internet_pct", "82,5", 82.5, "id_number_format"),
    ("households_internet_pct", "0,82", None, "ambiguous_percent_fraction"),
    ("households_internet_pct", 0.82, None, "ambiguous_percent_fraction"),
    ("households_internet_pct", "0,5%", 0.5, "percent_sign"),
    ("households_internet_pct", "0", 0.0, None),
    ("households_internet_pct", "105%", None, "out_of_range"),
    # likert: numeric, a 4,0 is 4 and 3,5 stays 3.5
    ("leadership_score", "4,0", 4.0, "id_number_format"),
    ("leadership_score", "3,5", 3.5, "id_number_format"),
    ("leadership_score", 4, 4.0, None),
    ("leadership_score", "6", None, "out_of_range"),
    # booleans
    ("has_data_center", "Ya", True, "yes_no_word"),
    ("has_data_center", "ADA", True, "yes_no_word"),
    ("has_data_center", "Sudah", True, "yes_no_word"),
    ("has_data_center", "✓", True, "yes_no_word"),
    ("has_data_center", "Tidak ada", False, "yes_no_word"),
    ("has_data_center", "Belum", False, "yes_no_word"),
    ("has_data_center", "T", False, "yes_no_word"),
    ("has_data_center", 1, True, "yes_no_word"),
    ("has_data_center", 0, False, "yes_no_word"),
    ("has_data_center", True, True, None),
    ("has_data_center", "Proses", None, "in_progress_not_boolean"),
    ("has_data_center", "Dalam penyusunan", None, "in_progress_not_boolean"),
    ("has_data_center", "mungkin", None, "unparseable_boolean"),
    # ordinals
    ("fiscal_capacity", "Sedang", "sedang", "ordinal_variant"),
    ("fiscal_capacity", "SGT TINGGI", "sangat tinggi", "ordinal_variant"),
    ("fiscal_capacity", "  very low ", "sangat rendah", "ordinal_variant"),
    ("smart_city_regulation", "Perwali", "ditetapkan", "ordinal_variant"),
    ("smart_city_regulation", "none", "tidak ada", "ordinal_variant"),
    ("smart_city_regulation", "Dalam penyusunan", "draf", "ordinal_variant"),
    ("smart_city_regulation", "segera", None, "unparseable_ordinal"),
    # dates
    ("submitted_at", "03/11/2021", dt.datetime(2021, 11, 3), "day_first_date"),
    ("submitted_at", "3-11-2021", dt.datetime(2021, 11, 3), "day_first_date"),
    ("submitted_at", "03/11/2021 14:30", dt.datetime(2021, 11, 3, 14, 30), "day_first_date"),
    ("submitted_at", "9 Nopember 2021", dt.datetime(2021, 11, 9), "month_name_date"),
    ("submitted_at", "10 Mei 2021", dt.datetime(2021, 5, 10), "month_name_date"),
    ("submitted_at", "Senin, 8 Agustus 2022", dt.datetime(2022, 8, 8), "month_name_date"),
    ("submitted_at", "2021-11-03", dt.datetime(2021, 11, 3), "date_format"),
    ("submitted_at", "2021-11-03T10:15:00", dt.datetime(2021, 11, 3, 10, 15), "date_format"),
    ("submitted_at", dt.datetime(2021, 11, 3, 9, 0), dt.datetime(2021, 11, 3, 9, 0), None),
    ("submitted_at", 44508, dt.datetime(2021, 11, 8), "excel_date_serial"),
    ("submitted_at", "44508", dt.datetime(2021, 11, 8), "excel_date_serial"),
    ("submitted_at", "31/02/2021", None, "unparseable_date"),
    ("submitted_at", "kemarin", None, "unparseable_date"),
    # missing markers
    ("hdi", "-", None, "missing_marker"),
    ("hdi", "n/a", None, "missing_marker"),
    ("hdi", "Tidak tersedia", None, "missing_marker"),
    ("has_data_center", "belum ada data", None, "missing_marker"),
    ("assessment_class", "-", None, "missing_marker"),
    ("hdi", "", None, None),
    ("hdi", "   ", None, None),
    ("hdi", None, None, None),
    # text and notes
    ("assessment_class", "  Kelas A ", "Kelas A", "trimmed"),
    ("assessment_class", 3, "3", "trimmed"),
    ("notes", "=SUM(A1:A3)", "'=SUM(A1:A3)", "formula_neutralised"),
    ("notes", "+62 811", "'+62 811", "formula_neutralised"),
    ("notes", "@cmd", "'@cmd", "formula_neutralised"),
    ("notes", "<script>alert(1)</script>", "<script>alert(1)</script>", "trimmed"),
])
def test_parse_value(field, raw, value, rule, specs, vocab):
    parsed = parse(field, raw, specs, vocab)
    assert (parsed.value, parsed.rule) == (value, rule)
    if parsed.value is None and rule not in (None, "missing_marker"):
        assert parsed.message  # a rejected value always says why


@pytest.mark.parametrize(("field", "raw", "expected"), [
    ("apbd_total_idr", "Rp 12,5 M", ("Rp 12,5 M", "12500000000", "money_shorthand")),
    ("has_data_center", "Ya", ("Ya", "true", "yes_no_word")),
    ("hdi", "72,45", ("72,45", "72.45", "id_number_format")),
    ("hdi", "72.45", None),
    ("leadership_score", 5, None),
    ("population", 3204.0, None),
    ("population", "3204.0", ("3204.0", "3204", "number_format")),
    ("hdi", " 72.45 ", (" 72.45 ", "72.45", "trimmed")),
    ("hdi", "", None),
    ("hdi", "172", ("172", "", "out_of_range")),
])
def test_describe_change_logs_only_changed_text(field, raw, expected, specs, vocab):
    change = describe_change(raw, parse_value(raw, specs[field], vocab))
    assert (change[:3] if change else None) == expected


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (True, "true"), (3, "3"), (3.0, "3"), (72.45, "72.45"), (12_500_000_000.0, "12500000000"),
    (dt.datetime(2021, 11, 3), "2021-11-03"), (dt.datetime(2021, 11, 3, 9, 5), "2021-11-03T09:05:00"),
    (float("nan"), ""),
])
def test_canonical_text(value, text):
    assert canonical_text(value) == text


def test_parse_frame_records_changes(specs, vocab):
    rows = pd.DataFrame({"row_seq": [0, 1], "hdi": ["72,45", "72.45"], "has_data_center": ["Ya", None]},
                        dtype=object)
    values, changes = parse_frame(rows, specs, vocab)
    assert values["hdi"].tolist() == [72.45, 72.45]
    assert values["has_data_center"].tolist() == [True, None]
    expected = pd.DataFrame({
        "row_seq": [0, 0], "field": ["hdi", "has_data_center"], "original_value": ["72,45", "Ya"],
        "cleaned_value": ["72.45", "true"], "rule": ["id_number_format", "yes_no_word"], "message": ["", ""],
    })
    assert_frame_equal(changes, expected, check_dtype=False)


def test_consistency_rules_blank_the_breaking_field(framework, specs):
    values = pd.DataFrame({
        "row_seq": [0, 1, 2],
        "apbd_total_idr": [1e12, 1e12, None], "pad_idr": [2e12, 5e11, 3e12],
        "civil_servants": [1000, 1000, 1000], "ict_civil_servants": [50, 2000, None],
    }, dtype=object)
    cleaned, changes = apply_consistency_rules(values, framework.rules, specs)
    assert cleaned["pad_idr"].tolist() == [None, 5e11, 3e12]  # no APBD: nothing to compare with
    assert cleaned["ict_civil_servants"].tolist() == [50, None, None]
    assert changes[["row_seq", "field", "rule"]].values.tolist() == [
        [0, "pad_idr", "rule_pad_not_above_apbd"],
        [1, "ict_civil_servants", "rule_ict_staff_not_above_staff"],
    ]
    assert values["pad_idr"].tolist() == [2e12, 5e11, 3e12]  # input untouched


def test_to_typed_gives_each_type_its_dtype(specs):
    values = pd.DataFrame({
        "population": [1000, None], "hdi": [72.5, None], "has_data_center": [True, None],
        "fiscal_capacity": ["sedang", None], "submitted_at": [dt.datetime(2021, 11, 3), None],
    }, dtype=object)
    typed = to_typed(values, specs)
    assert str(typed["population"].dtype) == "Int64"
    assert typed["hdi"].dtype == "float64"
    assert str(typed["has_data_center"].dtype) == "boolean"
    assert pd.api.types.is_datetime64_any_dtype(typed["submitted_at"])
    assert typed["fiscal_capacity"].isna().tolist() == [False, True]
