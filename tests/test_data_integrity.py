"""The builders never change labels or rows without a word: repeated or missing header names, duplicate and empty
ids, repeated MovieLens interactions and items, unclosed quotes and empty files are errors naming the file and line
(or counted drops with --lenient); a rebuild never deletes a user's files and cleans up after killed builds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data_scripts import DataFormatError, OptionError, OutputExistsError, OutputNotWritableError, build
from tests._data_fixtures import (
    BRIGHTER_COLUMNS,
    _write_csv,
    brighter_rows,
    read_split,
    write_brighter,
    write_goemotions,
    write_movielens_100k,
    write_polar,
)

ENG = Path("track_a") / "train" / "eng.csv"


def rewrite_eng(source: Path, header: list[str], rows: list[list]) -> Path:
    _write_csv(source / ENG, header, rows)
    return source


# ---- headers -------------------------------------------------------------------------------------------------


def test_brighter_refuses_a_header_that_repeats_a_column(tmp_path):
    source = write_brighter(tmp_path / "src", languages=("eng",))
    columns = BRIGHTER_COLUMNS["eng"]
    rows = [row[:-1] + [row[2]] for row in brighter_rows("eng")]  # the last emotion column replaced by 'anger'
    rewrite_eng(source, ["id", "text", *columns[:-1], columns[0]], rows)
    with pytest.raises(DataFormatError, match=rf"eng\.csv:1: the header repeats the column\(s\) {columns[0]}"):
        build("brighter", source=source, out=tmp_path / "out")
    with pytest.raises(DataFormatError, match="repeats the column"):  # --lenient drops rows, not a broken header
        build("brighter", source=source, out=tmp_path / "out", lenient=True)
    assert not (tmp_path / "out").exists()


def test_brighter_refuses_a_header_with_an_empty_column_name(tmp_path):
    source = write_brighter(tmp_path / "src", languages=("eng",))
    columns = BRIGHTER_COLUMNS["eng"]
    rewrite_eng(source, ["id", "text", *columns[:-1], ""], brighter_rows("eng"))
    with pytest.raises(DataFormatError, match=r"eng\.csv:1: the header has an empty column name \(column 7\)"):
        build("brighter", source=source, out=tmp_path / "out")


# ---- ids -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id, problem", [("eng_train_001", "duplicate id"), ("  ", "empty id")])
def test_brighter_rejects_duplicate_and_empty_ids(tmp_path, bad_id, problem):
    source = write_brighter(tmp_path / "src", languages=("eng",))
    rows = brighter_rows("eng")
    rows[10][0] = bad_id  # the file's 12th line (header, then a row spanning two lines)
    rewrite_eng(source, ["id", "text", *BRIGHTER_COLUMNS["eng"]], rows)
    with pytest.raises(DataFormatError, match=rf"eng\.csv:13: {problem}"):
        build("brighter", source=source, out=tmp_path / "out")
    result = build("brighter", source=source, out=tmp_path / "out", lenient=True)
    assert result.dropped == {("eng.csv", problem): 1}
    ids = [row["id"] for split in ("train", "validation", "test") for row in read_split(tmp_path / "out", "all", split)]
    assert len(ids) == len(set(ids)) and all(i.strip() for i in ids)


@pytest.mark.parametrize(
    "line, problem",
    [("Another comment\t3\tt01\n", r"duplicate id \(t01 is also at train\.tsv:1\)"), ("A comment\t3\t \n", "empty id")],
)
def test_goemotions_rejects_duplicate_and_empty_ids(tmp_path, line, problem):
    source = write_goemotions(tmp_path / "src")
    with (source / "test.tsv").open("a", encoding="utf-8") as handle:
        handle.write(line)
    with pytest.raises(DataFormatError, match=rf"test\.tsv:4: {problem}"):
        build("goemotions", source=source, out=tmp_path / "out")


def test_an_empty_goemotions_file_is_an_error_naming_it(tmp_path):
    source = write_goemotions(tmp_path / "src")
    (source / "dev.tsv").write_text("", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"dev\.tsv: the file holds no usable rows"):
        build("goemotions", source=source, out=tmp_path / "out")


# ---- MovieLens -----------------------------------------------------------------------------------------------


def test_movielens_100k_rejects_a_repeated_user_item_interaction(tmp_path):
    source = write_movielens_100k(tmp_path / "src")
    lines = (source / "u.data").read_text().splitlines(keepends=True)
    (source / "u.data").write_text("".join(lines) + "1\t3\t5\t900\n")  # user 1 rated item 3 at t=300 already
    with pytest.raises(DataFormatError, match=rf"u\.data:{len(lines) + 1}: duplicate interaction.*user 1.*item 3"):
        build("movielens_100k", source=source, out=tmp_path / "out")
    build("movielens_100k", source=source, out=tmp_path / "out", lenient=True)
    for split in ("validation", "test"):
        for row in read_split(tmp_path / "out", "sequences", split):
            assert not set(row["targets"]) & set(row["item_ids"]), "a target sits in its own history"


def test_movielens_100k_rejects_a_repeated_item_id_in_u_item(tmp_path):
    source = write_movielens_100k(tmp_path / "src")
    items = (source / "u.item").read_bytes().decode("latin-1").splitlines()
    other_title = items[1].replace("GoldenEye", "Another film").replace("2|", "3|", 1)
    (source / "u.item").write_bytes(("\n".join([*items, other_title]) + "\n").encode("latin-1"))
    with pytest.raises(DataFormatError, match=rf"u\.item:{len(items) + 1}: duplicate id \(movie 3 appears twice\)"):
        build("movielens_100k", source=source, out=tmp_path / "out")


def test_an_empty_u_data_is_an_error_naming_it(tmp_path):
    source = write_movielens_100k(tmp_path / "src")
    (source / "u.data").write_text("")
    with pytest.raises(DataFormatError, match=r"no interactions could be read from u\.data"):
        build("movielens_100k", source=source, out=tmp_path / "out")


def test_a_min_rating_that_leaves_no_user_is_an_option_error(tmp_path):
    source = write_movielens_100k(tmp_path / "src")
    with pytest.raises(OptionError, match=r"--min-rating 6, --min-interactions 5 .* leave no user"):
        build("movielens_100k", source=source, out=tmp_path / "out", min_rating=6)
    assert not (tmp_path / "out").exists()


# ---- unclosed quotes -----------------------------------------------------------------------------------------


def test_an_unclosed_quote_is_reported_as_such_and_costs_only_its_row(tmp_path):
    source = write_brighter(tmp_path / "src", languages=("eng",))
    text = (source / ENG).read_text(encoding="utf-8").splitlines(keepends=True)
    assert text[20].count('comma"') == 1
    text[20] = text[20].replace('comma"', "comma", 1)  # the quote is never closed: it swallows the lines below
    (source / ENG).write_text("".join(text), encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"eng\.csv:21: unclosed quote"):
        build("brighter", source=source, out=tmp_path / "out")
    result = build("brighter", source=source, out=tmp_path / "out", lenient=True)
    assert result.dropped == {("eng.csv", "unclosed quote"): 1}
    rows = sum(result.rows["all"].values())
    reference = build("brighter", source=write_brighter(tmp_path / "ref", languages=("eng",)), out=tmp_path / "r")
    assert rows == sum(reference.rows["all"].values()) - 1  # only the broken row is lost


def test_an_unclosed_quote_in_polar_is_not_reported_as_a_missing_id(tmp_path):
    source = write_polar(tmp_path / "src", languages=("eng",), without_subtask3=())
    path = source / "subtask2" / "train" / "eng.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[10].count('things"') == 1
    lines[10] = lines[10].replace('things"', "things", 1)
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"subtask2/train/eng\.csv:11: unclosed quote"):
        build("polar", source=source, out=tmp_path / "out")


# ---- the output folder ---------------------------------------------------------------------------------------


def test_a_rebuild_never_deletes_files_a_user_added_to_the_build(tmp_path):
    source = write_goemotions(tmp_path / "src")
    out = tmp_path / "out"
    build("goemotions", source=source, out=out)
    (out / "my-analysis.ipynb").write_text("hours of notes")
    with pytest.raises(OutputExistsError, match=r"holds files the earlier build did not write \(my-analysis\.ipynb\)"):
        build("goemotions", source=source, out=out)
    assert (out / "my-analysis.ipynb").read_text() == "hours of notes"
    (out / "my-analysis.ipynb").unlink()
    build("goemotions", source=source, out=out)  # only the build's own files: replaced


def test_a_later_build_removes_what_a_killed_build_left_behind(tmp_path):
    source = write_goemotions(tmp_path / "src")
    dead = 2**22 + 12345  # above the default pid_max: no such process
    leftovers = [tmp_path / f".out.partial-{dead}-abc123", tmp_path / ".out.partial-k1ll3d", tmp_path / ".out.previous-x"]
    for folder in leftovers:
        (folder / "raw").mkdir(parents=True)
        (folder / "raw" / "train-00000-of-00001.parquet").write_bytes(b"half written")
    running = tmp_path / f".out.partial-{os.getpid()}-running"  # a build still in progress is left alone
    running.mkdir()
    build("goemotions", source=source, out=tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", "src", running.name])


def test_an_output_folder_that_cannot_be_written_is_a_user_error(tmp_path):
    source = write_goemotions(tmp_path / "src")
    if os.geteuid() == 0:  # root writes anywhere a permission bit forbids; /sys refuses even root
        parent = Path("/sys")
    else:
        parent = tmp_path / "read-only"
        parent.mkdir()
        parent.chmod(0o555)
    with pytest.raises(OutputNotWritableError, match=r"Cannot write the dataset next to .*out.*not writable"):
        build("goemotions", source=source, out=parent / "out")
