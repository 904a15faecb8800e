import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from smartcity_analysis.cleaning.resolve import (
    load_region_index,
    match_province,
    normalise_key,
    parse_region_code,
    resolve_frame,
    resolve_region,
    split_type_word,
)
from smartcity_analysis.config import load_framework


@pytest.fixture(scope="module")
def index():
    return load_region_index(load_framework())


@pytest.mark.parametrize(("value", "code"), [
    ("3273", "3273"), ("32.73", "3273"), ("3273.0", "3273"), (3273, "3273"), (3273.0, "3273"),
    (32.73, "3273"), (32.7, "3270"), (" 3273 ", "3273"), ("abc", None), ("327", None), (None, None),
    ("", None), (True, None),
])
def test_parse_region_code(value, code):
    assert parse_region_code(value) == code


@pytest.mark.parametrize(("text", "key"), [
    ("Bau-Bau", "baubau"), ("Tanjung Pinang", "tanjungpinang"), ("Toli-Toli", "tolitoli"),
    ("FAK FAK", "fakfak"), ("Pangkajene dan Kepulauan", "pangkajenedankepulauan"),
])
def test_normalise_key(text, key):
    assert normalise_key(text) == key


@pytest.mark.parametrize(("name", "expected"), [
    ("Kab. Bandung", ("Kabupaten", "Bandung")),
    ("Kab.Bandung", ("Kabupaten", "Bandung")),
    ("Kab Bandung", ("Kabupaten", "Bandung")),
    ("KABUPATEN Bandung", ("Kabupaten", "Bandung")),
    ("Kota Bandung", ("Kota", "Bandung")),
    ("Kota Administrasi Jakarta Pusat", ("Kota", "Jakarta Pusat")),
    ("Kotabaru", (None, "Kotabaru")),
    ("Kotamobagu", (None, "Kotamobagu")),
    ("Bandung Regency", ("Kabupaten", "Bandung")),
    ("Bandung", (None, "Bandung")),
])
def test_split_type_word(name, expected, index):
    assert split_type_word(name, index.type_words) == expected


@pytest.mark.parametrize(("text", "code"), [
    ("Jawa Barat", "32"), ("jawa  barat", "32"), ("Provinsi Jawa Barat", "32"), ("DKI Jakarta", "31"),
    ("Jawa Barrat", "32"), ("Atlantis", None),
])
def test_match_province(text, code, index):
    assert match_province(text, index) == code


@pytest.mark.parametrize(("code", "name", "province", "region", "rule"), [
    ("3273", None, None, "3273", None),
    (3273, "Kota Bandung", "Jawa Barat", "3273", None),
    (3273.0, None, None, "3273", None),
    ("32.73", None, None, "3273", "region_code_format"),
    ("3273.0", None, None, "3273", "region_code_format"),
    ("9101", "Kabupaten Merauke", "Papua", "9301", "papua_2022_renumbering"),
    ("9271", None, None, "9671", "papua_2022_renumbering"),
    (None, "Kabupaten Merauke", "Papua", "9301", "region_from_name"),
    (None, "Kab. Bandung", None, "3204", "region_from_name"),
    (None, "kota bandung", None, "3273", "region_from_name"),
    (None, "Tanjungpinang", None, "2172", "region_from_name"),
    (None, "Kota Tanjungpinang", "Kepulauan Riau", "2172", "region_from_name"),
    (None, "Baubau", None, "7472", "region_from_name"),
    (None, "Kabupaten Fakfak", None, "9203", "region_from_name"),
    (None, "Toli Toli", None, "7204", "region_from_name"),
    (None, "Palangka Raya", None, "6271", "region_from_name"),
    (None, "Kabupaten Toba Samosir", None, "1212", "region_alias"),
    (None, "Tanjung Pinangg", None, "2172", "region_name_fuzzy"),
    (None, "Banjar", "Kalimantan Selatan", "6303", "region_from_name"),
    (None, "Banjar", "Jawa Barat", "3279", "region_from_name"),
    (None, "Kotabaru", None, "6302", "region_from_name"),
    (None, "Kota Administrasi Jakarta Pusat", None, "3171", "region_from_name"),
    ("3204", "Bandung", None, "3204", None),  # the code settles a twin name
    ("abc", "Kota Bandung", None, "3273", "invalid_region_code_ignored"),
    ("3273", "Xyzzy", None, "3273", None),
    ("-", "Kota Bandung", "-", "3273", "region_from_name"),  # name unmatched: the code decides, with a message
])
def test_resolve_region_resolved(code, name, province, region, rule, index):
    outcome = resolve_region(code, name, province, index)
    assert (outcome.region_code, outcome.reason_code, outcome.rule) == (region, None, rule)


@pytest.mark.parametrize(("code", "name", "province", "reason"), [
    (None, "Bandung", None, "ambiguous_region"),
    (None, "Bandung", "Jawa Barat", "ambiguous_region"),  # province does not help most twins
    (None, "Sorong", None, "ambiguous_region"),
    ("3204", "Kota Bandung", None, "region_conflict"),
    ("3273", "Kabupaten Sleman", None, "region_conflict"),
    (None, None, None, "missing_region"),
    ("", "  ", "Jawa Barat", "missing_region"),
    ("-", "", None, "missing_region"),
    ("n/a", "-", None, "missing_region"),
    (None, "Atlantis", None, "unknown_region"),
    ("9999", None, None, "unknown_region"),
    ("1100", "Aceh", None, "unknown_region"),
    ("abc", None, None, "unknown_region"),
])
def test_resolve_region_quarantined(code, name, province, reason, index):
    outcome = resolve_region(code, name, province, index)
    assert outcome.reason_code == reason
    assert outcome.message


def test_resolve_frame(index):
    rows = pd.DataFrame({"row_seq": [0, 1, 2], "region_code": ["32.73", None, None],
                         "region_name": [None, "Kab. Bandung", "Bandung"]}, dtype=object)
    resolved = resolve_frame(rows, index)
    expected = pd.DataFrame({
        "row_seq": [0, 1, 2], "region_code": ["3273", "3204", None],
        "reason_code": [None, None, "ambiguous_region"],
        "rule": ["region_code_format", "region_from_name", None], "original_code": ["32.73", "", ""],
    })
    assert_frame_equal(resolved.drop(columns="message"), expected, check_dtype=False)
