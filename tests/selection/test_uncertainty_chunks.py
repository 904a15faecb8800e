"""The Monte Carlo evaluated chunk by chunk of draws gives what the whole design at once gives.

The decisions (ranks, selections) are identical; the index values agree to :data:`RTOL`, not to the last bit: a
chunk of another shape, or another thread count, may take another linear-algebra kernel, whose last bits differ
(the decisions compare values at the decision precision, so they do not). The same call twice is bit-identical.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from smartcity_analysis.selection import uncertainty as mc
from smartcity_analysis.selection.ranking import SelectionParams
from tests.selection.test_selection import candidates_for, engine_table, raw_data

# Index values computed along two code paths agree to this relative tolerance (absolute on values near 0).
RTOL = ATOL = 1e-12


@pytest.fixture(scope="module")
def inputs():
    data, table = raw_data(n=150, missing=0.1), engine_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matrices = mc.engine_matrices(data, table, ("group_median", "median", "mean"), ("minmax", "zscore"),
                                      data["region_code"])
    tree = mc.tree_from_table(table)
    candidates = candidates_for(mc.nominal_values(matrices, tree, ("group_median", "minmax", "arithmetic")),
                                coverage=np.where(np.arange(150) % 11 == 0, 0.5, 1.0))
    return matrices, tree, candidates


@pytest.mark.parametrize(("n_draws", "n_units", "max_cells"), [(1000, 514, mc.DRAW_CHUNK_CELLS), (10, 7, 20),
                                                               (5, 100, 10), (1, 1, 1)])
def test_chunks_cover_every_draw_once_within_the_budget(n_draws, n_units, max_cells):
    chunks = mc.draw_chunks(n_draws, n_units, max_cells)
    assert np.array_equal(np.concatenate([np.arange(n_draws)[c] for c in chunks]), np.arange(n_draws))
    assert all(c.stop - c.start >= 1 for c in chunks)
    assert all((c.stop - c.start) * n_units <= max(max_cells, n_units) for c in chunks)  # one draw at least


def test_a_kab_kota_round_is_one_chunk():
    assert mc.draw_chunks(1_000, 514) == [slice(0, 1_000)]
    assert len(mc.draw_chunks(1_000, 100_000)) > 1


@pytest.mark.parametrize("max_cells", [150 * 7, 150 * 64, 1, mc.DRAW_CHUNK_CELLS])
def test_chunked_draws_equal_the_whole_design(inputs, max_cells):
    matrices, tree, candidates = inputs
    params = mc.UncertaintyParams(n_draws=200, random_state=3)
    selection = SelectionParams(quota=30, min_per_type={"Kota": 12})
    design = mc.draw_design(tree, params)
    arrays = mc.selection_arrays(candidates, selection)
    values = mc.evaluate_design(matrices, tree, design)
    ranks, selected = mc.rank_and_select(values, arrays, selection)
    chunked = mc.evaluate_and_select(matrices, tree, design, arrays, selection, max_cells=max_cells)
    for whole, part in zip((values, ranks, selected), chunked, strict=True):
        assert part.dtype == whole.dtype
    np.testing.assert_allclose(chunked[0], values, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(chunked[1], ranks)
    np.testing.assert_array_equal(chunked[2], selected)


def test_the_monte_carlo_is_the_whole_design_ranked_and_selected(inputs):
    matrices, tree, candidates = inputs
    params = mc.UncertaintyParams(n_draws=120, random_state=8)
    selection = SelectionParams(quota=25, min_per_class={"B": 5})
    result = mc.run_monte_carlo(matrices, tree, candidates, params, selection)
    values = mc.evaluate_design(matrices, tree, mc.draw_design(tree, params))
    ranks, selected = mc.rank_and_select(values, mc.selection_arrays(candidates, selection), selection)
    np.testing.assert_allclose(result.index_values, values, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(result.ranks, ranks)
    np.testing.assert_array_equal(result.selected, selected)
    again = mc.run_monte_carlo(matrices, tree, candidates, params, selection)  # the same call: the same bits
    np.testing.assert_array_equal(again.index_values, result.index_values)
    np.testing.assert_array_equal(again.ranks, result.ranks)
    np.testing.assert_array_equal(again.selected, result.selected)
