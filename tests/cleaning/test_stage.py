import datetime as dt
import json

import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from smartcity_analysis.cleaning.readers import SubmissionBatch
from smartcity_analysis.cleaning.stage import (
    CleaningResult,
    build_summary,
    clean_schema,
    field_coverage,
    mark_superseded,
    quarantine_by_reason,
    run_cleaning,
    top_rules,
)
from smartcity_analysis.config import load_framework

HEADER = ["Kode Wilayah", "Nama Kabupaten/Kota", "Provinsi", "Tahun Asesmen", "Tanggal Pengisian",
          "Nama Pengisi", "No. HP Pengisi", "IPM", "Total APBD (Rp)", "PAD (Rp)", "Pusat Data", "Catatan"]
PERSONAL = ["Budi Santoso", "0812-3456-7890", "Siti Aminah", "081311112222", "Joko Widodo", "0899 1234 5678"]


def write_csv(path, rows, separator=";", encoding="cp1252"):
    text = "\r\n".join(separator.join(str(c) for c in row) for row in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))


@pytest.fixture()
def round_dir(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    book = openpyxl.Workbook()
    book.active.title = "Petunjuk"
    book.active.append(["Isi data pada sheet Data. Jangan mengubah judul kolom."])
    data = book.create_sheet("Data")
    data.append(HEADER)
    data.append([3273, "Kota Bandung", "Jawa Barat", 2021, dt.datetime(2021, 11, 3), PERSONAL[0], PERSONAL[1],
                 72.45, "Rp 12,5 M", "Rp 2 T", "Ya", "=HYPERLINK(\"x\")"])
    data.append([None, "Bandung", "Jawa Barat", 2021, "04/11/2021", PERSONAL[2], PERSONAL[3], "172", None, None,
                 "Proses", "<b>tebal</b>"])
    data.append([None] * len(HEADER))
    data.append(["32.04", "Kab. Bandung", None, "2021", "9 Nopember 2021", "Andi", "0811", "72,1", "4,5 T",
                 "1,2 T", "Tidak", "-"])
    book.save(folder / "a_round.xlsx")
    write_csv(folder / "b_revisi.csv", [
        HEADER,
        ["3273", "Kota Bandung", "Jawa Barat", "2021", "05/11/2021", PERSONAL[0], PERSONAL[1], "72,50", "13 M",
         "2 M", "Ya", "Révisi setelah wawancara"],
        ["", "Toba Samosir", "Sumatera Utara", "", "", PERSONAL[4], PERSONAL[5], "70", "", "", "", ""],
        ["9101", "Merauke", "Papua", "2021", "", "x", "y", "-", "", "", "", ""],
    ])
    (folder / "c_empty.csv").write_bytes(b"")
    (folder / "d_corrupt.xlsx").write_bytes(b"not a zip at all")
    return folder


@pytest.fixture()
def result(round_dir, tmp_path, framework) -> CleaningResult:
    return run_cleaning(round_dir, tmp_path / "processed", framework=framework)


def test_outputs_have_the_contract_columns(result, tmp_path, framework):
    out = tmp_path / "processed"
    fields = [f for f in framework.field_ids(include_pii=False)
              if f not in {"region_code", "province_name", "assessment_year", "assessment_class", "submitted_at"}]
    expected_clean = ["region_code", "official_name", "region_type", "province_name", "assessment_year",
                      "assessment_class", "submitted_at", "source_file", "source_row", *fields]
    assert pd.read_csv(out / "submissions_clean.csv", dtype=str).columns.tolist() == expected_clean
    assert pd.read_parquet(out / "submissions_clean.parquet").columns.tolist() == expected_clean
    assert pd.read_csv(out / "quarantine.csv").columns.tolist() == [
        "source_file", "source_row", "region_code", "reason_code", "detail"]
    assert pd.read_csv(out / "superseded.csv").columns.tolist() == [
        "source_file", "source_row", "region_code", "superseded_by_file", "superseded_by_row"]
    assert pd.read_csv(out / "cleaning_log.csv").columns.tolist() == [
        "source_file", "source_row", "region_code", "field", "original_value", "cleaned_value", "rule", "detail"]
    summary = json.loads((out / "cleaning_summary.json").read_text(encoding="utf-8"))
    assert {"rows_read", "rows_accepted", "rows_superseded", "rows_quarantined", "files_read", "files_rejected",
            "unknown_columns", "quarantine_by_reason"} <= set(summary)


def test_accepted_rows_are_typed_and_sorted(result):
    clean = result.clean
    assert clean["region_code"].tolist() == ["3204", "3273", "9301"]
    kota = clean.set_index("region_code").loc["3273"]
    assert kota["official_name"] == "Kota Bandung" and kota["region_type"] == "Kota"
    assert kota["source_file"] == "b_revisi.csv" and kota["source_row"] == 2
    assert kota["hdi"] == 72.5 and kota["apbd_total_idr"] == 13e9
    assert kota["notes"] == "Révisi setelah wawancara"
    kab = clean.set_index("region_code").loc["3204"]
    assert kab["submitted_at"] == pd.Timestamp("2021-11-09") and kab["has_data_center"] == False  # noqa: E712
    assert clean.set_index("region_code").loc["9301", "province_name"] == "Papua Selatan"
    clean_schema(load_framework()).validate(clean)


def test_csv_booleans_and_dates(result, tmp_path):
    text = pd.read_csv(tmp_path / "processed" / "submissions_clean.csv", dtype=str, keep_default_na=False)
    row = text.set_index("region_code").loc["3204"]
    assert row["has_data_center"] == "false"
    assert row["submitted_at"] == "2021-11-09T00:00:00"
    assert text["region_code"].tolist() == ["3204", "3273", "9301"]


def test_quarantine_and_superseded(result):
    assert_frame_equal(
        result.quarantine[["source_file", "source_row", "reason_code"]],
        pd.DataFrame({"source_file": ["a_round.xlsx", "b_revisi.csv"], "source_row": [3, 3],
                      "reason_code": ["ambiguous_region", "missing_assessment_year"]}),
        check_dtype=False)
    assert "a_round.xlsx row 3" in result.quarantine["detail"].iloc[0]
    assert result.superseded.values.tolist() == [["a_round.xlsx", 2, "3273", "b_revisi.csv", 2]]


def test_log_rules(result):
    log = result.log
    rules = dict(zip(zip(log["source_file"], log["source_row"], log["field"], log["rule"], strict=True),
                     log["cleaned_value"], strict=True))
    assert rules[("a_round.xlsx", 2, "apbd_total_idr", "money_shorthand")] == "12500000000"
    assert rules[("a_round.xlsx", 2, "pad_idr", "rule_pad_not_above_apbd")] == ""
    assert rules[("a_round.xlsx", 2, "has_data_center", "yes_no_word")] == "true"
    assert rules[("a_round.xlsx", 2, "notes", "formula_neutralised")].startswith("'=")
    assert rules[("a_round.xlsx", 3, "hdi", "out_of_range")] == ""
    assert rules[("a_round.xlsx", 3, "has_data_center", "in_progress_not_boolean")] == ""
    assert rules[("a_round.xlsx", 5, "region_code", "region_code_format")] == "3204"
    assert rules[("b_revisi.csv", 2, "hdi", "id_number_format")] == "72.5"
    assert rules[("b_revisi.csv", 3, "region_code", "region_alias")] == "1212"
    assert rules[("b_revisi.csv", 4, "region_code", "papua_2022_renumbering")] == "9301"
    assert rules[("b_revisi.csv", 4, "hdi", "missing_marker")] == ""
    # unchanged values are not logged: the int cell 3273 and the float 72.45
    assert not ((log["source_file"] == "a_round.xlsx") & (log["source_row"] == 2)
                & log["field"].isin(["region_code", "hdi", "assessment_year", "submitted_at"])).any()
    assert log["detail"].str.contains(" row ").all()


def test_summary_counts_and_files(result):
    summary = result.summary
    assert summary["rows_read"] == 6
    assert (summary["rows_accepted"], summary["rows_superseded"], summary["rows_quarantined"]) == (3, 1, 2)
    assert summary["rows_read"] == (summary["rows_accepted"] + summary["rows_superseded"]
                                    + summary["rows_quarantined"])
    assert summary["files_read"] == [{"name": "a_round.xlsx", "sheet": "Data", "header_row": 1, "rows": 3},
                                     {"name": "b_revisi.csv", "sheet": None, "header_row": 1, "rows": 3}]
    assert [f["name"] for f in summary["files_rejected"]] == ["c_empty.csv", "d_corrupt.xlsx"]
    assert summary["quarantine_by_reason"] == {"ambiguous_region": 1, "missing_assessment_year": 1}


def test_no_personal_data_in_any_output(result, tmp_path):
    for path in (tmp_path / "processed").iterdir():
        content = path.read_bytes()
        for value in PERSONAL:
            assert value.encode() not in content, f"{value!r} leaked into {path.name}"


def test_outputs_are_reproducible(round_dir, tmp_path, framework, result):
    again = tmp_path / "again"
    run_cleaning(round_dir, again, framework=framework)
    for path in (tmp_path / "processed").iterdir():
        if path.suffix != ".parquet":
            assert path.read_bytes() == (again / path.name).read_bytes(), path.name


def status_frame(rows):
    frame = pd.DataFrame(rows, columns=["row_seq", "region_code", "assessment_year", "submitted_at"])
    return frame.assign(submitted_at=pd.to_datetime(frame["submitted_at"]), status="accepted")


@pytest.mark.parametrize(("rows", "winner"), [
    ([(0, "3273", 2021, "2021-11-05"), (1, "3273", 2021, "2021-11-03")], 0),   # later date wins
    ([(0, "3273", 2021, None), (1, "3273", 2021, "2021-11-03")], 1),           # undated is older
    ([(0, "3273", 2021, "2021-11-03"), (1, "3273", 2021, None)], 0),
    ([(0, "3273", 2021, "2021-11-03"), (1, "3273", 2021, "2021-11-03")], 1),   # tie: later file/row
    ([(0, "3273", 2021, None), (1, "3273", 2021, None)], 1),
])
def test_mark_superseded_ordering(rows, winner):
    marked = mark_superseded(status_frame(rows))
    assert marked.loc[marked["status"] == "accepted", "row_seq"].tolist() == [winner]
    assert marked.loc[marked["status"] == "superseded", "superseded_by"].tolist() == [winner]


def test_mark_superseded_keeps_regions_and_years_apart():
    marked = mark_superseded(status_frame([(0, "3273", 2021, None), (1, "3204", 2021, None),
                                           (2, "3273", 2022, None)]))
    assert marked["status"].tolist() == ["accepted"] * 3


SAME_TIME_HEADER = ["Kode Wilayah", "Tahun Asesmen", "Tanggal Pengisian", "IPM", "Pusat Data", "ID Pengajuan"]


def accounted(summary):
    return summary["rows_read"] == (summary["rows_accepted"] + summary["rows_superseded"]
                                    + summary["rows_quarantined"] + summary["rows_other_year"])


def test_identical_rows_sent_at_the_same_time_count_once_and_are_logged(tmp_path, framework):
    folder = tmp_path / "in"
    folder.mkdir()
    # The same form in two files, typed differently (72,5 / 72.50, Ya / ya, another ID): one submission.
    write_csv(folder / "a.csv", [SAME_TIME_HEADER, ["3273", "2021", "03/11/2021", "72,5", "Ya", "GMSC-1"],
                                 ["3273", "2021", "03/11/2021", "72,5", "Ya", "GMSC-1"]])
    write_csv(folder / "b.csv", [SAME_TIME_HEADER, ["3273", "2021", "2021-11-03", "72.50", "ya", ""]])
    result = run_cleaning(folder, tmp_path / "out", framework=framework)
    assert result.clean[["source_file", "source_row", "hdi"]].values.tolist() == [["b.csv", 2, 72.5]]
    assert result.superseded.values.tolist() == [["a.csv", 2, "3273", "b.csv", 2], ["a.csv", 3, "3273", "b.csv", 2]]
    assert result.quarantine.empty and accounted(result.summary)
    logged = result.log[result.log["rule"] == "identical_duplicate"]
    assert logged[["source_file", "source_row", "field", "original_value"]].values.tolist() == [
        ["a.csv", 2, "submitted_at", "2021-11-03"], ["a.csv", 3, "submitted_at", "2021-11-03"]]
    assert logged["detail"].str.contains("the same values as b.csv row 2", regex=False).all()


def test_different_rows_sent_at_the_same_time_are_both_quarantined(tmp_path, framework):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", [SAME_TIME_HEADER, ["3273", "2021", "03/11/2021", "70", "Ya", ""],
                                 ["3204", "2021", "01/11/2021", "71", "Ya", ""]])
    write_csv(folder / "b.csv", [SAME_TIME_HEADER, ["3273", "2021", "01/11/2021", "69", "Ya", ""],
                                 ["3273", "2021", "03/11/2021", "71", "Tidak", ""]])
    result = run_cleaning(folder, tmp_path / "out", framework=framework)
    assert result.clean["region_code"].tolist() == ["3204"]  # no silent pick for 3273
    quarantine = result.quarantine
    assert quarantine[["source_file", "source_row", "reason_code"]].values.tolist() == [
        ["a.csv", 2, "conflicting_submissions"], ["b.csv", 3, "conflicting_submissions"]]
    first, second = quarantine["detail"]
    assert first.startswith("a.csv row 2: sent at the same time (2021-11-03) as b.csv row 3 ")
    assert "IPM (hdi) '70' here, '71' in b.csv row 3" in first
    assert "Pusat Data (has_data_center) 'true' here, 'false' in b.csv row 3" in first
    assert "'71' here, '70' in a.csv row 2" in second and "ID Pengajuan" not in second
    assert all("confirm which is final and resubmit" in d for d in quarantine["detail"])
    # The older row of the region was replaced by a later one, even if that one is in quarantine.
    assert result.superseded.values.tolist() == [["b.csv", 2, "3273", "b.csv", 3]]
    assert result.summary["quarantine_by_reason"] == {"conflicting_submissions": 2} and accounted(result.summary)


