"""One round is one assessment year; population and area come from the reference when a region leaves them out."""

from pathlib import Path

import pandas as pd
import pytest

from smartcity_analysis.cleaning import run_cleaning
from smartcity_analysis.synthetic.rounds import RoundShape, write_round

REGIONS = Path(__file__).parents[2] / "data" / "raw" / "reference" / "regions.csv"


@pytest.fixture(scope="module")
def two_years(tmp_path_factory):
    folder = tmp_path_factory.mktemp("years")
    return write_round(folder / "round", RoundShape("years", n_regions=6, years=(2021, 2022), repeat_share=0.5)), folder


@pytest.mark.parametrize("year", [None, 2021])
def test_rows_of_other_years_are_set_aside_never_mixed(two_years, year):
    written, folder = two_years
    result = run_cleaning(written.folder, folder / f"p{year}", assessment_year=year)
    chosen = year or written.latest_year
    other = 2021 if chosen == 2022 else 2022
    assert sorted(result.clean["region_code"]) == list(written.codes_by_year[chosen])
    assert set(result.clean["assessment_year"]) == {chosen}
    assert sorted(result.other_years["region_code"]) == list(written.codes_by_year[other])
    assert set(result.other_years["assessment_year"]) == {other}
    assert set(result.other_years["status_in_its_year"]) == {"accepted"}
    summary = result.summary
    assert summary["assessment_year"] == {"year": chosen, "chosen_by": "parameter" if year else "latest_present",
                                          "years_present": [2021, 2022]}
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_other_year"]
    on_disk = pd.read_csv(folder / f"p{year}" / "other_years.csv", dtype={"region_code": str})
    assert len(on_disk) == summary["rows_other_year"]
    assert [n.reason_code for n in result.notes] == ["other_years_present"]
    assert str(chosen) in result.notes[0].message_en


def test_a_single_year_folder_has_no_year_note(tmp_path):
    written = write_round(tmp_path / "round", RoundShape("one_year", n_regions=4))
    result = run_cleaning(written.folder, tmp_path / "p")
    assert result.other_years.empty and result.summary["rows_other_year"] == 0
    assert not [n for n in result.notes if n.analysis == "assessment_year"]


def test_blank_denominators_are_filled_from_the_reference_and_logged(tmp_path):
    written = write_round(tmp_path / "round", RoundShape("blank", n_regions=3, blank_fields=("population",)))
    result = run_cleaning(written.folder, tmp_path / "p")
    reference = pd.read_csv(REGIONS, dtype={"region_code": str}).set_index("region_code")
    assert result.clean["population"].tolist() == reference.loc[result.clean["region_code"], "population"].tolist()
    logged = result.log[result.log["rule"] == "reference_denominator"]
    assert sorted(logged["region_code"]) == sorted(result.clean["region_code"])
    assert (logged["field"] == "population").all() and (logged["original_value"] == "").all()
    assert [n.region_code for n in result.notes if n.analysis == "denominator:population"] == sorted(
        result.clean["region_code"])


def test_a_submitted_denominator_is_kept(tmp_path):
    written = write_round(tmp_path / "round", RoundShape("kept", n_regions=3))
    result = run_cleaning(written.folder, tmp_path / "p")
    reference = pd.read_csv(REGIONS, dtype={"region_code": str}).set_index("region_code")
    assert (result.clean["population"].to_numpy() != reference.loc[result.clean["region_code"], "population"]
            .to_numpy()).all()  # the generator's figures differ from BPS; the framework prefers the region's own
    assert not (result.log["rule"] == "reference_denominator").any()


