"""The history across rounds: the long table, like-for-like comparison, absences, earlier selections, the CLI."""

import json

import pandas as pd
import pytest

from smartcity_analysis.cli import main
from smartcity_analysis.history import HistoryParameters, read_rounds, run_history
from smartcity_analysis.synthetic.processed import write_synthetic_processed

FRAMEWORK = "f" * 64


def _round(folder, year, n_regions, seed, framework=FRAMEWORK, drop_indicator=None):
    """A synthetic processed folder of ``year`` (the first ``n_regions`` spread over the reference)."""
    codes = write_synthetic_processed(folder, n_regions=n_regions, seed=seed)
    submissions = pd.read_csv(folder / "submissions_clean.csv", dtype={"region_code": str})
    submissions.assign(assessment_year=year).to_csv(folder / "submissions_clean.csv", index=False)
    summary = json.loads((folder / "cleaning_summary.json").read_text())
    summary["provenance"] = {"framework_sha256": framework}
    (folder / "cleaning_summary.json").write_text(json.dumps(summary))
    if drop_indicator:
        scores = pd.read_csv(folder / "scores.csv", dtype={"region_code": str})
        scores.drop(columns=drop_indicator).to_csv(folder / "scores.csv", index=False)
    return codes


def _ranks(folder):
    ranking = pd.read_csv(folder / "ranking.csv", dtype={"region_code": str})
    return ranking.set_index("region_code")


@pytest.fixture
def two_rounds(tmp_path):
    first, second = tmp_path / "p2021", tmp_path / "p2022"
    return first, second, _round(first, 2021, 8, seed=1), _round(second, 2022, 6, seed=2)


def test_two_rounds_give_one_long_table(two_rounds, tmp_path):
    first, second, codes_2021, codes_2022 = two_rounds
    result = run_history([first, second], tmp_path / "out")
    table = result.table
    assert result.comparison.basis == "published" and not result.comparison.frameworks_differ
    assert len(table) == len(codes_2021) + len(codes_2022)
    assert {"region_code", "year", "readiness_index", "rank", "selected", "profile_id"} <= set(table.columns)
    both = sorted(set(codes_2021) & set(codes_2022))
    assert both == ["1101", "9671"]  # every other region is absent from one of the two rounds
    ranks_2021, ranks_2022 = _ranks(first), _ranks(second)
    for code in both:
        row = table[(table["region_code"] == code) & (table["year"] == 2022)].iloc[0]
        assert row["previous_year"] == 2021
        assert row["rank_change"] == ranks_2021.loc[code, "rank"] - ranks_2022.loc[code, "rank"]
        assert row["selected_before"] == (str(ranks_2021.loc[code, "selected"]) == "True")
    new = table[(table["year"] == 2022) & ~table["region_code"].isin(both)]
    assert new["previous_year"].isna().all() and new["rank_change"].isna().all()
    assert (table["comparable_rank"] == table["rank"]).all()
    written = pd.read_csv(result.paths["history"], dtype={"region_code": str})
    assert len(written) == len(table) and written["region_code"].str.fullmatch(r"\d{4}").all()


def test_the_history_is_written_beside_the_latest_round_by_default(two_rounds):
    first, second, _, _ = two_rounds
    result = run_history([second, first])
    assert result.paths["history"] == second / "history.csv"
    again = (second / "history.csv").read_bytes(), (second / "history_summary.json").read_bytes()
    run_history([first, second])
    assert again == ((second / "history.csv").read_bytes(), (second / "history_summary.json").read_bytes())


