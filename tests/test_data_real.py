"""Build every real corpus of ../shared/data and check the counts its SOURCE.md states (skipped without it).

Counts that a build changes on purpose are checked as sums: rows kept + rows removed as cross-split
duplicates (or dropped as malformed with --lenient) = rows in the source.
"""

from __future__ import annotations

from collections import Counter

import datasets
import pytest
from huggingface_hub import DatasetCard

from data_scripts import SourceNotFoundError, build
from tests._data_fixtures import read_split

pytestmark = pytest.mark.shared_data
SPLITS = ("train", "validation", "test")


def all_rows(out, config):
    return [row for split in SPLITS for row in read_split(out, config, split)]


def removed(result, split):
    return result.duplicates.dropped_across_splits.get(split, 0)


def test_goemotions_real_counts(shared_data, tmp_path):
    out = tmp_path / "goemotions"
    result = build("goemotions", source=shared_data / "goemotions", out=out)
    rows = result.rows["raw"]
    assert rows["train"] + removed(result, "train") == 43_410
    assert rows["validation"] + removed(result, "validation") == 5_426
    assert rows["test"] == 5_427 and removed(result, "test") == 0
    assert 0 < removed(result, "train") < 200 and result.duplicates.within_split["train"] > 0
    names = datasets.load_dataset(str(out), "raw")["train"].features["labels"].feature.names
    assert len(names) == 28 and names[27] == "neutral"
    # SOURCE.md's train label frequencies, less at most the labels of the removed rows
    source_counts = {0: 4130, 2: 1567, 16: 77, 19: 164, 21: 111, 23: 153, 27: 14219}
    built = Counter(label for row in read_split(out, "raw", "train") for label in row["labels"])
    for label, count in source_counts.items():
        assert 0 <= count - built[label] <= removed(result, "train")
    assert rows == result.rows["ekman"]
    for split in SPLITS:
        single = sum(1 for row in read_split(out, "raw", split) if len(row["labels"]) == 1)
        assert result.rows["single_label"][split] == single


BRIGHTER_TRAIN = {
    "afr": 1222, "amh": 3549, "arq": 901, "ary": 1608, "chn": 2642, "deu": 2603, "eng": 2764, "esp": 1996,
    "hau": 2145, "hin": 2556, "ibo": 2880, "kin": 2451, "mar": 2415, "orm": 3442, "pcm": 3728, "ptbr": 2226,
    "ptmz": 1546, "ron": 1241, "rus": 2679, "som": 3392, "sun": 924, "swa": 3307, "swe": 1187, "tat": 1000,
    "tir": 3681, "ukr": 2466, "vmw": 1551, "yor": 2992,
}  # fmt: skip
BRIGHTER_LABELS = {  # SOURCE.md: per-language label counts, and rows with no emotion
    "eng": ({"anger": 333, "fear": 1610, "joy": 674, "sadness": 876, "surprise": 839}, 237),
    "afr": ({"anger": 44, "disgust": 12, "fear": 121, "joy": 531, "sadness": 177}, 440),
    "deu": ({"anger": 768, "disgust": 832, "fear": 239, "joy": 541, "sadness": 516, "surprise": 159}, 645),
    "yor": ({"anger": 195, "disgust": 81, "fear": 77, "joy": 272, "sadness": 836, "surprise": 254}, 1418),
}


def test_brighter_real_counts(shared_data, tmp_path):
    out = tmp_path / "brighter"
    result = build("brighter", source=shared_data / "brighter_semeval2025_task11", out=out)
    assert list(result.rows) == ["all", *sorted(BRIGHTER_TRAIN)]
    for language, count in BRIGHTER_TRAIN.items():
        assert sum(result.rows[language].values()) == count, language
    assert sum(result.rows["all"].values()) == sum(BRIGHTER_TRAIN.values())  # ron_track1_test.csv excluded
    total = sum(BRIGHTER_TRAIN.values())
    assert result.rows["all"]["test"] == pytest.approx(0.1 * total, abs=30)
    emotions = ["anger", "disgust", "fear", "joy", "sadness", "surprise"]
    rows = all_rows(out, "all")
    for language, (labels, none) in BRIGHTER_LABELS.items():
        mine = [row for row in rows if row["language"] == language]
        counts = Counter(emotions[label] for row in mine for label in row["labels"])
        assert dict(counts) == labels, language
        assert sum(1 for row in mine if not row["labels"]) == none
    card = DatasetCard.load(out / "README.md").data
    assert "disgust" not in card.data_scripts["annotated_labels"]["eng"]
    assert "surprise" not in card.data_scripts["annotated_labels"]["afr"]
    assert card.data_scripts["excluded_files"] == ["ron_track1_test.csv"]
    assert datasets.load_dataset(str(out), "ptbr").num_rows == result.rows["ptbr"]


