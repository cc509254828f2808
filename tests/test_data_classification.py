"""Text-classification builders on fixtures written here: features, splits, duplicates, cards, bad rows."""

from __future__ import annotations

import datasets
import pytest
from datasets import ClassLabel, List, Value
from huggingface_hub import DatasetCard

from data_scripts import DataFormatError, DownloadError, SourceNotFoundError, build
from tests._data_fixtures import (
    BRIGHTER_COLUMNS,
    GOEMOTIONS_EMOTIONS,
    brighter_rows,
    read_features,
    read_split,
    write_ag_news,
    write_brighter,
    write_goemotions,
    write_imdb_csv,
    write_imdb_tree,
    write_polar,
    write_umsab,
    write_xed,
)

SPLITS = ["train", "validation", "test"]


def card_of(out):
    return DatasetCard.load(out / "README.md")


def texts(out, config, split):
    return [row["text"] for row in read_split(out, config, split)]


def assert_no_text_in_two_splits(out, config):
    seen = {}
    for split in SPLITS:
        for text in {" ".join(t.split()) for t in texts(out, config, split)}:
            assert seen.setdefault(text, split) == split, f"{text!r} is in {seen[text]} and {split}"


def assert_card_basics(out, license, redistributable, configs):
    data = card_of(out).data
    assert data.license == license
    assert data.redistributable is redistributable
    assert data.pretty_name and data.language and data.task_categories and data.size_categories
    assert [entry["config_name"] for entry in data.configs] == configs
    for entry in data.configs:
        for item in entry["data_files"]:
            assert (out / item["path"]).is_file()
    assert sum(1 for entry in data.configs if entry.get("default")) == 1
    return data


# GoEmotions