def write_csv(path, rows):
    path.write_text("\n".join(";".join(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_a_folder_without_a_year_in_its_name_takes_the_year_of_its_submissions(tmp_path):
    written = write_round(tmp_path / "putaran-terbaru", RoundShape("no_year_in_name", n_regions=3))
    result = run_cleaning(written.folder, tmp_path / "p")
    assert result.summary["round_year"] == {"year": written.latest_year, "found_from": "assessment_year"}
    assert run_cleaning(written.folder, tmp_path / "q", assessment_year=2019).summary["round_year"] == {
        "year": 2019, "found_from": "parameter"}


def test_without_an_assessment_year_the_round_is_named_by_submitted_at_but_no_row_gets_a_year(tmp_path):
    folder = tmp_path / "putaran-terbaru"
    folder.mkdir()
    write_csv(folder / "a.csv", [["Kode Wilayah", "Tanggal Pengisian", "IPM"], ["3273", "03/11/2021", "72"],
                                 ["3204", "28/12/2021", "70"], ["3171", "05/01/2022", "75"]])
    result = run_cleaning(folder, tmp_path / "p")
    assert result.summary["round_year"] == {"year": 2021, "found_from": "submitted_at"}  # most rows are of 2021
    assert result.summary["assessment_year"]["year"] is None
    assert set(result.quarantine["reason_code"]) == {"missing_assessment_year"}  # the date names the round only


def test_no_year_at_all_names_no_round(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", [["Kode Wilayah", "Nama Kabupaten/Kota", "IPM"], ["3273", "Kota Bandung", "72"]])
    assert run_cleaning(folder, tmp_path / "p").summary["round_year"] == {"year": None, "found_from": None}


DENOMINATOR_HEADER = ["Kode Wilayah", "Tahun Asesmen", "Tanggal Pengisian", "IPM"]


@pytest.mark.parametrize("header", ["Luas Wilayah (kmÂ²)", "Luas Wilayah (km2)", "luas wilayah"])
def test_an_area_behind_an_unrecognised_header_is_quarantined_not_replaced(tmp_path, header):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", [[*DENOMINATOR_HEADER, header], ["3273", "2021", "03/11/2021", "72", "100"]])
    write_csv(folder / "b.csv", [[*DENOMINATOR_HEADER, "Luas Wilayah (km²)"], ["3204", "2021", "03/11/2021", "70", ""]])
    result = run_cleaning(folder, tmp_path / "p")
    assert result.clean["region_code"].tolist() == ["3204"]  # b.csv's header matched: blank, so filled
    quarantined = result.quarantine.set_index("source_file").loc["a.csv"]
    assert quarantined["reason_code"] == "unrecognised_denominator_header"
    assert f"the column {header!r} looks like it" in quarantined["detail"]
    assert "Luas Wilayah (km²) (area_km2) is empty" in quarantined["detail"]
    assert "rename the column 'Luas Wilayah (km²)' and resubmit" in quarantined["detail"]
    filled = result.log[result.log["rule"] == "reference_denominator"]
    assert filled[["source_file", "field"]].values.tolist() == [["b.csv", "population"], ["b.csv", "area_km2"]]


def test_a_figure_in_a_recognised_column_is_kept_beside_a_look_alike_header(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", [[*DENOMINATOR_HEADER, "Luas Wilayah (km²)", "Luas Wilayah (km2)"],
                                 ["3273", "2021", "03/11/2021", "72", "100", "100"]])
    result = run_cleaning(folder, tmp_path / "p")
    assert result.clean["area_km2"].tolist() == [100.0] and result.quarantine.empty
    assert not ((result.log["rule"] == "reference_denominator") & (result.log["field"] == "area_km2")).any()


def test_a_reference_figure_beside_unrelated_unknown_headers_names_them(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", [[*DENOMINATOR_HEADER, "Keterangan Tambahan", "Penduduk Miskin (jiwa)"],
                                 ["3273", "2021", "03/11/2021", "72", "-", "80000"]])
    result = run_cleaning(folder, tmp_path / "p")
    reference = pd.read_csv(REGIONS, dtype={"region_code": str}).set_index("region_code")
    assert result.clean["area_km2"].tolist() == [reference.at["3273", "area_km2"]]
    logged = result.log[(result.log["rule"] == "reference_denominator") & (result.log["field"] == "area_km2")]
    detail = logged["detail"].iloc[0]
    assert "the BPS reference figure" in detail
    assert "column(s) 'Keterangan Tambahan', 'Penduduk Miskin (jiwa)' match no template field" in detail
    assert "if one of them holds Luas Wilayah (km²), rename it 'Luas Wilayah (km²)' and resubmit" in detail
    note = next(n for n in result.notes if n.analysis == "denominator:area_km2")
    assert "headers were not recognised" in note.message_en and "tidak dikenali" in note.message_id