POLAR_TRAIN = {  # SOURCE.md subtask 1: (rows, polarized)
    "amh": (3332, 2518), "arb": (3380, 1512), "ben": (3333, 1424), "deu": (3180, 1512), "eng": (3222, 1175),
    "fas": (3295, 2440), "hau": (3651, 392), "hin": (2744, 2346), "ita": (3334, 1368), "khm": (6640, 6029),
    "mya": (2889, 1682), "nep": (2005, 1008), "ori": (2368, 683), "pan": (1700, 840), "pol": (2391, 1003),
    "rus": (3348, 1023), "spa": (3305, 1660), "swa": (6991, 3504), "tel": (2366, 1274), "tur": (2364, 1155),
    "urd": (3563, 2476), "zho": (4280, 2121),
}  # fmt: skip


def test_polar_real_counts(shared_data, tmp_path):
    out = tmp_path / "polar"
    result = build("polar", source=shared_data / "polar_semeval2026", out=out)
    rows = all_rows(out, "all")
    by_language = {}
    for row in rows:
        by_language.setdefault(row["language"], []).append(row)
    for language, (count, polarized) in POLAR_TRAIN.items():
        assert sum(result.rows[language].values()) == count, language
        assert sum(row["polarization"] for row in by_language[language]) == polarized, language
    types = ["political", "racial/ethnic", "religious", "gender/sexual", "other"]
    eng_types = Counter(types[t] for row in by_language["eng"] for t in row["polarization_type"])
    assert eng_types == {"political": 1150, "racial/ethnic": 281, "religious": 112, "gender/sexual": 72, "other": 126}
    ita_types = Counter(types[t] for row in by_language["ita"] for t in row["polarization_type"])
    assert ita_types["political"] == 0 and ita_types["other"] == 0 and ita_types["religious"] == 285
    manifestations = [
        "stereotype", "vilification", "dehumanization", "extreme_language", "lack_of_empathy", "invalidation",
    ]  # fmt: skip
    eng_manifestations = Counter(manifestations[m] for row in by_language["eng"] for m in row["manifestation"])
    assert eng_manifestations["stereotype"] == 487 and eng_manifestations["invalidation"] == 586
    for language in ("ita", "mya", "pol", "rus"):
        assert all(row["manifestation"] is None for row in by_language[language])
    assert all(row["manifestation"] is not None for row in by_language["eng"])
    card = DatasetCard.load(out / "README.md").data
    assert card.redistributable is False and card.license == "other"
    assert card.data_scripts["text_differs_across_subtasks"] == 2  # two urd ids (see the card's notes)
    loaded = datasets.load_dataset(str(out), "mya")
    assert loaded["test"][0]["manifestation"] is None


XED_ROWS = {  # SOURCE.md: rows per file (gold en/fi, silver projections)
    "en": 17528 + 7834, "fi": 14449 + 8290, "de": 5504, "es": 11304, "br": 12296, "it": 6553, "no": 4258,
    "tr": 9203, "gl": 19, "eu": 29, "ja": 66, "zh": 646, "cn": 1395, "tw": 648,
}  # fmt: skip


def test_xed_real_counts(shared_data, tmp_path):
    out = tmp_path / "xed"
    result = build("xed", source=shared_data / "xed", out=out, lenient=True)
    assert result.dropped == {("tr-projections2.tsv", "empty text"): 1}  # line 5201 has no sentence
    for language, count in XED_ROWS.items():
        dropped = 1 if language == "tr" else 0
        assert sum(result.rows[language].values()) + dropped == count, language
    assert len(result.rows) == 2 + 42  # all, gold and 42 languages (en and fi have gold and silver files)
    gold = all_rows(out, "gold")
    assert len(gold) == 17528 + 14449
    en = [row for row in gold if row["language"] == "en"]
    counts = Counter(label + 1 for row in en for label in row["labels"])  # SOURCE.md numbers labels 1-8
    assert counts == {1: 3828, 2: 3400, 3: 2317, 4: 2439, 5: 2833, 6: 2464, 7: 2442, 8: 2699}
    assert sum(1 for row in en if len(row["labels"]) > 1) == 3873
    assert result.rows["all"]["validation"] == result.rows["all"]["test"]
    assert datasets.load_dataset(str(out), "no").num_rows == result.rows["no"]  # "no" is not YAML's false


