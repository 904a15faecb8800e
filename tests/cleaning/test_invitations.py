"""The invitation list: read and resolved like submissions, accounted for, and set against the accepted ones."""

import json

import pandas as pd
import pytest

from smartcity_analysis.cleaning import run_cleaning
from smartcity_analysis.cleaning.invitations import (
    OUTPUT_FILES,
    InvitationListError,
    default_invitations_file,
    invitations_with_notes,
    round_invitations_file,
    run_invitations,
)
from smartcity_analysis.notes import NotApplicable
from smartcity_analysis.paths import RAW_DIR, SAMPLE_SUBMISSIONS_DIR

BUNDLED_LIST = RAW_DIR / "submissions" / "invitations-2021.csv"


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """The bundled sample round cleaned, then its invitation list read."""
    processed = tmp_path_factory.mktemp("bundled")
    run_cleaning(SAMPLE_SUBMISSIONS_DIR, processed)
    return run_invitations(BUNDLED_LIST, processed), processed


def _processed(folder, accepted, quarantined=()):
    """A processed folder holding only what the invitation step reads."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"region_code": list(accepted), "assessment_class": ["Kelas A"] * len(accepted)}).to_csv(
        folder / "submissions_clean.csv", index=False)
    pd.DataFrame({"source_file": "x.csv", "source_row": range(2, 2 + len(quarantined)),
                  "region_code": list(quarantined), "reason_code": "region_conflict", "detail": "-"}).to_csv(
        folder / "quarantine.csv", index=False)
    return folder


def _list(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_round_150_invited_88_took_part(bundled):
    result, processed = bundled
    summary = result.summary
    assert (summary["invited"], summary["took_part"], summary["accepted"]) == (150, 88, 88)
    assert (summary["absent"], summary["not_invited"]) == (62, 0)
    assert summary["rows_read"] == 150 == summary["rows_invited"] + summary["rows_quarantined"]
    absent = result.participation[result.participation["status"] == "absent"]
    assert len(absent) == 62 and absent["scheduled_class"].isna().all()
    # Every participant's scheduled class is the class it was assessed in.
    took_part = result.participation[result.participation["status"] == "took_part"]
    assert (took_part["scheduled_class"] == took_part["assessment_class"]).all()
    written = json.loads((processed / OUTPUT_FILES["summary"]).read_text(encoding="utf-8"))
    assert written["took_part"] == 88
    table = pd.read_csv(processed / OUTPUT_FILES["participation"], dtype={"region_code": str})
    assert table["region_code"].str.fullmatch(r"\d{4}").all() and len(table) == 150


def test_duplicates_unknown_names_and_a_region_not_invited(tmp_path):
    processed = _processed(tmp_path / "p", accepted=["3273", "3204", "3578"], quarantined=["3171"])
    path = _list(tmp_path / "invitations-2021.csv", (
        "Kode Wilayah;Nama Kabupaten/Kota;Provinsi;Diundang;Kelas;Hari asesmen\n"
        "32.73;Kota Bandung;Jawa Barat;Ya;Kelas A;08/11/2021\n"
        ";Kab. Bandung;Jawa Barat;;Kelas B;\n"
        "3273;Kota Bandung;Jawa Barat;Ya;Kelas A;\n"          # the same region again
        ";Kabupaten Antah Berantah;Jawa Barat;Ya;;\n"          # a name matching nothing
        ";Bandung;;Ya;;\n"                                     # a bare twin name
        "3171;Kota Administrasi Jakarta Pusat;DKI Jakarta;Ya;;\n"
        "3578;Kota Surabaya;Jawa Timur;Tidak;;\n"              # listed, but not invited
        "3374;Kota Semarang;Jawa Tengah;mungkin;;\n"))       # not a yes/no word
    result = run_invitations(path, processed)
    summary = result.summary
    assert (summary["rows_read"], summary["rows_invited"], summary["rows_not_invited"],
            summary["rows_quarantined"]) == (8, 3, 1, 4)
    assert summary["quarantine_by_reason"] == {"ambiguous_region": 1, "duplicate_invitation": 1,
                                               "invalid_invited": 1, "unknown_region": 1}
    duplicate = result.quarantine[result.quarantine["reason_code"] == "duplicate_invitation"]
    assert duplicate["source_row"].tolist() == [4] and "row 2" in duplicate["detail"].iloc[0]
    status = result.participation.set_index("region_code")["status"].to_dict()
    assert status == {"3171": "absent", "3204": "took_part", "3273": "took_part", "3578": "not_invited"}
    assert (summary["invited"], summary["took_part"], summary["accepted"], summary["not_invited"]) == (3, 2, 3, 1)
    invited = result.invited.set_index("region_code")
    assert invited.loc["3273", "scheduled_day"] == "2021-11-08"
    assert invited.loc["3204", "scheduled_class"] == "Kelas B"
    participation = result.participation.set_index("region_code")
    assert participation.loc["3171", "quarantined_rows"] == 1


def test_a_list_in_english_headers_and_a_workbook(tmp_path):
    from openpyxl import Workbook

    processed = _processed(tmp_path / "p", accepted=["1101"])
    book = Workbook()
    book.active.append(["region_code", "official_name", "province_name", "invited"])
    book.active.append([1101, "Kabupaten Aceh Selatan", "Aceh", True])
    book.active.append(["11.02", "Kabupaten Aceh Tenggara", "Aceh", "Y"])
    book.save(tmp_path / "invitations-2021.xlsx")
    result = run_invitations(tmp_path / "invitations-2021.xlsx", processed)
    assert result.participation.set_index("region_code")["status"].to_dict() == {
        "1101": "took_part", "1102": "absent"}


def test_no_list_is_a_note_and_removes_stale_files(tmp_path, bundled):
    processed = _processed(tmp_path / "p", accepted=["1101"])
    (processed / OUTPUT_FILES["participation"]).write_text("stale\n", encoding="utf-8")
    with pytest.raises(NotApplicable):
        run_invitations(tmp_path / "missing.csv", processed)
    assert not (processed / OUTPUT_FILES["participation"]).exists()
    result, notes = invitations_with_notes(None, processed)
    assert result is None and len(notes) == 1
    assert (notes[0].action, notes[0].reason_code, notes[0].stage) == ("skipped", "no_invitation_list",
                                                                       "01_clean_submissions")
    assert "undangan" in notes[0].message_id


def test_an_unreadable_list_says_which_file(tmp_path):
    processed = _processed(tmp_path / "p", accepted=["1101"])
    path = _list(tmp_path / "invitations-2021.csv", "apa;ini\n1;2\n")
    with pytest.raises(InvitationListError, match="invitations-2021.csv"):
        run_invitations(path, processed)
    result, notes = invitations_with_notes(path, processed)
    assert result is None and notes[0].action == "failed"


def test_the_default_list_sits_beside_the_round_folder(tmp_path):
    (tmp_path / "sample-2022").mkdir()
    assert default_invitations_file(tmp_path / "sample-2022") is None
    _list(tmp_path / "invitations-2022.csv", "region_code\n")
    assert default_invitations_file(tmp_path / "sample-2022") == tmp_path / "invitations-2022.csv"
    assert default_invitations_file(tmp_path / "my-round") is None
    assert default_invitations_file(SAMPLE_SUBMISSIONS_DIR) == BUNDLED_LIST


def test_the_year_its_submissions_give_names_the_default_list(tmp_path):
    _list(tmp_path / "invitations-2021.csv", "region_code\n")
    assert default_invitations_file(tmp_path / "putaran-terbaru", 2021) == tmp_path / "invitations-2021.csv"
    assert default_invitations_file(tmp_path / "putaran-terbaru") is None  # no year anywhere
    assert default_invitations_file(tmp_path / "putaran-terbaru", 2022) is None
    # The content's year wins over the folder's name, which is only the last resort.
    _list(tmp_path / "invitations-2022.csv", "region_code\n")
    assert default_invitations_file(tmp_path / "sample-2022", 2021) == tmp_path / "invitations-2021.csv"
    assert default_invitations_file(tmp_path / "sample-2022") == tmp_path / "invitations-2022.csv"


def test_a_named_list_wins_over_the_default(tmp_path):
    _list(tmp_path / "invitations-2021.csv", "region_code\n")
    summary = {"round_year": {"year": 2021, "found_from": "submitted_at"}}
    named = tmp_path / "daftar undangan.xlsx"
    assert round_invitations_file(named, tmp_path / "putaran", summary) == named
    assert round_invitations_file("", tmp_path / "putaran", summary) == tmp_path / "invitations-2021.csv"
    assert round_invitations_file(None, tmp_path / "putaran", {}) is None
    assert round_invitations_file(None, tmp_path / "sample-2021") == tmp_path / "invitations-2021.csv"