def test_undated_rows_that_differ_are_a_conflict_too(tmp_path, framework):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", [SAME_TIME_HEADER, ["3273", "2021", "", "70", "Ya", ""],
                                 ["3273", "2021", "", "70", "Ya", ""], ["3273", "2021", "", "71", "Ya", ""]])
    result = run_cleaning(folder, tmp_path / "out", framework=framework)
    assert result.clean.empty and result.superseded.empty
    assert result.quarantine["source_row"].tolist() == [2, 3, 4]
    assert result.quarantine["detail"].iloc[0].startswith("a.csv row 2: undated, as is a.csv row 3, a.csv row 4")
    assert "'70' here, '70' in a.csv row 3; '71' in a.csv row 4" in result.quarantine["detail"].iloc[0]


def test_a_later_row_settles_an_earlier_tie(tmp_path, framework):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", [SAME_TIME_HEADER, ["3273", "2021", "03/11/2021", "70", "Ya", ""],
                                 ["3273", "2021", "03/11/2021", "71", "Ya", ""],
                                 ["3273", "2021", "05/11/2021", "72", "Ya", ""]])
    result = run_cleaning(folder, tmp_path / "out", framework=framework)
    assert result.clean[["source_row", "hdi"]].values.tolist() == [[4, 72.0]]
    assert result.superseded["source_row"].tolist() == [2, 3] and result.quarantine.empty


