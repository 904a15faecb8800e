"""Render executed notebooks to self-contained HTML, and write the offline index page of a run.

Pages carry no code (inputs excluded), no external reference (scripts or links to another host are removed,
and a Content-Security-Policy forbids the browser to fetch anything), and no timestamp: the same notebook
gives the same bytes. A run's region pages go through :class:`PageExporter`, which writes nbconvert's pages
without its BeautifulSoup pass, byte for byte.
"""

from __future__ import annotations

import copy
import html as html_lib
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
from bs4 import BeautifulSoup
from bs4.builder import HTMLTreeBuilder
from bs4.dammit import EntitySubstitution, UnicodeDammit
from bs4.element import nonwhitespace_re
from nbconvert import HTMLExporter
from traitlets.config import Config

from smartcity_analysis.reports.language import NumberFormat, template_environment, validate_language

_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I | re.S)
_EXTERNAL_LINK_TAG = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I | re.S)
_EXTERNAL_ATTRIBUTE = re.compile(
    r"\s(?:src|href|srcset|action|formaction|poster|data)\s*=\s*([\"'])(?:https?:)?//.*?\1", re.I | re.S)
# Namespace declarations are names, not addresses, and HTML5 does not need them on inline SVG.
_XML_NAMESPACE = re.compile(r"\sxmlns(?::\w+)?\s*=\s*([\"'])http://www\.w3\.org/[^\"']*\1")
_LOG = logging.getLogger(__name__)
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


# --- Pages without nbconvert's second pass ------------------------------------------------------------------
class PageExporter:
    """nbconvert's HTML exporter without its BeautifulSoup pass over every page: the same bytes, much faster.

    ``HTMLExporter.from_notebook_node`` renders its template, then parses the result with BeautifulSoup
    (``html.parser``) to give images without alt text one and JupyterLab cells a ``tabindex``, and writes it
    out again, which normalises the markup: attributes sorted and double-quoted, void tags closed,
    whitespace-only text collapsed, character references resolved. With a report's map of 514 dots that pass
    is about 35 ms of a page's 40. :func:`soup_markup` does the same normalisation directly for plain markup,
    which is what reports are made of, and gives up on anything else (scripts, styles, comments, an image
    without alt text, JupyterLab cells, markup that is not well nested), which then takes nbconvert's path.
    The first page is produced both ways and compared; if they differ, every page takes nbconvert's path.

    Parameters
    ----------
    exporter : HTMLExporter
        From :func:`smartcity_analysis.reports.html.make_exporter`; used for the template and as the fallback.
    """

    MAX_CACHED_PIECES = 50_000

    def __init__(self, exporter: Any) -> None:
        self.exporter = exporter
        self.lean = True
        self.checked = False
        self._pieces: dict[str, tuple[str, str, str]] = {}

    def from_notebook_node(self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None,
                           **kw: Any) -> tuple[str, dict[str, Any]]:
        """Convert a notebook to HTML, as ``HTMLExporter.from_notebook_node`` does."""
        if not self.lean:
            return self.exporter.from_notebook_node(nb, resources, **kw)
        if len(self._pieces) > self.MAX_CACHED_PIECES:
            self._pieces.clear()
        markup, rendered_resources = template_markup(self.exporter, nb, copy.copy(resources), **kw)
        page = soup_markup(markup, self._pieces)
        if page is None:
            return self.exporter.from_notebook_node(nb, resources, **kw)
        if not self.checked:
            self.checked = True
            expected = self.exporter.from_notebook_node(nb, resources, **kw)
            if expected[0] != page:
                _LOG.warning("Pages differ from nbconvert's; exporting every page with nbconvert.")
                self.lean = False
                return expected
        return page, rendered_resources


def template_markup(exporter: Any, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None,
                    **kw: Any) -> tuple[str, dict[str, Any]]:
    """Return what ``HTMLExporter.from_notebook_node`` (nbconvert 7) renders before its BeautifulSoup pass."""
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    langinfo = nb.metadata.get("language_info", {})
    lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
    highlight_code = exporter.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=exporter))
    resources = exporter._init_resources(resources)
    filter_data_type = WidgetsDataTypeFilter(notebook_metadata=exporter._nb_metadata, parent=exporter,
                                             resources=resources)
    exporter.register_filter("highlight_code", highlight_code)
    exporter.register_filter("filter_data_type", filter_data_type)
    return TemplateExporter.from_notebook_node(exporter, nb, resources, **kw)


_SPACE = "[ \t\n\r\f]"
_TAG = re.compile(rf'(/?)([a-zA-Z][a-zA-Z0-9]*)((?:{_SPACE}+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"<>]*")?)*)'
                  rf'{_SPACE}*(/?)>')
