"""The cleaning stage's coverage map: every region named in a small round, a bounded figure in a large one."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from smartcity_analysis.cleaning.charts import MAX_NAMED_ROWS, ROW_INCHES, plot_field_coverage


def _coverage(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    return pd.DataFrame(rng.random((n, 5)) < 0.8, index=[f"{1101 + i:04d}" for i in range(n)],
                        columns=[f"field_{j}" for j in range(5)])


def test_a_small_round_names_every_region():
    fig = plot_field_coverage(_coverage(88))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == _coverage(88).index.tolist()
    assert fig.get_size_inches()[1] == max(4.0, ROW_INCHES * 88 + 1.5)
    assert ax.images[0].get_array().shape == (88, 5)
    plt.close(fig)


def test_a_large_round_keeps_every_row_in_a_bounded_figure():
    coverage = _coverage(5_000)
    fig = plot_field_coverage(coverage)
    ax = fig.axes[0]
    assert ax.get_yticklabels() == [] or all(not t.get_text() for t in ax.get_yticklabels())
    assert fig.get_size_inches()[1] == ROW_INCHES * MAX_NAMED_ROWS + 1.5
    assert "5,000 regions" in ax.get_ylabel()
    np.testing.assert_array_equal(ax.images[0].get_array(), coverage.astype(int).to_numpy())  # no row dropped
    plt.close(fig)
