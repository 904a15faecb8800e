from collections import Counter

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
from smartcity_analysis.reference import load_regions

REGIONS = load_regions()
# The type words a region's name is written with, as officials write them (the official name is added).
TYPE_FORMS = {"Kabupaten": ("Kabupaten {}", "Kab. {}", "Kab {}"), "Kota": ("Kota {}",)}


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
    ("Kab Lima Puluh Kota", ("Kabupaten", "Lima Puluh Kota")),  # a leading word before a trailing one
    ("KAB. LIMA PULUH KOTA", ("Kabupaten", "LIMA PULUH KOTA")),
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
    (None, "Kab Lima Puluh Kota", None, "1307", "region_from_name"),  # its name ends in "Kota"
    (None, "Lima Puluh Kota", "Sumatera Barat", "1307", "region_from_name"),
    (None, "lima puluh kota", None, "1307", "region_from_name"),
    ("1307", "Kab Lima Puluh Kota", None, "1307", None),  # the name agrees with the code: no conflict
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


def name_variants(regions: pd.DataFrame) -> dict[str, list[tuple[str, str | None]]]:
    """Return, per region code, every (name, province) a region's own name can be written as.

    The official name, the name after each type word (``Kabupaten``, ``Kab.``, ``Kab``, ``Kota``) and the
    bare name, each as written, in upper and in lower case; each with its province, and without it, where
    that leaves one region among the 514 (so the 26 bare twin names, e.g. ``Bandung``, come with neither,
    except ``Banjar`` with its province).
    """
    key = regions["region_name"].map(normalise_key)
    typed = Counter(zip(regions["region_type"], key, strict=True))
    typed_in = Counter(zip(regions["region_type"], key, regions["province_name"], strict=True))
    bare = Counter(key)
    bare_in = Counter(zip(key, regions["province_name"], strict=True))
    variants: dict[str, list[tuple[str, str | None]]] = {}
    for row, name_key in zip(regions.itertuples(), key, strict=True):
        with_type = {row.official_name, *(form.format(row.region_name) for form in TYPE_FORMS[row.region_type])}
        forms = [(n, typed[(row.region_type, name_key)] == 1,
                  typed_in[(row.region_type, name_key, row.province_name)] == 1) for n in sorted(with_type)]
        forms.append((row.region_name, bare[name_key] == 1, bare_in[(name_key, row.province_name)] == 1))
        found = []
        for name, alone, in_province in forms:
            for text in dict.fromkeys((name, name.upper(), name.lower())):
                found += [(text, None)] if alone else []
                found += [(text, row.province_name)] if in_province else []
        variants[row.region_code] = found
    return variants


VARIANTS = name_variants(REGIONS)


def test_the_name_variants_cover_every_region_and_form():
    assert len(VARIANTS) == 514
    assert sum(len(v) for v in VARIANTS.values()) == 10_890
    assert ("Kab Lima Puluh Kota", None) in VARIANTS["1307"] and ("LIMA PULUH KOTA", None) in VARIANTS["1307"]
    assert not [v for v in VARIANTS["3273"] if v[0] == "Bandung"]  # a twin's bare name is not its own
    assert ("Banjar", "Jawa Barat") in VARIANTS["3279"] and ("Banjar", None) not in VARIANTS["3279"]


@pytest.mark.parametrize("code", list(VARIANTS))
def test_every_official_name_resolves_to_its_own_code(code, index):
    wrong = [(name, province, outcome.region_code, outcome.reason_code)
             for name, province in VARIANTS[code]
             if (outcome := resolve_region(None, name, province, index)).region_code != code
             or outcome.reason_code is not None]
    assert wrong == []
