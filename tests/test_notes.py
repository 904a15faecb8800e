"""The record of what a run degraded: one file, each stage's notes replaced on rerun, both languages."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.index.engine import build_index
from smartcity_analysis.notes import (
    NOTES_FILE,
    NotApplicable,
    Note,
    StageWarnings,
    notes_for_region,
    notes_from_warnings,
    notes_list,
    read_notes,
    run_optional,
    warning_notes,
    write_notes,
)
from smartcity_analysis.profiles import stage as profiles_stage


def _note(stage, analysis="profiles", region=""):
    return Note(stage, analysis, "skipped", "too_few_regions", "Dilewati.", "Skipped.", region)


def test_each_stage_replaces_only_its_own_notes(tmp_path):
    write_notes(tmp_path, "01_clean_submissions", [_note("01_clean_submissions", "denominator:population", "3273")])
    write_notes(tmp_path, "03_readiness_profiles", [_note("03_readiness_profiles")])
    write_notes(tmp_path, "02_readiness_index", [_note("02_readiness_index", "indicator:hdi")])
    write_notes(tmp_path, "03_readiness_profiles", [])  # a rerun of stage 03 that degraded nothing
    notes = read_notes(tmp_path)
    assert notes["stage"].tolist() == ["01_clean_submissions", "02_readiness_index"]  # pipeline order
    assert notes_for_region(notes, "3273")["analysis"].tolist() == ["denominator:population"]
    assert notes.loc[1, "region_code"] == ""


def test_the_cleaning_stage_starts_a_new_record(tmp_path):
    write_notes(tmp_path, "04_rank_and_select", [_note("04_rank_and_select", "panel_effect")])
    write_notes(tmp_path, "01_clean_submissions", [])
    assert read_notes(tmp_path).empty
    assert (tmp_path / NOTES_FILE).is_file()


def test_notes_of_another_stage_are_refused(tmp_path):
    with pytest.raises(ValueError, match="other stages"):
        write_notes(tmp_path, "02_readiness_index", [_note("03_readiness_profiles")])


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="action"):
        Note("02_readiness_index", "x", "ignored", "why", "id", "en")


def test_an_optional_analysis_that_cannot_run_gives_a_note_not_an_error():
    def needs_two_classes(classes):
        if len(classes) < 2:
            raise NotApplicable("too_few_classes", "Perlu dua kelas.", "Needs two classes.")
        return "tested"

    assert run_optional("04_rank_and_select", "panel_effect", needs_two_classes, ["A", "B"]) == ("tested", ())
    result, notes = run_optional("04_rank_and_select", "panel_effect", needs_two_classes, ["A"])
    assert result is None
    assert [(n.action, n.reason_code, n.message_en) for n in notes] == [("skipped", "too_few_classes",
                                                                         "Needs two classes.")]


def test_an_optional_analysis_that_breaks_says_how():
    result, notes = run_optional("02_readiness_index", "chart:coherence", lambda: 1 / 0)
    assert result is None and notes[0].action == "failed"
    assert "ZeroDivisionError" in notes[0].message_en and "ZeroDivisionError" in notes[0].message_id


def test_a_missing_file_reads_as_no_notes(tmp_path):
    assert read_notes(tmp_path).empty
    assert list(read_notes(tmp_path).columns) == ["stage", "analysis", "action", "reason_code", "message_id",
                                                  "message_en", "region_code"]


# --- Warnings become notes ---------------------------------------------------------------------------------

def _toy_index(x, y, groups=None):
    """A two-indicator index over ``len(x)`` units, for the engine's warnings."""
    data = pd.DataFrame({"uCode": [f"u{i}" for i in range(len(x))], "x": x, "y": y,
                         "group": groups if groups is not None else ["g"] * len(x)})
    framework = pd.DataFrame({"code": ["x", "y", "Index"], "level": [1, 1, 2], "parent": ["Index", "Index", ""],
                              "weight": [1.0, 1.0, 1.0], "direction": [1, 1, 1]})
    return data, framework


def _engine_warnings(*builds):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for data, framework, options in builds:
            build_index(data, framework, **options)
    return caught


def test_a_constant_indicator_becomes_a_note_in_both_languages_without_a_path():
    data, framework = _toy_index([5.0] * 6, [1.0, 2, 3, 4, 5, 6])
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        with notes_from_warnings("02_readiness_index") as caught:
            build_index(data, framework)
            build_index(data, framework, normalise="zscore")
    assert leaked == []  # nothing reaches the page
    assert [(n.stage, n.analysis, n.action, n.reason_code) for n in caught.notes] == [
        ("02_readiness_index", "warning:IndexWarning", "left_out", "constant_indicator")]
    note = caught.notes[0]
    assert note.message_en.startswith("The indicator x has a single value") and note.message_en.endswith("(×2)")
    assert note.message_id.startswith("Indikator x hanya memiliki satu nilai") and note.message_id.endswith("(×2)")
    assert not re.search(r"\.py|Warning", note.message_id + note.message_en)