def test_umsab_real_counts(shared_data, tmp_path):
    out = tmp_path / "umsab"
    result = build("umsab", source=shared_data / "xlmt_umsab_sentiment", out=out)
    official = {"train": 1839, "validation": 324, "test": 870}
    for language in ("ara", "eng", "fra", "deu", "hin", "ita", "por", "spa"):
        assert result.rows[language]["test"] == 870
        assert result.rows[language]["train"] <= 1839 and result.rows[language]["validation"] <= 324
        labels = Counter(row["label"] for row in read_split(out, language, "test"))
        assert labels == {0: 290, 1: 290, 2: 290}
    for split, count in official.items():
        assert result.rows["all"][split] + removed(result, split) == 8 * count
    assert datasets.load_dataset(str(out), "ita").num_rows == result.rows["ita"]


def test_imdb_real_counts(shared_data, tmp_path):
    out = tmp_path / "imdb"
    result = build("imdb", source=shared_data / "imdb", out=out)
    rows = result.rows["plain_text"]
    assert rows["train"] + rows["validation"] + removed(result, "train") == 25_000
    assert rows["test"] == 25_000 and removed(result, "test") == 0
    assert rows["validation"] == pytest.approx(2_500, abs=50)
    test = read_split(out, "plain_text", "test")
    assert Counter(row["label"] for row in test) == {0: 12_500, 1: 12_500}
    assert {row["rating"] for row in test} == set(range(1, 5)) | set(range(7, 11))
    loaded = datasets.load_dataset(str(out), "plain_text")
    assert loaded.num_rows == rows


def test_ag_news_real_counts(shared_data, tmp_path):
    out = tmp_path / "ag_news"
    result = build("ag_news", source=shared_data / "ag_news", out=out)
    assert result.rows == {"default": {"test": 7_600}}
    assert Counter(row["label"] for row in read_split(out, "default", "test")) == {i: 1_900 for i in range(4)}
    assert any("only the official test split" in line for line in result.summary_lines)


def test_movielens_100k_real_counts(shared_data, tmp_path):
    out = tmp_path / "ml100k"
    result = build("movielens_100k", source=shared_data / "movielens_100k", out=out, min_rating=0)
    assert result.rows == {"sequences": {"train": 943, "validation": 943, "test": 943}, "items": {"train": 1_682}}
    test = read_split(out, "sequences", "test")
    assert sum(len(row["item_ids"]) + len(row["targets"]) for row in test) == 100_000
    times = [t for row in test for t in row["timestamps"]]
    assert min(times) >= 874_724_710 and max(times) <= 893_286_638
    assert all(row["timestamps"] == sorted(row["timestamps"]) for row in test)

    implicit = build("movielens_100k", source=shared_data / "movielens_100k", out=tmp_path / "implicit")
    stats = DatasetCard.load(tmp_path / "implicit" / "README.md").data.data_scripts["statistics"]
    assert stats["interactions_read"] == 100_000
    assert stats["interactions_kept"] < 100_000 and implicit.rows["sequences"]["test"] <= 943


def test_movielens_1m_sasrec_real_counts(shared_data, tmp_path):
    out = tmp_path / "sasrec"
    result = build("movielens_1m_sasrec", source=shared_data / "movielens_1m", out=out)
    assert result.rows == {"sequences": {"train": 6_040, "validation": 6_040, "test": 6_040}, "items": {"train": 3_416}}
    test = read_split(out, "sequences", "test")
    assert sum(len(row["item_ids"]) + len(row["targets"]) for row in test) == 987_019
    titles = {row["item_id"]: row["title"] for row in read_split(out, "items", "train")}
    assert titles[1198] == "Raiders of the Lost Ark (1981)"
    first_user = min(test, key=lambda row: row["user_id"])
    assert first_user["user_id"] == 1
    card = DatasetCard.load(out / "README.md")
    assert "ML-1M minus each user's last two interactions" in card.text and card.data.redistributable is False
    assert datasets.load_dataset(str(out), "sequences").num_rows == result.rows["sequences"]


def test_movielens_1m_original_format_needs_ratings_dat_which_the_local_copy_lacks(shared_data, tmp_path):
    with pytest.raises(SourceNotFoundError, match="lacks ratings.dat.*--download"):
        build("movielens_1m", source=shared_data / "movielens_1m", out=tmp_path / "out")
