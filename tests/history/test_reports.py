"""What the pages say about the history: a region's trajectory and the round's largest movers."""

import pandas as pd
import pytest

from smartcity_analysis.history import run_history
from smartcity_analysis.reports.region import report_context
from smartcity_analysis.reports.sections import render_section, render_summary_section
from smartcity_analysis.reports.summary import summary_context
from tests.history.test_history import _ranks, _round


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    root = tmp_path_factory.mktemp("rounds")
    first, second = root / "p2021", root / "p2022"
    _round(first, 2021, 8, seed=1)
    _round(second, 2022, 6, seed=2)
    run_history([first, second])
    return first, second


def test_a_region_report_shows_its_earlier_standing(rounds):
    first, second = rounds
    before, now = _ranks(first).loc["1101"], _ranks(second).loc["1101"]
    context = report_context(second, "1101", "id")
    trajectory = context.trajectory
    assert [r.year for r in trajectory.rounds] == [2021, 2022]
    assert trajectory.rank_change == before["rank"] - now["rank"] and trajectory.previous_year == 2021
    html = render_section(context, "trajectory")
    assert f"Pada 2021 peringkat {before['rank']} dari 8" in html
    assert f"Pada 2022 peringkat {now['rank']} dari 6" in html
    moved = before["rank"] - now["rank"]
    assert (f"naik {moved} peringkat" if moved > 0 else f"turun {-moved} peringkat") in html
    assert html.count("<svg") == 1 and "<script" not in html
    english = render_section(report_context(second, "1101", "en"), "trajectory")
    assert "In 2021 it ranked" in english and "Since 2021, it has" in english


def test_a_new_region_and_a_round_without_history(rounds):
    first, second = rounds
    new_code = next(c for c in _ranks(second).index if c not in _ranks(first).index)
    context = report_context(second, new_code, "id")
    assert context.trajectory is not None and len(context.trajectory.rounds) == 1
    assert "putaran pertama" in render_section(context, "trajectory")
    old = report_context(first, "1101", "en")
    assert old.trajectory is None and "No history" in render_section(old, "trajectory")


def test_the_summary_names_the_largest_movers(rounds):
    first, second = rounds
    movers = summary_context(second, "id").movers
    assert (movers.year, movers.returning, movers.new) == (2022, 2, 4)
    changes = {r["region_code"]: r["change"] for r in movers.up + movers.down}
    expected = (_ranks(first)["rank"] - _ranks(second)["rank"]).dropna()
    assert changes == {c: int(v) for c, v in expected.items() if v != 0}
    html = render_summary_section(summary_context(second, "id"), "movers")
    assert "Naik paling banyak" in html and "1101" in html
    assert "tidak tersedia" in render_summary_section(summary_context(first, "id"), "movers")


def test_a_stale_history_is_not_shown(rounds, tmp_path):
    _, second = rounds
    copy = tmp_path / "rerun"
    copy.mkdir()
    for path in second.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    ranking = pd.read_csv(copy / "ranking.csv", dtype={"region_code": str})
    ranking.assign(readiness_index=ranking["readiness_index"] + 1).to_csv(copy / "ranking.csv", index=False)
    assert report_context(copy, "1101", "id").trajectory is None
    assert summary_context(copy, "id").movers is None


def test_a_framework_change_is_stated_with_the_comparable_ranks(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _round(first, 2021, 8, seed=1)
    _round(second, 2022, 6, seed=2, framework="e" * 64, drop_indicator="apps_per_100k")
    result = run_history([first, second])
    rows = result.table.set_index(["region_code", "year"])
    context = report_context(second, "1101", "id")
    assert context.trajectory.basis == "shared_indicators"
    html = render_section(context, "trajectory")
    assert "kerangka penilaian berubah" in html
    assert (f"peringkat pembanding {rows.loc[('1101', 2021), 'comparable_rank']} menjadi "
            f"{rows.loc[('1101', 2022), 'comparable_rank']}") in html
    summary = render_summary_section(summary_context(second, "en"), "movers")
    assert "The framework differs between rounds" in summary and "apps_per_100k in 2021" in summary
