"""Render the sections of a region report and of the round summary from the language's Jinja2 template.

Each section is a macro of ``templates/report_<language>.html.j2`` or ``templates/summary_<language>.html.j2``,
headings included, so a page is in one language only. Templates autoescape, so free text typed by a region
(its notes, which may hold ``<script>`` or spreadsheet formulas) is shown as text and never interpreted.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from smartcity_analysis.reports.language import template_environment
from smartcity_analysis.reports.region import ReportContext
from smartcity_analysis.reports.summary import SummaryContext

# The sections of a region report, in reading order; the chart (:func:`render_chart`) follows "profile".
REPORT_SECTIONS = ("identity", "standing", "profile", "peers", "recommendations", "data_notes", "notes", "position",
                   "trajectory", "what_it_takes", "run_notes")


# The sections of the round summary; its chart (:func:`render_summary_chart`) follows "distribution".
SUMMARY_SECTIONS = ("title", "participation", "invitations", "map", "distribution", "profiles", "selection", "panel",
                    "movers", "panel_adjusted", "run_notes")


def render_section(context: ReportContext, section: str) -> str:
    """Render one section of a region report as HTML, its heading included (see :data:`REPORT_SECTIONS`)."""
    return render_macro(f"report_{context.language}.html.j2", section, REPORT_SECTIONS, context)


def render_sections(context: ReportContext, sections: Iterable[str]) -> str:
    """Render several sections of a region report, in the order given, as one piece of HTML."""
    return "\n".join(render_section(context, s) for s in sections)


def render_chart(context: ReportContext, svg: str) -> str:
    """Render the chart section of a region report: heading, the chart (``svg``) with alt text, caption.

    The chart is embedded as a ``data:`` image, so the page fetches nothing and the alt text is in the
    report's language.
    """
    return render_macro(f"report_{context.language}.html.j2", "chart", ("chart",), context,
                         svg_data_uri(svg))


def svg_data_uri(svg: str) -> str:
    """Return SVG text as a ``data:image/svg+xml;base64,...`` URI (the page's CSP allows ``data:`` images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def render_macro(template: str, section: str, known: tuple[str, ...], context: Any, *extra: Any) -> str:
    """Render the macro ``section`` of ``template`` with ``context``; refuse a section not in ``known``."""
    if section not in known:
        raise ValueError(f"unknown section {section!r}; known: {known}")
    module = template_environment().get_template(template).module
    return str(getattr(module, section)(context, context.fmt, *extra))


def render_summary_section(context: SummaryContext, section: str) -> str:
    """Render one section of the round summary as HTML, its heading included (see :data:`SUMMARY_SECTIONS`)."""
    return render_macro(f"summary_{context.language}.html.j2", section, SUMMARY_SECTIONS, context)


def render_summary_sections(context: SummaryContext, sections: Iterable[str]) -> str:
    """Render several sections of the round summary, in the order given, as one piece of HTML."""
    return "\n".join(render_summary_section(context, s) for s in sections)


def render_summary_chart(context: SummaryContext, svg: str) -> str:
    """Render the distribution chart of the round summary (``svg``) with alt text in its language."""
    return render_macro(f"summary_{context.language}.html.j2", "chart", ("chart",), context,
                         svg_data_uri(svg))

