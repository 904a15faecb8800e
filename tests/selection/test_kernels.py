"""The selection and every decision of ``ranking.csv`` are the same under two OpenBLAS kernels.

The bundled sample round is run (stages 01, 02 and 04, :mod:`tests.selection.ranking_under_kernel`) in two
interpreters, one with ``OPENBLAS_CORETYPE=Haswell`` and one with ``Sandybridge``: kernels that every x86-64 CPU
of the last ten years runs, and that give other last bits. Scores may differ in those bits (they agree to
:data:`RTOL`); ranks, the selection, the Monte Carlo's rank intervals and probabilities, the borderline flags and
the reasons may not, because every decision compares scores at the decision precision.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.selection.ranking import GAP_COLUMNS, RANKING_COLUMNS

KERNELS = ("Haswell", "Sandybridge")
PROJECT = Path(__file__).resolve().parents[2]
SCORE_COLUMNS = ["readiness_index", *GAP_COLUMNS]
DECISION_COLUMNS = [c for c in RANKING_COLUMNS if c not in SCORE_COLUMNS]
RTOL = ATOL = 1e-12


@pytest.fixture(scope="module")
def rankings(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """``ranking.csv`` of the sample round under each kernel, both runs side by side."""
    runs = {}
    for kernel in KERNELS:
        out = tmp_path_factory.mktemp(kernel.lower())
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
        runs[kernel] = (out, subprocess.Popen(
            [sys.executable, "-m", "tests.selection.ranking_under_kernel", str(out), kernel], cwd=PROJECT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    tables = {}
    for kernel, (out, process) in runs.items():
        _, stderr = process.communicate()
        assert process.returncode == 0, f"the run under OPENBLAS_CORETYPE={kernel} failed:\n{stderr}"
        tables[kernel] = pd.read_csv(out / "ranking.csv", dtype={"region_code": str}, encoding="utf-8")
    return tables


def test_the_ranking_has_every_column_and_a_full_selection(rankings):
    for table in rankings.values():
        assert list(table.columns) == RANKING_COLUMNS + GAP_COLUMNS
        assert table["selected"].sum() == 50 and table["p_selected"].notna().all()


def test_the_selection_and_every_decision_are_identical_under_two_kernels(rankings):
    first, second = (rankings[kernel] for kernel in KERNELS)
    assert first.loc[first["selected"], "region_code"].tolist() == second.loc[second["selected"],
                                                                            "region_code"].tolist()
    pd.testing.assert_frame_equal(first[DECISION_COLUMNS], second[DECISION_COLUMNS], check_exact=True)


def test_scores_agree_to_the_tolerance_under_two_kernels(rankings):
    first, second = (rankings[kernel] for kernel in KERNELS)
    for column in SCORE_COLUMNS:
        np.testing.assert_allclose(first[column], second[column], rtol=RTOL, atol=ATOL, err_msg=column)
