"""An analyst's framework file drives a whole `smartcity run`: stages and reports read it, the manifest records it."""

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from smartcity_analysis.paths import FRAMEWORK_FILE, NOTEBOOKS_DIR
from smartcity_analysis.reports.runner import REPORT_NOTEBOOK, STAGE_NOTEBOOKS, SUMMARY_NOTEBOOK, declared_parameters
from smartcity_analysis.synthetic.rounds import shape_matrix, write_round

# The analyst's change: the superstructure aspect weighs 3 (1 in the bundled file), under a label that says so.
BUNDLED_ASPECT = ("  - code: aspect_suprastruktur\n    view: aspects\n    level: 2\n    parent: readiness_index\n"
                  "    weight: 1\n    label_id: Suprastruktur\n")
ANALYST_ASPECT = BUNDLED_ASPECT.replace("weight: 1", "weight: 3").replace("Suprastruktur\n",
                                                                          "Suprastruktur (bobot 3)\n")
STAGES_RUN = (*STAGE_NOTEBOOKS, SUMMARY_NOTEBOOK)
SVG_IMAGE = re.compile(r'data:image/svg\+xml;base64,([^"]+)')


@pytest.fixture(scope="module")
def analyst_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("own_framework")
    text = FRAMEWORK_FILE.read_text(encoding="utf-8")
    assert text.count(BUNDLED_ASPECT) == 1
    framework = tmp / "kerangka analis.yaml"
    framework.write_text(text.replace(BUNDLED_ASPECT, ANALYST_ASPECT), encoding="utf-8")
    shape = next(s for s in shape_matrix() if s.name == "five_regions")
    written = write_round(tmp / "submissions", shape)
    processed, reports = tmp / "processed", tmp / "reports"
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "smartcity"), "run", "--submissions", str(written.folder), "--processed",
         str(processed), "--reports", str(reports), "--quota", "3", "--workers", "1", "--quiet",
         "--framework", str(framework)], capture_output=True, text=True, timeout=600)
    return completed, framework, processed, reports


def test_the_run_succeeds_and_the_manifest_records_the_framework_used(analyst_run):
    completed, framework, _, reports = analyst_run
    assert completed.returncode == 0, completed.stderr
    manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["framework_file"] == str(framework)
    assert manifest["inputs"]["framework"] == {framework.name: hashlib.sha256(framework.read_bytes()).hexdigest()}


def test_every_stage_and_report_is_given_the_framework_file(analyst_run):
    _, framework, processed, reports = analyst_run
    regions = pd.read_csv(processed / "submissions_clean.csv", dtype={"region_code": str})["region_code"]
    executed = [*STAGES_RUN, *(f"05_region_report_{code}.ipynb" for code in regions)]
    for name in executed:
        nb = nbformat.read(reports / "notebooks" / name, as_version=4)
        injected = [c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert injected and f'framework_file = "{framework}"' in injected[0], name


def test_the_weight_change_changes_the_index_and_only_the_index(analyst_run):
    _, _, processed, _ = analyst_run
    scores = pd.read_csv(processed / "scores.csv", dtype={"region_code": str})
    aspects = scores[["aspect_struktur", "aspect_infrastruktur", "aspect_suprastruktur"]]
    weighted = (aspects["aspect_struktur"] + aspects["aspect_infrastruktur"] + 3 * aspects["aspect_suprastruktur"]) / 5
    pd.testing.assert_series_equal(scores["readiness_index"], weighted, check_names=False, atol=0.01)
    assert (scores["readiness_index"] - aspects.mean(axis=1)).abs().max() > 0.1  # not the bundled equal weights


def test_region_reports_label_the_aspects_from_the_framework_used(analyst_run):
    _, _, processed, reports = analyst_run
    code = pd.read_csv(processed / "submissions_clean.csv", dtype={"region_code": str})["region_code"].iloc[0]
    page = (reports / "html" / f"{code}.html").read_text(encoding="utf-8")
    charts = [base64.b64decode(data).decode("utf-8") for data in SVG_IMAGE.findall(page)]
    assert any("Suprastruktur (bobot 3)" in chart for chart in charts)  # the chart of the aspects and dimensions


@pytest.mark.parametrize("name", [*STAGE_NOTEBOOKS, "04b_what_if.ipynb", REPORT_NOTEBOOK, SUMMARY_NOTEBOOK])
def test_every_stage_notebook_declares_the_framework_file(name):
    declared = declared_parameters(NOTEBOOKS_DIR / name)["framework_file"]
    assert declared["default"] == '""'
    assert declared["help"].startswith("the framework file; empty: config/framework.yaml of the project")


def test_run_round_refuses_a_broken_framework_before_creating_a_folder(tmp_path):
    from smartcity_analysis.config import FrameworkError
    from smartcity_analysis.reports.runner import run_round

    broken = tmp_path / "broken.yaml"
    broken.write_text(FRAMEWORK_FILE.read_text(encoding="utf-8").replace(BUNDLED_ASPECT, BUNDLED_ASPECT.replace(
        "weight: 1", "weight: 0")), encoding="utf-8")
    with pytest.raises(FrameworkError, match="aggregate 'aspect_suprastruktur', key `weight`: 0 is not a positive"):
        run_round(tmp_path, tmp_path / "processed", tmp_path / "reports", progress=False, framework_file=broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml"]
