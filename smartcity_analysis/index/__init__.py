"""Stage 02, the readiness index: the smart-city indicators scored by the JRC composite-indicator method.

- :mod:`~smartcity_analysis.index.engine`: the COINr-method engine (impute, treat, normalise, aggregate);
- :mod:`~smartcity_analysis.index.stats`: data statistics the engine records;
- :mod:`~smartcity_analysis.index.analysis`: analyses of a built index (strengths, coherence, comparison);
- :mod:`~smartcity_analysis.index.indicators`: the framework's indicators and their two trees;
- :mod:`~smartcity_analysis.index.stage`: the stage itself and its contract files;
- :mod:`~smartcity_analysis.index.charts`: the stage notebook's charts.
"""

from smartcity_analysis.index.engine import IndexBuildError, IndexParams, IndexResult, IndexWarning, build_index
from smartcity_analysis.index.indicators import derive_indicators, framework_table, indicator_codes
from smartcity_analysis.index.stage import (
    IndexMethod,
    ReadinessResult,
    aspect_coherence,
    build_readiness,
    imputed_table,
    indicator_checks,
    indicator_correlations,
    read_clean_submissions,
    scores_table,
    treated_table,
    treatment_summary,
    unit_stats_table,
    write_index_outputs,
)

__all__ = ["IndexBuildError", "IndexMethod", "IndexParams", "IndexResult", "IndexWarning", "ReadinessResult",
           "aspect_coherence", "build_index", "build_readiness", "derive_indicators", "framework_table",
           "imputed_table", "indicator_checks", "indicator_codes", "indicator_correlations",
           "read_clean_submissions", "scores_table", "treated_table", "treatment_summary", "unit_stats_table",
           "write_index_outputs"]
