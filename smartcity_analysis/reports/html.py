"""Render executed notebooks to self-contained HTML, and write the offline index page of a run.

Pages carry no code (inputs excluded), no external reference (scripts or links to another host are removed,
and a Content-Security-Policy forbids the browser to fetch anything), and no timestamp: the same notebook
gives the same bytes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
from nbconvert import HTMLExporter
from traitlets.config import Config

from smartcity_analysis.reports.language import NumberFormat, template_environment, validate_language

_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I | re.S)
_EXTERNAL_LINK_TAG = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I | re.S)
_EXTERNAL_ATTRIBUTE = re.compile(
    r"\s(?:src|href|srcset|action|formaction|poster|data)\s*=\s*([\"'])(?:https?:)?//.*?\1", re.I | re.S)
# Namespace declarations are names, not addresses, and HTML5 does not need them on inline SVG.
_XML_NAMESPACE = re.compile(r"\sxmlns(?::\w+)?\s*=\s*([\"'])http://www\.w3\.org/[^\"']*\1")
_BACK_LABEL = {"id": "← Kembali ke daftar wilayah", "en": "← Back to the list of regions"}


# Cells with this tag are for the reader of the notebook in JupyterLab (e.g. an English note on what the
# notebook does) and are left out of the HTML page, which is in the report's language only.
REMOVE_CELL_TAG = "remove_cell"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def make_exporter() -> HTMLExporter:
    """Return an HTML exporter that shows outputs and markdown only (``basic`` template, no prompts).

    Cells tagged :data:`REMOVE_CELL_TAG` are dropped (``TagRemovePreprocessor``). The exporter runs only that
    preprocessor and validates the notebook once after it rather than after each of nbconvert's dozen
    default preprocessors (all disabled here), which was a third of the export time of a report. Build it
    once and reuse it: constructing an exporter costs far more than converting a notebook.
    """
    config = Config({"TagRemovePreprocessor": {"enabled": True, "remove_cell_tags": [REMOVE_CELL_TAG]}})
    return HTMLExporter(config=config, template_name="basic", exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, optimistic_validation=True,
                        default_preprocessors=["nbconvert.preprocessors.TagRemovePreprocessor"])


def normalise_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` without run-dependent metadata: cell ids and widget ids numbered, no timings.

    Papermill gives injected cells random ids and records start and end times; those would make two runs
    on the same inputs differ. Timings belong in ``manifest.json``.
    """
    nb = copy.deepcopy(nb)
    widgets = 0
    for position, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{position:03d}"
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if isinstance(view, dict) and "model_id" in view:
                # A random id per execution; the widget state it points to is dropped below anyway.
                view["model_id"] = f"widget-{widgets:03d}"
                widgets += 1
    papermill = nb.metadata.get("papermill")
    if papermill is not None:
        for key in ("start_time", "end_time", "duration", "exception", "input_path", "output_path",
                    "version", "environment_variables"):
            papermill.pop(key, None)
    nb.metadata.pop("widgets", None)
    return nb


def strip_external_references(html: str) -> str:
    """Remove every reference to another host: external scripts, stylesheet links and URL attributes.

    Text is left alone (a URL written in a region's notes stays readable, escaped); only what a browser
    would fetch or follow is removed.
    """
    html = _EXTERNAL_SCRIPT.sub("", html)
    html = _EXTERNAL_LINK_TAG.sub("", html)
    html = _XML_NAMESPACE.sub("", html)
    return _EXTERNAL_ATTRIBUTE.sub("", html)


def notebook_to_html(nb: nbformat.NotebookNode, exporter: HTMLExporter, title: str, language: str = "id",
                     index_href: str = "../index.html") -> str:
    """Convert an executed notebook to one self-contained HTML page.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook (normalised by :func:`normalise_notebook` for byte-identical pages).
    exporter : HTMLExporter
        From :func:`make_exporter`.
    title : str
        The page title.
    language : {"id", "en"}
        The page's language (``lang`` attribute and the back link).
    index_href : str
        Relative link back to the run's index page.

    Returns
    -------
    str
        The page.
    """
    language = validate_language(language)
    body, _ = exporter.from_notebook_node(nb)
    page = template_environment().get_template("page.html.j2").render(
        language=language, title=title, body=strip_external_references(body), index_href=index_href,
        back_label=_BACK_LABEL[language])
    return page