def test_goemotions_has_raw_single_label_and_ekman_configs_typed_by_the_label_file(tmp_path):
    out = tmp_path / "goemotions"
    result = build("goemotions", source=write_goemotions(tmp_path / "src"), out=out)

    assert result.rows["raw"] == {"train": 11, "validation": 3, "test": 3}
    assert read_features(out, "raw")["labels"] == List(ClassLabel(names=GOEMOTIONS_EMOTIONS))
    assert read_features(out, "single_label")["label"] == ClassLabel(names=GOEMOTIONS_EMOTIONS)
    ekman = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    assert read_features(out, "ekman")["labels"] == List(ClassLabel(names=ekman))

    raw = {row["id"]: row for row in read_split(out, "raw", "train")}
    assert raw["t01"]["labels"] == [0, 4] and raw["t10"]["labels"] == [1, 5]
    assert raw["t10"]["text"] == 'He said "no" and left'  # quotes are text: the TSV is read unquoted
    single = {row["id"]: row["label"] for row in read_split(out, "single_label", "train")}
    assert "t01" not in single and single["t02"] == 1 and len(single) == 9
    by_id = {row["id"]: row["labels"] for row in read_split(out, "ekman", "train")}
    assert by_id["t01"] == [ekman.index("joy")]  # admiration and joy are both Ekman joy
    assert by_id["t10"] == [ekman.index("anger"), ekman.index("sadness")]
    assert by_id["t08"] == [ekman.index("neutral")]

    assert "t11" not in raw  # its text is in test
    assert result.duplicates.dropped_across_splits["train"] == 1
    assert result.duplicates.within_split["train"] == 1  # t08 / t09
    assert_no_text_in_two_splits(out, "raw")

    data = assert_card_basics(out, "apache-2.0", True, ["raw", "single_label", "ekman"])
    assert data.data_scripts["duplicates"]["dropped_across_splits"]["train"] == 1
    card = card_of(out).text
    assert "| `raw` | multi-label" in card and "## Label distribution: `labels` (config `raw`)" in card
    assert "| joy | 2 | 1 | 0 |" in card
    assert "@inproceedings{demszky-etal-2020-goemotions" in card

    loaded = datasets.load_dataset(str(out), "single_label")
    assert loaded["train"].features["label"].names == GOEMOTIONS_EMOTIONS
    assert loaded.num_rows == {"train": 9, "validation": 2, "test": 3}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("Only two fields\t3\n", "wrong column count"),
        ("An unknown emotion\t42\tx1\n", "unknown label"),
        ("Not a number\tjoy\tx2\n", "unknown label"),
        ("   \t3\tx3\n", "empty text"),
    ],
)
def test_goemotions_bad_rows_name_file_and_line_or_are_dropped_when_lenient(tmp_path, line, problem):
    source = write_goemotions(tmp_path / "src")
    with (source / "dev.tsv").open("a", encoding="utf-8") as handle:
        handle.write(line)
    with pytest.raises(DataFormatError, match=rf"dev\.tsv:4: {problem}"):
        build("goemotions", source=source, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    result = build("goemotions", source=source, out=tmp_path / "out", lenient=True)
    assert result.dropped == {("dev.tsv", problem): 1}
    assert result.rows["raw"]["validation"] == 3
    assert card_of(tmp_path / "out").data.data_scripts["dropped_malformed_rows"] == 1
    assert f"| `dev.tsv` | {problem} | 1 |" in card_of(tmp_path / "out").text
    assert f"- `dev.tsv:4: {problem}" in card_of(tmp_path / "out").text


def test_goemotions_missing_file_says_which_and_how_to_get_it(tmp_path):
    source = write_goemotions(tmp_path / "src")
    (source / "ekman_mapping.json").unlink()
    with pytest.raises(SourceNotFoundError, match="lacks ekman_mapping.json.*--download"):
        build("goemotions", source=source, out=tmp_path / "out")


# BRIGHTER


def test_brighter_records_which_emotions_each_language_annotated(tmp_path):
    out = tmp_path / "brighter"
    result = build("brighter", source=write_brighter(tmp_path / "src"), out=out, seed=3)

    assert list(result.rows) == ["all", "afr", "deu", "eng"]
    assert sum(result.rows["all"].values()) == 3 * 31
    for language in ("afr", "deu", "eng"):
        assert sum(result.rows[language].values()) == 31
        assert all(result.rows[language][split] > 0 for split in SPLITS)
    features = read_features(out, "eng")
    emotions = ["anger", "disgust", "fear", "joy", "sadness", "surprise"]
    assert features["labels"] == List(ClassLabel(names=emotions))
    assert features["annotated_labels"] == List(Value("string"))
    assert features["language"] == Value("string")

    rows = {row["id"]: row for split in SPLITS for row in read_split(out, "all", split)}
    source_rows = {row[0]: row for row in brighter_rows("deu")}
    for identifier, row in source_rows.items():  # header order differs per language: labels follow names
        expected = [emotions.index(c) for c, flag in zip(BRIGHTER_COLUMNS["deu"], row[2:]) if flag]
        assert sorted(expected) == rows[identifier]["labels"]
    assert rows["eng_train_003"]["text"] == 'eng says "quoted"\nover two lines'
    assert rows["eng_train_000"]["annotated_labels"] == ["anger", "fear", "joy", "sadness", "surprise"]
    assert rows["afr_train_000"]["annotated_labels"] == ["anger", "disgust", "fear", "joy", "sadness"]
    assert not any(row["id"].startswith("ron") for row in rows.values())

    assert_no_text_in_two_splits(out, "all")
    data = assert_card_basics(out, "cc-by-4.0", True, ["all", "afr", "deu", "eng"])
    assert data.data_scripts["annotated_labels"]["eng"] == ["anger", "fear", "joy", "sadness", "surprise"]
    assert data.data_scripts["excluded_files"] == ["ron_track1_test.csv"]
    assert sorted(data.language) == ["af", "de", "en"]
    card = card_of(out).text
    assert "`eng` lacks disgust" in card and "`afr` lacks surprise" in card
    assert "ron_track1_test.csv" in card and "seed 3" in card

    eng = datasets.load_dataset(str(out), "eng")
    assert set(eng["test"]["language"]) == {"eng"}


def test_brighter_split_depends_only_on_the_seed(tmp_path):
    source = write_brighter(tmp_path / "src")
    build("brighter", source=source, out=tmp_path / "a", seed=1)
    build("brighter", source=source, out=tmp_path / "b", seed=1)
    build("brighter", source=source, out=tmp_path / "c", seed=2)
    assert read_split(tmp_path / "a", "all", "test") == read_split(tmp_path / "b", "all", "test")
    assert read_split(tmp_path / "a", "all", "test") != read_split(tmp_path / "c", "all", "test")


def test_brighter_rejects_an_unknown_emotion_column_and_non_binary_labels(tmp_path):
    source = write_brighter(tmp_path / "src", languages=("eng",))
    path = source / "track_a" / "train" / "eng.csv"
    path.write_text(path.read_text().replace("sadness,surprise", "sadness,hope", 1))
    with pytest.raises(DataFormatError, match=r"eng\.csv:1: unknown emotion column\(s\) hope"):
        build("brighter", source=source, out=tmp_path / "out")
    write_brighter(source, languages=("eng",))
    with path.open("a") as handle:
        handle.write("eng_bad,some text,1,0,2,0,0\n")
    with pytest.raises(DataFormatError, match=r"eng\.csv:34: unknown label .*joy='2'"):
        build("brighter", source=source, out=tmp_path / "out")
    with pytest.raises(SourceNotFoundError, match="has no data for yor; available: eng"):
        build("brighter", source=source, out=tmp_path / "out", languages=["yor"])


# POLAR


def test_polar_joins_the_three_subtasks_and_leaves_missing_manifestations_null(tmp_path):
    out = tmp_path / "polar"
    result = build("polar", source=write_polar(tmp_path / "src"), out=out)
    assert list(result.rows) == ["all", "eng", "ita"]
    features = read_features(out, "all")
    assert features["polarization"] == ClassLabel(names=["not_polarized", "polarized"])
    assert features["polarization_type"].feature.names == [
        "political", "racial/ethnic", "religious", "gender/sexual", "other",
    ]  # fmt: skip
    assert features["manifestation"].feature.names[-1] == "invalidation"

    rows = {row["id"]: row for split in SPLITS for row in read_split(out, "all", split)}
    assert len(rows) == 48
    eng = rows[f"eng_{4:032x}"]
    assert eng["polarization"] == 1 and eng["polarization_type"] == [0, 4] and eng["manifestation"] == [1]
    assert rows[f"eng_{3:032x}"]["polarization"] == 0 and rows[f"eng_{3:032x}"]["manifestation"] == []
    assert rows[f"eng_{2:032x}"]["text"] == "eng post 2, about things\nsecond line"
    assert all(row["manifestation"] is None for row in rows.values() if row["language"] == "ita")
    assert all(row["polarization_type"] is not None for row in rows.values())

    data = assert_card_basics(out, "other", False, ["all", "eng", "ita"])
    assert data.license_name and data.license_link
    assert data.data_scripts["not_annotated"]["manifestation"] == ["ita"]
    card = card_of(out).text
    assert "no redistribution" in card.lower() and "must not be pushed to a public repository" in card
    assert "| (not annotated) |" in card  # ita's manifestation counted apart from "no label"
    for split in SPLITS:  # stratified by language and polarization
        part = read_split(out, "all", split)
        assert {row["language"] for row in part} == {"eng", "ita"}
        assert {row["polarization"] for row in part} == {0, 1}
    ita = datasets.load_dataset(str(out), "ita")
    assert ita["train"][0]["manifestation"] is None


def test_polar_names_both_files_when_an_id_is_missing_from_a_subtask(tmp_path):
    source = write_polar(tmp_path / "src", languages=("eng",), without_subtask3=())
    path = source / "subtask2" / "train" / "eng.csv"
    path.write_text(path.read_text().replace(f"eng_{4:032x}", "eng_" + "f" * 32))
    missing = f"eng_{4:032x}"
    expected = rf"subtask1/train/eng\.csv:7: id missing from another subtask \({missing} is not in .*subtask2/train/eng"
    with pytest.raises(DataFormatError, match=expected):
        build("polar", source=source, out=tmp_path / "out")
    result = build("polar", source=source, out=tmp_path / "out", lenient=True)
    assert sum(result.rows["all"].values()) == 23
    assert sum(result.dropped.values()) == 2  # the eng row of subtask 1/3 and the stray one of subtask 2


def test_polar_has_no_download_and_says_why(tmp_path):
    with pytest.raises(DownloadError, match="no official public download.*registered"):
        build("polar", out=tmp_path / "out", download=True)


def test_polar_rejects_a_file_with_the_wrong_header(tmp_path):
    source = write_polar(tmp_path / "src", languages=("eng",), without_subtask3=())
    path = source / "subtask3" / "train" / "eng.csv"
    path.write_text(path.read_text().replace("lack_of_empathy", "empathy", 1))
    with pytest.raises(DataFormatError, match=r"subtask3/train/eng\.csv:1: header is .*expected"):
        build("polar", source=source, out=tmp_path / "out")


# XED


def test_xed_marks_silver_rows_and_builds_gold_and_language_configs(tmp_path):
    out = tmp_path / "xed"
    result = build("xed", source=write_xed(tmp_path / "src"), out=out)
    assert list(result.rows) == ["all", "gold", "de", "en", "fi", "tr"]
    assert sum(result.rows["all"].values()) == 21 + 15 + 13 + 10
    assert sum(result.rows["gold"].values()) == 36
    features = read_features(out, "all")
    assert features["silver"] == Value("bool")
    assert features["labels"].feature.names == [
        "anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust",
    ]  # fmt: skip
    rows = [row for split in SPLITS for row in read_split(out, "all", split)]
    by_text = {(row["text"], row["silver"]): row for row in rows}
    assert by_text[("English line 1", False)]["labels"] == [1, 2]  # "2, 3" -> anticipation, disgust
    assert by_text[('He said "run"\nand ran', False)]["labels"] == [3, 6]
    assert all(row["silver"] for row in rows if row["language"] in ("de", "tr"))
    assert not any(row["text"] == "phrase" for row in rows)  # tr's header row is not data
    gold_copy = [row for row in rows if row["text"] == "English line 0"]
    assert len(gold_copy) == 2  # gold en + silver de, in the same split
    assert_no_text_in_two_splits(out, "all")
    data = assert_card_basics(out, "cc-by-4.0", True, ["all", "gold", "de", "en", "fi", "tr"])
    assert data.data_scripts["silver_languages"] == ["de", "tr"]

    neutral = build("xed", source=tmp_path / "src", out=tmp_path / "neutral", with_neutral=True, gold_only=True)
    assert list(neutral.rows) == ["all", "gold", "en", "fi"]
    rows = [row for split in SPLITS for row in read_split(tmp_path / "neutral", "all", split)]
    assert len(rows) == 36 + 6 + 4 and not any(row["silver"] for row in rows)
    assert sum(1 for row in rows if row["labels"] == []) == 10


def test_xed_rejects_labels_outside_plutchiks_eight(tmp_path):
    source = write_xed(tmp_path / "src")
    with (source / "Projections" / "de-projections.tsv").open("a", encoding="utf-8", newline="") as handle:
        handle.write("Neue Zeile\t9\r\n")
    with pytest.raises(DataFormatError, match=r"de-projections\.tsv:14: unknown label \('9'"):
        build("xed", source=source, out=tmp_path / "out")


# UMSAB


def test_umsab_keeps_the_official_splits_and_drops_train_rows_seen_in_test(tmp_path):
    out = tmp_path / "umsab"
    result = build("umsab", source=write_umsab(tmp_path / "src"), out=out)
    assert result.rows == {
        "all": {"train": 23, "validation": 6, "test": 12},
        "eng": {"train": 11, "validation": 3, "test": 6},
        "ita": {"train": 12, "validation": 3, "test": 6},
    }
    assert read_features(out, "all")["label"] == ClassLabel(names=["negative", "neutral", "positive"])
    test_rows = read_split(out, "eng", "test")
    assert test_rows[4] == {"text": "english test tweet 4 @user", "language": "eng", "label": 1}
    assert result.duplicates.dropped_across_splits == {"test": 0, "validation": 0, "train": 1}
    data = assert_card_basics(out, "apache-2.0", True, ["all", "eng", "ita"])
    assert sorted(data.language) == ["en", "it"]
    assert "official train / validation / test splits" in card_of(out).text


def test_umsab_misaligned_text_and_label_files_are_an_error(tmp_path):
    source = write_umsab(tmp_path / "src", languages=("italian",))
    (source / "italian" / "val_labels.txt").write_text("0\n1")
    with pytest.raises(DataFormatError, match=r"val_text\.txt has 3 lines but .*val_labels\.txt has 2"):
        build("umsab", source=source, out=tmp_path / "out")
    (source / "italian" / "val_labels.txt").write_text("0\n1\nneutral")
    with pytest.raises(DataFormatError, match=r"val_labels\.txt:3: unknown label \('neutral': expected 0, 1 or 2"):
        build("umsab", source=source, out=tmp_path / "out")


# IMDB


def test_imdb_reads_the_official_tree_and_the_csv_repack_identically(tmp_path):
    tree = build("imdb", source=write_imdb_tree(tmp_path / "tree"), out=tmp_path / "a")
    repack = build("imdb", source=write_imdb_csv(tmp_path / "csv"), out=tmp_path / "b")
    assert tree.rows == repack.rows == {"plain_text": {"train": 18, "validation": 2, "test": 20}}
    for split in SPLITS:
        assert read_split(tmp_path / "a", "plain_text", split) == read_split(tmp_path / "b", "plain_text", split)
    test_rows = read_split(tmp_path / "a", "plain_text", "test")
    assert test_rows[0] == {
        "id": "test/neg/0_1", "text": "test review 0 of a bad film.<br /><br />The end", "label": 0, "rating": 1,
    }  # fmt: skip
    assert tree.duplicates.dropped_across_splits["train"] == 1  # train/pos/99_9 repeats a test review
    features = read_features(tmp_path / "a", "plain_text")
    assert features["label"] == ClassLabel(names=["neg", "pos"]) and features["rating"] == Value("int32")
    labels = [row["label"] for row in read_split(tmp_path / "a", "plain_text", "validation")]
    assert sorted(labels) == [0, 1]  # stratified by label
    assert_card_basics(tmp_path / "a", "other", True, ["plain_text"])


def test_imdb_rating_that_contradicts_the_label_is_a_bad_row(tmp_path):
    source = write_imdb_tree(tmp_path / "src")
    (source / "aclImdb" / "train" / "pos" / "50_3.txt").write_text("a 3-star review filed as positive")
    with pytest.raises(DataFormatError, match=r"50_3\.txt:1: rating does not match label \(rating 3 with label pos"):
        build("imdb", source=source, out=tmp_path / "out")
    result = build("imdb", source=source, out=tmp_path / "out", lenient=True)
    assert result.dropped == {("50_3.txt", "rating does not match label"): 1}


# AG News


def test_ag_news_official_files_get_a_stratified_validation_split(tmp_path):
    out = tmp_path / "ag"
    result = build("ag_news", source=write_ag_news(tmp_path / "src"), out=out, validation_size=0.25)
    assert result.rows == {"default": {"train": 9, "validation": 3, "test": 4}}
    assert read_features(out, "default")["label"] == ClassLabel(names=["World", "Sports", "Business", "Sci/Tech"])
    first = read_split(out, "default", "test")[0]
    assert first == {"text": "test title 0 test description 0, with a comma", "label": 0}
    assert len({row["label"] for row in read_split(out, "default", "validation")}) == 3


def test_ag_news_with_only_the_test_file_builds_the_test_split_and_says_so(tmp_path):
    out = tmp_path / "ag"
    result = build("ag_news", source=write_ag_news(tmp_path / "src", splits=("test",), header=True), out=out)
    assert result.rows == {"default": {"test": 4}}
    assert any("only the official test split was built" in line for line in result.summary_lines)
    assert "**Test split only.**" in card_of(out).text
    assert datasets.load_dataset(str(out), "default").num_rows == {"test": 4}