_ATTRIBUTE = re.compile(rf'{_SPACE}+([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?')
_REFERENCE = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|([a-zA-Z][a-zA-Z0-9]*));")
_LAB_CELLS = re.compile("jp-notebook", re.I)
_VOID_TAGS = frozenset(HTMLTreeBuilder.DEFAULT_EMPTY_ELEMENT_TAGS)
_LIST_ATTRIBUTES = HTMLTreeBuilder.DEFAULT_CDATA_LIST_ATTRIBUTES
# Tags whose content BeautifulSoup, or some version of html.parser, treats other than as plain markup.
_SPECIAL_TAGS = frozenset({
    *HTMLTreeBuilder.DEFAULT_STRING_CONTAINERS, *HTMLTreeBuilder.DEFAULT_PRESERVE_WHITESPACE_TAGS,
    "meta", "script", "style", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"})
_TEXT_ONLY_TAGS = frozenset({"title"})  # newer html.parser versions read its content as text: keep it plain


class _NotPlain(Exception):
    """Markup that :func:`soup_markup` leaves to BeautifulSoup."""


def soup_markup(markup: str, pieces: dict[str, tuple[str, str, str]] | None = None) -> str | None:
    """Return ``str(BeautifulSoup(markup, "html.parser"))`` for plain, well-nested markup, else None.

    Plain markup: tags with double-quoted or bare attributes, closed in order (void tags need no end tag),
    text with character references that end in ``;``; no comment, declaration, script, style, ``pre`` or
    ``textarea``. None also when nbconvert's pass would change more than the form: an image without alt
    text, a JupyterLab cell.

    Parameters
    ----------
    markup : str
        What nbconvert's template rendered.
    pieces : dict, optional
        A cache of pieces (a tag and the text after it) already written, shared between pages: a report's
        map repeats on every page.
    """
    if any(c in markup for c in ("jp-", "JP-", "Jp-", "jP-")) and _LAB_CELLS.search(markup):
        return None
    pieces = {} if pieces is None else pieces
    head, *rest = markup.split("<")
    written: list[str] = []
    open_tags: list[str] = []
    try:
        written.append(_soup_text(head) if head else "")
        for raw in rest:
            piece = pieces.get(raw)
            if piece is None:
                piece = pieces[raw] = _soup_piece(raw)
            text, opens, closes = piece
            if closes:
                if not open_tags or open_tags.pop() != closes:
                    return None
            elif open_tags and open_tags[-1] in _TEXT_ONLY_TAGS:
                return None  # an element inside a title
            if opens:
                open_tags.append(opens)
            written.append(text)
    except _NotPlain:
        return None
    return None if open_tags else "".join(written)


def _soup_piece(raw: str) -> tuple[str, str, str]:
    """Write a tag and the text after it (``raw`` follows a "<") as BeautifulSoup does.

    Returns the piece written, the name of the element it opens and of the element it closes ("" if none).
    """
    match = _TAG.match(raw)
    if match is None:
        raise _NotPlain("a '<' that starts no tag")
    closing, name, attributes, empty = match.groups()
    name, text = name.lower(), raw[match.end():]
    if name in _SPECIAL_TAGS:
        raise _NotPlain(f"a {name} element")
    if closing:
        if attributes or empty:
            raise _NotPlain("an end tag with attributes")
        return f"</{name}>{_soup_text(text) if text else ''}", "", name
    if name in _TEXT_ONLY_TAGS and "&" in text:
        raise _NotPlain(f"a reference in a {name}")
    attributes = _soup_attributes(name, attributes)
    text = _soup_text(text) if text else ""
    if name in _VOID_TAGS:
        return f"<{name}{attributes}/>{text}", "", ""
    if empty:  # <circle .../>: html.parser opens and closes it
        return f"<{name}{attributes}></{name}>{text}", "", ""
    return f"<{name}{attributes}>{text}", name, ""


def _soup_text(text: str) -> str:
    """Write text as BeautifulSoup does: references resolved, ``&<>`` escaped, blank text one space or newline."""
    if "&" in text:
        pieces, at = [], 0
        for match in _REFERENCE.finditer(text):
            if "&" in text[at:match.start()]:
                raise _NotPlain("a bare ampersand")
            decimal, hexadecimal, name = match.groups()
            if name is not None:
                character = EntitySubstitution.HTML_ENTITY_TO_CHARACTER.get(name)
                if character is None:
                    raise _NotPlain(f"unknown reference {name}")
            else:
                number = int(decimal, 10) if decimal is not None else int(hexadecimal, 16)
                character = UnicodeDammit.numeric_character_reference(number)[0]
            pieces += [text[at:match.start()], character]
            at = match.end()
        if "&" in text[at:]:
            raise _NotPlain("a bare ampersand")
        text = "".join(pieces) + text[at:]
    elif ">" not in text and text.strip(BeautifulSoup.ASCII_SPACES):
        return text  # nothing to resolve or escape
    if not text.strip(BeautifulSoup.ASCII_SPACES):
        return "\n" if "\n" in text else " "
    return EntitySubstitution.substitute_xml(text)


def _soup_attributes(name: str, markup: str) -> str:
    """Write a start tag's attributes as BeautifulSoup does: sorted, class lists tidied, quoted."""
    values: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(markup):
        values[match.group(1).lower()] = html_lib.unescape(match.group(2)) if match.group(2) else ""
    if name == "img" and "alt" not in values:
        raise _NotPlain("an image without alt text")  # nbconvert would add one
    lists = _LIST_ATTRIBUTES["*"] | _LIST_ATTRIBUTES.get(name, set())
    pieces = []
    for key in sorted(values):
        value = " ".join(nonwhitespace_re.findall(values[key])) if key in lists else values[key]
        pieces.append(f" {key}={EntitySubstitution.quoted_attribute_value(EntitySubstitution.substitute_xml(value))}")
    return "".join(pieces)