def index_rows(processed_dir: str | Path, report_hrefs: Mapping[str, str], language: str) -> list[dict[str, Any]]:
    """Build the rows of the index page from ``ranking.csv``, ``profiles.csv`` and ``submissions_clean.csv``.

    Parameters
    ----------
    processed_dir : str or Path
        The processed folder of the round.
    report_hrefs : Mapping
        Region code to the relative link of its report (regions whose report failed have none).
    language : {"id", "en"}
        Language of the profile names and of the number format.

    Returns
    -------
    list of dict
        One row per ranked region, by rank then code.
    """
    folder = Path(processed_dir)
    dtypes = {"region_code": str}
    ranking = pd.read_csv(folder / "ranking.csv", dtype=dtypes)
    profiles = pd.read_csv(folder / "profiles.csv", dtype=dtypes)
    provinces = pd.read_csv(folder / "submissions_clean.csv", dtype=dtypes, usecols=["region_code", "province_name"])
    table = (ranking.merge(profiles[["region_code", f"profile_name_{language}"]], on="region_code", how="left")
             .merge(provinces, on="region_code", how="left")
             .sort_values(["rank", "region_code"], kind="stable"))
    fmt = NumberFormat(language)
    return [{
        "rank": int(r["rank"]), "region_code": r["region_code"], "name": r["official_name"],
        "province": r["province_name"] if isinstance(r["province_name"], str) else "",
        "index": fmt.number(r["readiness_index"]),
        "interval": f"{fmt.value(r.get('rank_p05'))}–{fmt.value(r.get('rank_p95'))}",
        "profile": r[f"profile_name_{language}"] if isinstance(r[f"profile_name_{language}"], str) else "",
        "selected": str(r["selected"]).strip().lower() in {"true", "1"},
        "href": report_hrefs.get(r["region_code"]),
    } for _, r in table.iterrows()]


def render_index(rows: Iterable[Mapping[str, Any]], language: str, summary_href: str | None = None,
                 stages: Iterable[Mapping[str, str]] = (), failures: Iterable[Any] = (),
                 participation: Any = None, map_svg: str = "", run_notes: Iterable[Mapping[str, str]] = ()) -> str:
    """Render the index page of a run (readable offline: inline style, no script).

    ``participation`` (a :class:`~smartcity_analysis.reports.participation.Participation`) and ``map_svg``
    (the round's dot map) come from :func:`index_extras`; without them the page lists the regions only.
    ``run_notes`` (stage, region, message) are what the run skipped or did differently, shown below the list.
    """
    language = validate_language(language)
    return template_environment().get_template("index.html.j2").render(
        rows=list(rows), language=language, summary_href=summary_href, stages=list(stages),
        failures=list(failures), participation=participation, map_svg=map_svg, run_notes=list(run_notes),
        fmt=NumberFormat(language))


def index_extras(processed_dir: str | Path, language: str) -> dict[str, Any]:
    """Return what the index page shows above the list: participation and the dot map of the round.

    Pass the result to :func:`render_index` as keyword arguments. Both are optional: a processed folder
    without ``participation.csv`` gives no participation, and the map needs only the bundled reference.
    """
    from smartcity_analysis.reports.map import round_map_from_tables
    from smartcity_analysis.reports.participation import read_participation
    from smartcity_analysis.reports.tables import read_processed_tables

    try:
        map_svg = round_map_from_tables(read_processed_tables(processed_dir), validate_language(language))
    except FileNotFoundError:  # a stage before 04 failed: the index lists what there is, without a map
        map_svg = ""
    from smartcity_analysis.notes import read_notes
    from smartcity_analysis.reports.summary import round_run_notes

    notes = round_run_notes(read_notes(processed_dir), validate_language(language))
    return {"participation": read_participation(processed_dir), "map_svg": map_svg, "run_notes": notes}
