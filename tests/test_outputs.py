"""Atomic writes (smartcity_analysis.outputs) and the neutralisation of formula-like cells in exports."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from smartcity_analysis import outputs


def _temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def test_a_process_killed_mid_write_leaves_the_previous_file(tmp_path):
    target = tmp_path / "scores.csv"
    target.write_bytes(b"previous complete content\n")
    script = (
        "import sys, time\n"
        "from smartcity_analysis.outputs import write_with\n"
        "def slow(path):\n"
        "    with open(path, 'wb') as handle:\n"
        "        handle.write(b'half of the new'); handle.flush()\n"
        "        time.sleep(120)\n"
        f"write_with({str(target)!r}, slow)\n")
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        while not any((tmp_path / n).stat().st_size for n in _temporaries(tmp_path)):
            assert process.poll() is None, "the writer ended before it was killed"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert target.read_bytes() == b"previous complete content\n"
    assert len(_temporaries(tmp_path)) == 1  # the half-written file never took the target's name
    left = _temporaries(tmp_path)
    assert [p.name for p in outputs.remove_stale_temporaries(tmp_path)] == left
    assert _temporaries(tmp_path) == [] and target.exists()


def test_a_failing_writer_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "panel_effect.json"
    target.write_text("{}\n")

    def failing(path):
        path.write_text('{"half": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        outputs.write_with(target, failing)
    assert target.read_text() == "{}\n" and _temporaries(tmp_path) == []


def test_writes_give_the_same_bytes_as_the_direct_writers(tmp_path):
    table = pd.DataFrame({"region_code": ["3273", "3204"], "x": [0.1 + 0.2, None], "t": ["a,b", "é"]})
    table.to_csv(tmp_path / "direct.csv", index=False, encoding="utf-8", lineterminator="\n")
    outputs.write_csv(tmp_path / "atomic.csv", table)
    assert (tmp_path / "atomic.csv").read_bytes() == (tmp_path / "direct.csv").read_bytes()
    outputs.write_json(tmp_path / "a.json", {"b": 1, "a": "é"}, sort_keys=True)
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == json.dumps(
        {"a": "é", "b": 1}, indent=2, ensure_ascii=False) + "\n"
    outputs.write_parquet(tmp_path / "t.parquet", table)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), table)
    assert oct((tmp_path / "atomic.csv").stat().st_mode & 0o777) == "0o644"


def test_the_folder_is_created(tmp_path):
    assert outputs.write_text(tmp_path / "a" / "b" / "c.txt", "x").read_text() == "x"


@pytest.mark.parametrize(("value", "shown"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+62 812", "'+62 812"), ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("Kota Bandung", "Kota Bandung"),
    ("3-10", "3-10"), (-1.5, -1.5), (None, None),
])
def test_formula_like_text_is_neutralised_and_numbers_are_not(value, shown):
    assert outputs.neutralise_formula(value) == shown


def test_neutralise_formulas_changes_text_cells_only():
    table = pd.DataFrame({"name": ["=1+1", "Kota Bandung", None], "score": [-1.0, 2.0, 3.0]})
    out = outputs.neutralise_formulas(table)
    assert out["name"].tolist()[:2] == ["'=1+1", "Kota Bandung"] and pd.isna(out["name"].iloc[2])
    assert out["score"].tolist() == [-1.0, 2.0, 3.0]
    assert table["name"].iloc[0] == "=1+1"  # the input is not changed


def test_only_temporary_files_are_swept_and_sub_folders_too(tmp_path):
    (tmp_path / "html").mkdir()
    stale = [tmp_path / ".index.html.k2j3.tmp", tmp_path / "html" / ".3273.html.x9.tmp"]
    kept = [tmp_path / "index.html", tmp_path / ".keep", tmp_path / "html" / "notes.tmp"]
    for path in stale + kept:
        path.write_text("x")
    assert outputs.remove_stale_temporaries(tmp_path) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)
