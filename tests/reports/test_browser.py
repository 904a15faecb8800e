"""The index page and a report, opened in a real headless browser (Debian's Chromium through playwright)."""

import os
import shutil
from pathlib import Path

import pytest

from smartcity_analysis.reports.runner import render_reports, write_index
from smartcity_analysis.synthetic.processed import write_synthetic_processed

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_or_skip():
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed"
    if missing is None and not (CHROMIUM.exists() or shutil.which("chromium")):
        missing = "Chromium is not installed (apt-get install chromium)"
    if missing:
        if os.environ.get("SMARTCITY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SMARTCITY_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    return sync_playwright, str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    processed = tmp_path_factory.mktemp("processed")
    codes = write_synthetic_processed(processed, n_regions=4)
    folder = tmp_path_factory.mktemp("reports")
    batch = render_reports(processed, folder, codes, workers=1, language="id", progress=False)
    write_index(folder, processed, batch.rendered, "id", batch.failures)
    return folder, codes


def _visit(page, url):
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_load_state("load")
    return requests, errors


def _is_blank(png: bytes) -> bool:
    import io

    from PIL import Image

    colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 16)
    return colours is not None and len(colours) < 3


@pytest.mark.parametrize("target", ["index", "report"])
def test_pages_render_offline_without_errors(reports, target, tmp_path):
    sync_playwright, chromium = _browser_or_skip()
    folder, codes = reports
    path = folder / "index.html" if target == "index" else folder / "html" / f"{codes[0]}.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            requests, errors = _visit(page, path.resolve().as_uri())
            png = page.screenshot(full_page=True)
            text = page.inner_text("body")
            if target == "index":
                page.click(f'a[href="html/{codes[0]}.html"]')
                page.wait_for_load_state("load")
                assert page.url.endswith(f"/html/{codes[0]}.html")
        finally:
            browser.close()
    assert not errors, errors
    assert requests and all(url.startswith(("file://", "data:")) for url in requests), requests
    assert not _is_blank(png)
    assert ("Kabupaten" in text) or ("Kota" in text)