def test_every_warning_of_the_engine_has_its_own_sentence():
    constant = _toy_index([5.0] * 6, [1.0, 2, 3, 4, 5, 6])
    no_data = _toy_index([1.0, 2, 3, np.nan], [4.0, 5, 6, np.nan])
    ungrouped = _toy_index([1.0, 2, np.nan, np.nan], [1.0, 2, 3, 4], groups=["a", "a", "b", "b"])
    caught = _engine_warnings((*constant, {}), (*no_data, {}),
                              (*ungrouped, {"impute": "group_median", "impute_group": "group"}))
    notes = warning_notes("02_readiness_index", caught)
    assert {n.reason_code for n in notes} == {"constant_indicator", "unit_without_data", "imputation_left_missing"}
    assert {n.action for n in notes} == {"left_out"}  # no engine warning falls back to the English text
    unit = next(n for n in notes if n.reason_code == "unit_without_data")
    assert unit.message_id == "Daerah tanpa data indikator apa pun dikeluarkan dari indeks: u3."


def test_an_unknown_warning_keeps_its_message_but_not_its_path():
    def warn(message, category):
        warnings.warn_explicit(message, category, "/opt/venv/lib/python3.11/site-packages/lib/fit.py", 351)

    with notes_from_warnings("03_readiness_profiles") as caught:
        warn("Number of distinct clusters (2) found smaller than n_clusters (3)", RuntimeWarning)
        warn("see /opt/venv/lib/python3.11/site-packages/lib/fit.py:351 for details", UserWarning)
    second, first = caught.notes  # sorted by their text: "(general)" before "(numerical computation)"
    assert (first.action, first.reason_code) == ("warned", "runtime_warning")
    assert first.message_en == ("A warning (numerical computation) while this stage ran: Number of distinct "
                                "clusters (2) found smaller than n_clusters (3)")
    assert first.message_id.startswith("Peringatan (perhitungan numerik) saat tahap ini berjalan")
    assert second.message_en.endswith("see fit.py for details")
    assert not re.search(r"/opt|\.py:\d+", second.message_id + second.message_en)


def test_warning_notes_do_not_depend_on_the_order_warnings_arrive_in():
    def caught_in(order):
        with notes_from_warnings("04_rank_and_select") as caught:
            for message in order:
                warnings.warn(message, RuntimeWarning, stacklevel=2)
        return caught.notes

    arrivals = ["b happened", "a happened", "b happened", "c happened", "a happened", "b happened"]
    notes = caught_in(arrivals)
    assert notes == caught_in(arrivals[::-1]) == caught_in(sorted(arrivals))
    assert [n.message_en.split(": ")[1] for n in notes] == ["a happened (×2)", "b happened (×3)", "c happened"]


def test_warnings_for_developers_are_not_notes():
    with notes_from_warnings("02_readiness_index") as caught:
        warnings.warn("old API", DeprecationWarning, stacklevel=2)
        warnings.warn("older API", PendingDeprecationWarning, stacklevel=2)
    assert caught.notes == ()


def test_a_stage_catches_its_warnings_from_one_cell_to_a_later_one():
    stage = StageWarnings("04b_what_if").start()
    warnings.warn("first cell", RuntimeWarning, stacklevel=2)
    warnings.warn("a later cell", RuntimeWarning, stacklevel=2)
    notes = stage.stop()
    assert [n.message_en.split(": ")[1] for n in notes] == ["a later cell", "first cell"]
    with pytest.warns(RuntimeWarning, match="after the stage"):  # shown as usual once stopped
        warnings.warn("after the stage", RuntimeWarning, stacklevel=2)
    assert stage.stop() == notes


def test_the_profiles_stage_records_the_warnings_of_its_fit(monkeypatch, framework):
    def warning_fit(features, framework, **options):
        warnings.warn("Number of distinct clusters (2) found smaller than n_clusters (3)", RuntimeWarning,
                      stacklevel=2)
        return "fitted"

    monkeypatch.setattr(profiles_stage, "fit_profiles", warning_fit)
    features = pd.DataFrame({"aspect_struktur": np.arange(12.0)}, index=[str(1101 + i) for i in range(12)])
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        result, notes = profiles_stage.profile_round(features, framework)
    assert result == "fitted" and leaked == []
    assert [(n.stage, n.action, n.reason_code) for n in notes if n.analysis.startswith("warning:")] == [
        ("03_readiness_profiles", "warned", "runtime_warning")]


def test_notes_are_shown_as_a_list_in_both_languages_with_markup_as_text():
    shown = notes_list([Note("01_clean_submissions", "file", "skipped", "unreadable", "Berkas <b>x</b> dilewati.",
                             "File <b>x</b> skipped.", "3273")])._repr_html_()
    assert shown == ('<ul class="sc-stage-notes"><li>Berkas &lt;b&gt;x&lt;/b&gt; dilewati. (wilayah 3273)<br>'
                     "<em>File &lt;b&gt;x&lt;/b&gt; skipped. (region 3273)</em></li></ul>")
    assert "No notes" in notes_list([])._repr_html_() and "No notes" in repr(notes_list([]))
