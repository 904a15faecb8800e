"""Executed notebooks are written without what differs between two runs on the same inputs."""

import nbformat

from smartcity_analysis.reports.html import WIDGET_VIEW, normalise_notebook


def _executed(model_id: str, started: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("controls")
    cell.metadata["execution"] = {"iopub.status.busy": started}
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": "VBox()", WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0}})]
    nb.cells = [cell]
    nb.metadata["papermill"] = {"start_time": started, "parameters": {"quota": 50}}
    return nb


def test_two_executions_normalise_to_the_same_notebook():
    first = normalise_notebook(_executed("b7c7827883d5464dbc21059d7a8ba756", "2026-11-28T00:03:32Z"))
    second = normalise_notebook(_executed("a90a0491437f4fd58ab8a266eea6643f", "2026-12-01T09:00:00Z"))
    assert nbformat.writes(first) == nbformat.writes(second)
    assert first.cells[0].outputs[0]["data"][WIDGET_VIEW]["model_id"] == "widget-000"
    assert first.metadata["papermill"] == {"parameters": {"quota": 50}}  # the parameters stay: they are inputs
