"""Stages 05 and 06, the reports: one narrative page per region and the round summary, and the runner.

- :mod:`~smartcity_analysis.reports.language`: languages, number formatting, phrases;
- :mod:`~smartcity_analysis.reports.tables`, :mod:`~smartcity_analysis.reports.labels`: what a page reads;
- :mod:`~smartcity_analysis.reports.region`, :mod:`~smartcity_analysis.reports.summary`: what a page says;
- :mod:`~smartcity_analysis.reports.sections`, :mod:`~smartcity_analysis.reports.charts`: how it is drawn;
- :mod:`~smartcity_analysis.reports.html`: executed notebooks to self-contained HTML, the index page;
- :mod:`~smartcity_analysis.reports.runner`: the whole run (stage notebooks, then every region's report).
- :mod:`~smartcity_analysis.reports.kernels`: the stage notebooks' kernels, each started ahead of its stage.
"""

from smartcity_analysis.reports.language import NumberFormat, format_number, normalise_region_code, validate_language
from smartcity_analysis.reports.region import ReportContext, report_context
from smartcity_analysis.reports.sections import (
    render_chart,
    render_section,
    render_sections,
    render_summary_chart,
    render_summary_section,
    render_summary_sections,
)
from smartcity_analysis.reports.summary import SummaryContext, summary_context

__all__ = ["NumberFormat", "ReportContext", "SummaryContext", "format_number", "normalise_region_code",
           "render_chart", "render_section", "render_sections", "render_summary_chart", "render_summary_section",
           "render_summary_sections", "report_context", "summary_context", "validate_language"]
