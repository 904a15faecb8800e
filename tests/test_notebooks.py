"""The stage notebooks are documents: a tagged parameters cell with literal defaults, and they run under papermill."""

import ast
import json
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

from smartcity_analysis.paths import NOTEBOOKS_DIR, SAMPLE_SUBMISSIONS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def _parameters_cell(path: Path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: exactly one cell tagged 'parameters' expected"
    return cells[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_holds_literal_defaults_each_with_a_comment(path):
    cell = _parameters_cell(path)
    tree = ast.parse(cell.source)
    lines = cell.source.splitlines()
    assert tree.body, f"{path.name}: empty parameters cell"
    for node in tree.body:
        assert isinstance(node, ast.Assign | ast.AnnAssign), f"{path.name}: only assignments in parameters"
        ast.literal_eval(node.value)  # raises if a default is not a literal
        assert "#" in lines[node.lineno - 1], f"{path.name} line {node.lineno}: parameter without a comment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_are_executed(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), f"{path.name} is committed unexecuted"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name} holds an error output"


@pytest.fixture(scope="module")
def executed_stages(tmp_path_factory):
    """Run notebooks 01 and 02 under papermill on the bundled sample into a temporary processed folder."""
    work = tmp_path_factory.mktemp("papermill")
    processed = work / "processed"
    for name, parameters in [
        ("01_clean_submissions.ipynb",
         {"submissions_dir": str(SAMPLE_SUBMISSIONS_DIR), "processed_dir": str(processed)}),
        ("02_readiness_index.ipynb", {"processed_dir": str(processed)}),
    ]:
        pm.execute_notebook(NOTEBOOKS_DIR / name, work / name, parameters=parameters, kernel_name="python3",
                            cwd=str(NOTEBOOKS_DIR), progress_bar=False)
    return processed


def test_cleaning_notebook_writes_the_contract_under_papermill(executed_stages):
    summary = json.loads((executed_stages / "cleaning_summary.json").read_text())
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_superseded"] + summary["rows_quarantined"]
    for name in ("submissions_clean.csv", "submissions_clean.parquet", "quarantine.csv", "superseded.csv",
                 "cleaning_log.csv"):
        assert (executed_stages / name).is_file(), name


def test_index_notebook_runs_after_the_cleaning_notebook(executed_stages):
    scores = pd.read_csv(executed_stages / "scores.csv", dtype={"region_code": str})
    clean = pd.read_csv(executed_stages / "submissions_clean.csv", dtype={"region_code": str})
    assert sorted(scores["region_code"]) == sorted(clean["region_code"])
    assert scores["readiness_index"].notna().all()
    assert scores["readiness_rank"].min() == 1
