"""The record of what a run degraded: one file, each stage's notes replaced on rerun, both languages."""

import pytest

from smartcity_analysis.notes import (
    NOTES_FILE,
    NotApplicable,
    Note,
    notes_for_region,
    read_notes,
    run_optional,
    write_notes,
)


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
