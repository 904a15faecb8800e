"""Stage 04, ranking and selection: who is selected, how robust that is, and whether panels scored alike.

- :mod:`~smartcity_analysis.selection.ranking`: ranking, the selection rule and the contract files;
- :mod:`~smartcity_analysis.selection.uncertainty`: Monte Carlo over weights and methods, Sobol sensitivity;
- :mod:`~smartcity_analysis.selection.panel`: the panel effect between assessment classes;
- :mod:`~smartcity_analysis.selection.what_if`: other weights or methods, and their JupyterLab controls;
- :mod:`~smartcity_analysis.selection.charts`: the charts of notebooks 04 and 04b.
"""

from smartcity_analysis.selection.ranking import (
    Selection,
    SelectionParams,
    candidate_table,
    compare_selections,
    load_candidates,
    ranking_table,
    select,
    selection_notes,
    write_ranking,
    write_selection_xlsx,
)

__all__ = ["Selection", "SelectionParams", "candidate_table", "compare_selections", "load_candidates",
           "ranking_table", "select", "selection_notes", "write_ranking", "write_selection_xlsx"]