def test_accounting_invariant_raises(framework):
    batch = SubmissionBatch(pd.DataFrame({"row_seq": [0, 1]}))
    empty = pd.DataFrame({"reason_code": pd.Series(dtype=str)})
    with pytest.raises(RuntimeError, match="2 read"):
        build_summary(batch, pd.DataFrame({"a": [1]}), empty, pd.DataFrame(), framework, None)


def test_notebook_helpers(result):
    by_reason = quarantine_by_reason(result)
    assert by_reason[["reason_code", "rows"]].values.tolist() == [["ambiguous_region", 1],
                                                                  ["missing_assessment_year", 1]]
    rules = top_rules(result, n=3)
    assert len(rules) == 3 and rules["changes"].is_monotonic_decreasing
    coverage = field_coverage(result)
    assert coverage.index.tolist() == ["3204", "3273", "9301"]
    assert coverage.loc["3273", "hdi"] and not coverage.loc["9301", "hdi"]
    assert "region_name" in coverage and "official_name" not in coverage


def test_empty_folder(tmp_path, framework):
    (tmp_path / "in").mkdir()
    result = run_cleaning(tmp_path / "in", tmp_path / "out", framework=framework)
    assert result.summary["rows_read"] == 0 and result.clean.empty
    assert (tmp_path / "out" / "submissions_clean.csv").exists()


def test_two_hundred_rows_of_one_file_are_all_accepted(tmp_path, framework):
    folder = tmp_path / "in"
    folder.mkdir()
    regions = pd.read_csv(load_framework().path.parents[1] / "data" / "raw" / "reference" / "regions.csv",
                          dtype=str).head(200)
    rows = [["Kode Wilayah", "Nama Kabupaten/Kota", "Tahun Asesmen", "IPM", "Total APBD (Rp)", "Pusat Data"]]
    rows += [[c, n, "2021", "72,45", "Rp 1,5 T", "Ya"] for c, n in zip(regions["kemendagri_code"],
                                                                    regions["official_name"], strict=True)]
    write_csv(folder / "big.csv", rows)
    result = run_cleaning(folder, tmp_path / "out", framework=framework)
    assert result.summary["rows_accepted"] == 200