def test_a_framework_change_compares_on_the_shared_indicators(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _round(first, 2021, 8, seed=1)
    _round(second, 2022, 6, seed=2, framework="e" * 64, drop_indicator="apps_per_100k")
    result = run_history({2021: first, 2022: second}, tmp_path / "out")
    comparison = result.comparison
    assert comparison.basis == "shared_indicators" and comparison.frameworks_differ
    assert "apps_per_100k" not in comparison.shared_indicators
    assert comparison.only_in == {2021: ("apps_per_100k",), 2022: ()}
    assert result.summary["indicators_left_out"]["2021"] == ["apps_per_100k"]
    scores = pd.read_csv(first / "scores.csv", dtype={"region_code": str}).set_index("region_code")
    row = result.table[(result.table["year"] == 2021) & (result.table["region_code"] == "1101")].iloc[0]
    assert row["comparable_index"] == pytest.approx(scores.loc["1101", list(comparison.shared_indicators)].mean())
    for _, group in result.table.groupby("year"):
        expected = group["comparable_index"].rank(ascending=False, method="first").astype(int)
        assert (group["comparable_rank"] == expected).all()


def test_a_changed_framework_file_alone_is_not_like_for_like(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _round(first, 2021, 5, seed=1)
    _round(second, 2022, 5, seed=2, framework="e" * 64)  # same indicators, other weights perhaps
    result = run_history([first, second], tmp_path / "out")
    assert result.comparison.basis == "shared_indicators" and result.comparison.only_in == {2021: (), 2022: ()}


def test_three_rounds_with_a_region_absent_in_the_middle(tmp_path):
    folders = [tmp_path / str(y) for y in (2021, 2022, 2023)]
    codes = [_round(f, y, n, seed=s) for f, y, n, s in zip(folders, (2021, 2022, 2023), (8, 6, 8), (1, 2, 3),
                                                           strict=True)]
    assert "1376" in codes[0] and "1376" not in codes[1] and "1376" in codes[2]
    strict = run_history([tmp_path], tmp_path / "out", HistoryParameters(allow_reselection=False)).table
    row = strict[(strict["region_code"] == "1376") & (strict["year"] == 2023)].iloc[0]
    ranks = [_ranks(f) for f in folders]
    assert row["previous_year"] == 2021
    assert row["rank_change"] == ranks[0].loc["1376", "rank"] - ranks[2].loc["1376", "rank"]
    selected_2021 = str(ranks[0].loc["1376", "selected"]) == "True"
    assert row["selected_before"] == selected_2021 and row["may_be_selected"] == (not selected_2021)
    if selected_2021:
        assert row["first_selected_year"] == 2021
    # A region selected in 2021 is flagged in every later round it takes part in, never in 2021 itself.
    first_round = strict[strict["year"] == 2021]
    assert not first_round["selected_before"].any() and first_round["may_be_selected"].all()
    selected = set(first_round.loc[first_round["selected"], "region_code"])
    later = strict[(strict["year"] > 2021) & strict["region_code"].isin(selected)]
    assert len(later) and later["selected_before"].all() and not later["may_be_selected"].any()
    lenient = run_history([tmp_path], tmp_path / "out2").table
    assert lenient["may_be_selected"].all()
    assert set(lenient["year"]) == {2021, 2022, 2023}


def test_rounds_need_distinct_years_and_at_least_two(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _round(first, 2021, 4, seed=1)
    _round(second, 2021, 4, seed=2)
    with pytest.raises(ValueError, match="YEAR=FOLDER"):
        read_rounds([first, second])
    assert [r.year for r in read_rounds([f"2020={first}", second])] == [2020, 2021]
    with pytest.raises(ValueError, match="at least two"):
        read_rounds([first])
    with pytest.raises(FileNotFoundError, match="not a processed folder"):
        read_rounds([tmp_path / "nothing", first])


def test_the_history_command(two_rounds, tmp_path, capsys):
    first, second, _, _ = two_rounds
    assert main(["history", str(first), str(second), "--out", str(tmp_path / "out"), "--no-reselection"]) == 0
    printed = capsys.readouterr().out
    assert "history of 2021, 2022 (published)" in printed and "2 returning and 4 new" in printed
    summary = json.loads((tmp_path / "out" / "history_summary.json").read_text())
    assert summary["allow_reselection"] is False
    assert main(["history", str(first)]) == 2
