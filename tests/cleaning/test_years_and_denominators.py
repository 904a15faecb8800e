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
