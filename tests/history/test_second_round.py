"""The bundled second round (2022): seeded, grown from the 2021 model, and what a run of it must find."""

import pandas as pd
import pytest

from smartcity_analysis.cleaning import run_cleaning
from smartcity_analysis.cleaning.invitations import default_invitations_file, run_invitations
from smartcity_analysis.paths import RAW_DIR
from smartcity_analysis.reference import load_regions
from smartcity_analysis.synthetic.second_round import generate_second_round, replay_first_round

BUNDLED = RAW_DIR / "submissions" / "sample-2022"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("second") / "sample-2022"
    return generate_second_round(out)


def test_the_committed_round_equals_a_fresh_generation(fresh):
    committed = sorted(p.name for p in BUNDLED.iterdir())
    assert committed == list(fresh.files_written)
    for name in committed:
        assert (BUNDLED / name).read_bytes() == (fresh.out_dir / name).read_bytes(), name
    assert (RAW_DIR / "submissions" / "invitations-2022.csv").read_bytes() == fresh.invitations_file.read_bytes()


def test_157_invited_94_took_part_most_come_back_some_are_new(fresh):
    assert (fresh.invited, fresh.submitted) == (157, 94)
    assert fresh.returning + fresh.new == 94 and fresh.returning > 30 and fresh.new > 30
    readiness = fresh.readiness
    improved = (readiness["readiness_2022"] > readiness["readiness_2021"]).mean()
    assert 0.6 < improved < 0.85  # most improve a little, some fall back
    assert readiness["took_part_2022"].sum() == 94 and readiness["invited_2022"].sum() == 157


def test_the_replay_is_the_bundled_2021_round():
    _, participants = replay_first_round(load_regions())
    listed = pd.read_csv(RAW_DIR / "submissions" / "invitations-2021.csv", dtype={"region_code": str})
    assert set(participants["region_code"]) == set(listed.loc[listed["assessment_class"].notna(), "region_code"])


def test_cleaning_the_bundled_2022_round(tmp_path):
    result = run_cleaning(BUNDLED, tmp_path)
    assert (result.summary["rows_read"], result.summary["rows_accepted"]) == (94, 94)
    assert set(result.clean["assessment_year"]) == {2022}
    participation = run_invitations(default_invitations_file(BUNDLED), tmp_path).summary
    assert (participation["invited"], participation["took_part"], participation["absent"]) == (157, 94, 63)
