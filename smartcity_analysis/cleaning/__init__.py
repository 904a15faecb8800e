"""Stage 01, cleaning: read a round's submission files, parse values, resolve regions, keep the latest.

- :mod:`~smartcity_analysis.cleaning.readers`: the files of a round folder into rows as typed;
- :mod:`~smartcity_analysis.cleaning.parse`: each value by its field type, saying what changed and why;
- :mod:`~smartcity_analysis.cleaning.resolve`: each row to one of the 514 kab/kota;
- :mod:`~smartcity_analysis.cleaning.stage`: the stage itself and its contract files;
- :mod:`~smartcity_analysis.cleaning.charts`: the stage notebook's charts.
"""

from smartcity_analysis.cleaning.readers import SubmissionBatch, read_submissions
from smartcity_analysis.cleaning.stage import (
    STAGE,
    CleaningResult,
    field_coverage,
    quarantine_by_reason,
    run_cleaning,
    top_rules,
)

__all__ = ["STAGE", "CleaningResult", "SubmissionBatch", "field_coverage", "quarantine_by_reason", "read_submissions",
           "run_cleaning", "top_rules"]
