"""Stage 07, history: several rounds' outputs in one long table, compared like for like.

- :mod:`~smartcity_analysis.history.rounds`: each round's processed folder, under its own year;
- :mod:`~smartcity_analysis.history.stage`: the basis of comparison, the long table, the movers, the files.
"""

from smartcity_analysis.history.rounds import RoundOutputs, read_round, read_rounds
from smartcity_analysis.history.stage import (
    Comparison,
    HistoryParameters,
    HistoryResult,
    movers,
    run_history,
    trajectory_of,
)

__all__ = ["Comparison", "HistoryParameters", "HistoryResult", "RoundOutputs", "movers", "read_round",
           "read_rounds", "run_history", "trajectory_of"]
