"""The whole-column paths of cleaning give exactly what the cell-by-cell paths give.

Each fast path (numbers parsed for a whole column, text rows read column by column, a well-formed CSV split
once, regions resolved through a memo, the log assembled from arrays and written through pyarrow) is
checked against the per-value path it stands in for, on hand-written hostile cells and on generated ones:
same values (and Python types), same change rows, same bytes. Nothing is timed here.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from smartcity_analysis import outputs
from smartcity_analysis.cleaning.parse import (
    CHANGE_COLUMNS,
    FieldSpec,
    common_number_outcomes,
    describe_change,
    distinct_cells,
    form_readings,
    number_forms,
    number_readings,
    parse_cells,
    parse_column,
    parse_value,
)
from smartcity_analysis.cleaning.readers import (
    UnreadableFileError,
    cell_rows_to_frame,
    choose_separator,
    header_lookup,
    is_plain_text,
    plain_rows_to_frame,
    split_csv_text,
)
from smartcity_analysis.cleaning.resolve import load_region_index, resolve_frame, resolve_region
from smartcity_analysis.cleaning.stage import build_log, csv_quoted_characters, text_csv, write_text_table

SETTINGS = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NUMERIC_FIELDS = ["population", "civil_servants", "area_km2", "hdi", "spbe_index", "leadership_score",
                  "households_internet_pct", "apbd_total_idr", "pad_idr", "ict_budget_idr"]
HOSTILE = [
    "72", "72.45", "72,45", " 72,45 ", "1.234", "1,234", "1.000", "1,000", "000.000", "0,5", "0.5", "0.5 %",
    "0,5%", "82 %", "82%%", "%82", "1.234.567", "1.234.567,89", "1,234,567", "1,234,567.89", "3204.0", "00012",
    "0", "1 234 567", "12 ,5", "5.", ".5", "1,2,3", "1.2.3", "-5", "+5", "- 5", "1e5", "inf", "nan", "9" * 400,
    "Rp 12,5 M", "Rp. 1.250.000.000", "Rp1.000 jt", "rp.5m", "IDR 2.000.000,-", "2.67Triliun", "11.19miliar",
    "255777 juta", "Rp 20.727 jt", "Rp 1,234 M", "Rp. 2,388,279,000,000.00", "5 rupiah", "Rp 5 xyz", "Rp",
    "5 jt.", "1.5 M M", "Rp  5  jt", "RP 5 JT", "idr5", "5rb", "1.000 RB", "Rp 1.000", "Rp 1,000", "1.000,-",
    "١٢٣", "１２", "1\u00a0234", "72,45\u202f%", "", "   ", "-", "n/a", "N/A", "tidak tersedia", "?", "ya",
    None, 3, 3.0, 72.45, True, False, float("nan"), 1e400,
]
DIGITS = st.text(st.sampled_from("0123456789"), min_size=1, max_size=5)
NUMBER_TEXT = st.builds("".join, st.lists(st.one_of(DIGITS, st.sampled_from([".", ",", ".000", ",5", " "])),
                                          min_size=1, max_size=5))
AMOUNT = st.builds(lambda prefix, number, unit, pad: f"{pad}{prefix}{number}{unit}{pad}",
                   st.sampled_from(["", "Rp", "Rp.", "Rp ", "Rp. ", "IDR ", "idr", "rp  "]), NUMBER_TEXT,
                   st.sampled_from(["", " jt", "jt", " M", "M", " miliar", "Triliun", " rb", " juta.", " rupiah",
                                    " xyz", ",-", " %", "%"]),
                   st.sampled_from(["", " ", "  "]))
NOISE = st.text(st.sampled_from(list("0123456789.,%-+ RpIDjtMm\u00a0٣\t")), max_size=10)
CELL = st.one_of(NUMBER_TEXT, AMOUNT, NOISE, st.sampled_from(HOSTILE))


def per_value(cells, spec, vocab):
    """The reference: every cell through parse_value and describe_change."""
    return [(parsed.value, describe_change(cell, parsed))
            for cell, parsed in ((cell, parse_value(cell, spec, vocab)) for cell in cells)]


def assert_same_as_per_value(cells, spec, vocab):
    column = parse_cells(cells, spec, vocab)
    expected = per_value(cells, spec, vocab)
    assert [(type(v), v) for v in column.values] == [(type(v), v) for v, _ in expected]
    changes = zip(*(a.to_pylist() for a in (column.original, column.cleaned, column.rule, column.message)),
                  strict=True)
    assert list(zip(column.positions.tolist(), changes, strict=True)) == [
        (i, c) for i, (_, c) in enumerate(expected) if c is not None]


# --- Numbers: the column path and the per-value path --------------------------------------------------------

@pytest.mark.parametrize("field", NUMERIC_FIELDS)
def test_hostile_numbers_parse_as_cell_by_cell(field, specs, vocab):
    assert_same_as_per_value(HOSTILE + HOSTILE[::3], specs[field], vocab)


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
def test_each_column_outcome_is_the_per_value_outcome(field, specs, vocab):
    outcomes = common_number_outcomes(HOSTILE, specs[field], vocab)
    assert outcomes  # the column path takes the clean forms
    for position, outcome in outcomes.items():
        assert outcome == per_value([HOSTILE[position]], specs[field], vocab)[0], HOSTILE[position]


def test_the_column_path_takes_the_common_clean_forms(specs, vocab):
    clean = {"population": ["1473526", "644.273", "1.066.347", "10679.0"],
             "area_km2": ["2016.40", "860,64", "1.006,26"],
             "households_internet_pct": ["75.4", "71.3%", "63,1 %"],
             "apbd_total_idr": ["2.67Triliun", "Rp. 218994 jt", "Rp11,77 Milyar", "IDR 259.82 miliar",
                                "Rp. 20.482.000.000,00", "2456314000000", "Rp. 2,388,279,000,000.00"]}
    for field, texts in clean.items():
        assert sorted(common_number_outcomes(texts, specs[field], vocab)) == list(range(len(texts))), field


@SETTINGS
@given(st.lists(CELL, min_size=1, max_size=30), st.sampled_from(NUMERIC_FIELDS))
def test_generated_numbers_parse_as_cell_by_cell(specs, vocab, cells, field):
    assert_same_as_per_value(cells, specs[field], vocab)


@SETTINGS
@given(st.lists(CELL, min_size=1, max_size=20),
       st.sampled_from(["integer", "number", "likert", "percent", "money"]),
       st.sampled_from([(None, None), (0.0, 5.0), (1000.0, None), (None, 1e12)]))
def test_generated_numbers_of_any_range(vocab, cells, kind, bounds):
    assert_same_as_per_value(cells, FieldSpec("x", "X", kind, *bounds), vocab)


@pytest.mark.parametrize("markers", [{"0", "-"}, {"72,45", "1.234"}, {"rp 5 jt", "1000"}])
def test_missing_markers_win_over_the_column_path(vocab, specs, markers):
    marked = dataclasses.replace(vocab, missing_markers=frozenset(markers))
    for field in ("population", "hdi", "apbd_total_idr", "households_internet_pct"):
        assert_same_as_per_value(["0", "72,45", "1.234", "Rp 5 jt", "1000", "5"], specs[field], marked)


@SETTINGS
@given(NUMBER_TEXT)
def test_form_readings_are_number_readings(text):
    body = text.replace(" ", "")
    form = int(number_forms(pa.array([body]))[0])
    if form >= 0:
        assert form_readings(form, body) == number_readings(body)


# --- Distinct cells and whole columns -----------------------------------------------------------------------

def test_distinct_cells_keep_types_apart():
    codes, distinct = distinct_cells([1, 1.0, True, "1", None, "1", 1])
    assert [(type(d), d) for d in distinct] == [(int, 1), (float, 1.0), (bool, True), (str, "1"),
                                                (type(None), None)]
    assert codes.tolist() == [0, 1, 2, 3, 4, 3, 0]
    codes, distinct = distinct_cells(["a", None, "b", "a"])
    assert distinct == ["a", "b"] and codes.tolist() == [0, -1, 1, 0]  # -1: the empty cell
    assert distinct_cells(["a", ["unhashable"]])[0] is None


@pytest.mark.parametrize("field", ["population", "has_data_center", "fiscal_capacity", "submitted_at", "notes"])
def test_cells_of_any_type_parse_as_cell_by_cell(field, specs, vocab):
    cells = [*HOSTILE, "Ya", " tidak ", "Proses", "High", "03/11/2021", "2021-11-08 10:23", "=1+1", 44508,
             ["unhashable"]]
    assert_same_as_per_value(cells, specs[field], vocab)
    assert_same_as_per_value([c for c in cells if not isinstance(c, list)], specs[field], vocab)


def test_parse_column_lists_the_changes_in_row_order(specs, vocab):
    cells = ["72,45", None, "72.45", "72,45", "abc"]
    values, changes = parse_column(cells, [10, 11, 12, 13, 14], specs["hdi"], vocab)
    assert values == [72.45, None, 72.45, 72.45, None]
    assert [(seq, change[2]) for seq, change in changes] == [(10, "id_number_format"), (13, "id_number_format"),
                                                             (14, "unparseable_number")]


# --- Reading text rows --------------------------------------------------------------------------------------

TEXT_CELL = st.text(st.sampled_from(list("ab1 ;\t\n\r\u00a0\u2028é")), max_size=4)


@SETTINGS
@given(st.lists(st.lists(TEXT_CELL, max_size=6), max_size=12),
       st.lists(st.integers(0, 6), min_size=1, max_size=4, unique=True))
def test_plain_text_rows_read_as_cell_by_cell(rows, positions):
    kept = dict(zip(sorted(positions), ["region_code", "hdi", "notes", "population"], strict=False))
    table = [["header"], *rows]
    assert is_plain_text(table[1:])
    frame, changes = cell_rows_to_frame(table, kept, 1)
    assert changes == []
    assert_frame_equal(plain_rows_to_frame(table, kept, 1), frame)


def test_only_plain_text_takes_the_column_path():
    assert is_plain_text([["a", " "], [], ["b"]])
    assert not is_plain_text([["a", None]])
    assert not is_plain_text([["a", 3]])
    assert not is_plain_text([["a", "b\u200b"]])


def reference_split(text, lookup):
    """The splitting as it was before a well-formed file was split once: lenient, then strict to check."""
    separator = choose_separator(text, lookup)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    except csv.Error as error:
        return ("error", str(error))
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True):
            pass
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            return ("unclosed", len(rows))
    return rows


@SETTINGS
@given(st.text(st.sampled_from(list('ab1;,\t" \n\r')), max_size=40))
def test_csv_split_once_is_the_same_split(framework, body):
    lookup = header_lookup(framework)
    text = "Kode Wilayah;Tahun Asesmen;IPM\r\n" + body
    expected = reference_split(text, lookup)
    try:
        assert split_csv_text(text, lookup) == expected
    except UnreadableFileError as error:
        assert isinstance(expected, tuple)
        if expected[0] == "unclosed":
            assert str(error).startswith(f"row {expected[1]}: a cell opens a quote")


# --- Regions through the memo -------------------------------------------------------------------------------

def test_resolve_frame_is_resolve_region_row_by_row(framework):
    index = load_region_index(framework)
    names = ["Kota Bandung", "Bandung", "Kab. Bandung", "Tanjungpinag", "Kotabaru", "-", None, "Xyz", "Bima"]
    provinces = ["Jawa Barat", "jabar", None, "Prov. Kepri", "-", "Papua"]
    codes = [None, "3273", "32.73", 3204, "9999", "9471", "-", "abc"]
    rows = [(c, n, p) for c in codes for n in names for p in provinces]
    frame = pd.DataFrame({"row_seq": range(len(rows)), "region_code": [r[0] for r in rows],
                          "region_name": [r[1] for r in rows], "province_name": [r[2] for r in rows]},
                         dtype=object).astype({"row_seq": "int64"})
    resolved = resolve_frame(frame, index)
    resolved = resolved.astype(object).where(resolved.notna(), None)
    for (code, name, province), record in zip(rows, resolved.itertuples(index=False), strict=True):
        outcome = resolve_region(code, name, province, index)
        assert (record.region_code, record.reason_code, record.rule, record.message) == (
            outcome.region_code, outcome.reason_code, outcome.rule, outcome.message)


# --- The cleaning log ---------------------------------------------------------------------------------------

def test_build_log_orders_rows_then_template_fields(specs):
    rows = pd.DataFrame({"row_seq": [0, 1, 2], "source_file": ["a.csv"] * 3, "source_row": [2, 3, 4]})
    changes = pd.DataFrame([
        (1, "hdi", "72,45", "72.45", "id_number_format", ""),
        (0, "notes", "=x", "'=x", "formula_neutralised", "starts like a formula"),
        (1, "not_a_field", "x", "y", "some_rule", ""),
        (0, "population", "1.234", "1234", "id_number_format", ""),
        (1, "assessment_year", "2021.0", "2021", "number_format", ""),
        (0, "population", "1234", "", "rule_x", "above the other"),
    ], columns=CHANGE_COLUMNS)
    resolution = pd.DataFrame({"row_seq": [0, 1, 2], "region_code": ["3273", None, "3204"],
                               "reason_code": [None, "missing_region", None],
                               "rule": ["region_code_format", None, None], "original_code": ["32.73", "", "3204"],
                               "message": ["", "no region", ""]})
    log = build_log(rows, changes, resolution, resolution[["row_seq", "region_code"]], specs)
    assert list(log.columns) == ["source_file", "source_row", "region_code", "field", "original_value",
                                 "cleaned_value", "rule", "detail"]
    assert log.astype(object).where(log.notna(), None).values.tolist() == [
        ["a.csv", 2, "3273", "region_code", "32.73", "3273", "region_code_format",
         "a.csv row 2, column Kode Wilayah (region_code): '32.73' read as '3273'"],
        ["a.csv", 2, "3273", "population", "1.234", "1234", "id_number_format",
         "a.csv row 2, column Jumlah Penduduk (jiwa) (population): '1.234' read as '1234'"],
        ["a.csv", 2, "3273", "population", "1234", "", "rule_x",
         "a.csv row 2, column Jumlah Penduduk (jiwa) (population): above the other"],
        ["a.csv", 2, "3273", "notes", "=x", "'=x", "formula_neutralised",
         "a.csv row 2, column Catatan (notes): starts like a formula"],
        ["a.csv", 3, None, "assessment_year", "2021.0", "2021", "number_format",
         "a.csv row 3, column Tahun Asesmen (assessment_year): '2021.0' read as '2021'"],
        ["a.csv", 3, None, "hdi", "72,45", "72.45", "id_number_format",
         "a.csv row 3, column IPM (hdi): '72,45' read as '72.45'"],
        ["a.csv", 3, None, "not_a_field", "x", "y", "some_rule", "a.csv row 3, column not_a_field: 'x' read as 'y'"],
    ]
    assert log["source_row"].dtype == "int64"
    assert str(log["detail"].dtype) == "str"


# --- Writing text tables ------------------------------------------------------------------------------------

TEXT = st.one_of(st.none(), st.just(float("nan")), st.text(max_size=6),
                 st.text(st.sampled_from(list('a ,;"\'\n\r\t\x00é²\u2028\ufeff')), max_size=6))


def pandas_bytes(frame):
    return frame.to_csv(None, **outputs.CSV_OPTIONS).encode("utf-8")


def test_pandas_quotes_what_the_probe_found():
    assert set(csv_quoted_characters()) >= {",", '"', "\n"}


@SETTINGS
@given(st.lists(st.tuples(TEXT, TEXT, st.integers(-10**15, 10**15)), max_size=25), st.booleans())
def test_text_tables_are_written_as_pandas_writes_them(rows, as_str):
    frame = pd.DataFrame(rows, columns=["a", "b \"c\"", "n"]).astype({"a": object, "b \"c\"": object})
    if as_str:
        frame = frame.astype({"a": "str"})
    assert text_csv(frame) == pandas_bytes(frame)


def test_other_tables_are_left_to_pandas(tmp_path):
    numbers = pd.DataFrame({"a": ["x", "y"], "b": [1.5, np.nan]})
    flags = pd.DataFrame({"a": ["x", "y"], "b": pd.array([True, None], dtype="boolean")})
    mixed = pd.DataFrame({"a": ["x", "y"], "b": pd.Series([1, "y"], dtype=object)})
    nullable = pd.DataFrame({"a": ["x", "y"], "b": pd.array([1, None], dtype="Int64")})
    for frame in (numbers, flags, mixed, nullable, pd.DataFrame({"a": ["x"]})):
        assert text_csv(frame) is None
        write_text_table(tmp_path / "t.csv", frame)
        assert (tmp_path / "t.csv").read_bytes() == pandas_bytes(frame)
    text = pd.DataFrame({"a": ["x,1", None], "b": [1, 2]})
    write_text_table(tmp_path / "t.csv", text)
    assert (tmp_path / "t.csv").read_bytes() == pandas_bytes(text) == b'a,b\n"x,1",1\n,2\n'
