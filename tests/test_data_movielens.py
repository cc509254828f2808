"""MovieLens builders on fixtures written here: implicit feedback, user filter, both protocols, item table."""

from __future__ import annotations

import datasets
import pytest
from datasets import List, Value
from huggingface_hub import DatasetCard

from data_scripts import DataFormatError, SourceNotFoundError, build
from tests._data_fixtures import (
    ML_TITLES,
    read_features,
    read_split,
    write_movielens_1m,
    write_movielens_100k,
    write_movielens_sasrec,
)


def by_user(out, split):
    return {row["user_id"]: row for row in read_split(out, "sequences", split)}


def test_leave_one_out_holds_out_the_last_item_for_test_and_the_one_before_for_validation(tmp_path):
    out = tmp_path / "ml"
    result = build("movielens_100k", source=write_movielens_100k(tmp_path / "src"), out=out)
    # ratings >= 4: user 1 has 7, user 2 has 5, user 3 only 3 (dropped), user 4 has 12
    assert result.rows == {"sequences": {"train": 3, "validation": 3, "test": 3}, "items": {"train": 12}}
    train, validation, test = (by_user(out, split) for split in ("train", "validation", "test"))
    chronological = [1, 2, 5, 3, 4, 6, 7]  # t=50, t=100 (tie: item 2 before 5), 300, 400, 500, 600
    assert test[1]["item_ids"] == chronological[:-1] and test[1]["targets"] == [7]
    assert validation[1]["item_ids"] == chronological[:-2] and validation[1]["targets"] == [6]
    assert train[1]["item_ids"] == chronological[:-2] and train[1]["targets"] == []
    assert test[1]["timestamps"] == [50, 100, 100, 300, 400, 500]
    assert test[1]["ratings"] == [5, 4, 5, 4, 5, 4]
    assert 3 not in test  # fewer than 5 interactions at rating >= 4

    features = read_features(out, "sequences")
    assert features["user_id"] == Value("int64")
    assert features["item_ids"] == features["targets"] == features["timestamps"] == List(Value("int64"))
    items = read_split(out, "items", "train")
    assert items[2] == {"item_id": 3, "title": "Café au lait (1993)", "genres": ["Comedy", "Drama"]}

    card = DatasetCard.load(out / "README.md")
    assert card.data.redistributable is False and card.data.license == "other"
    assert card.data.license_name == "movielens-research-only"
    assert card.data.data_scripts["protocol"] == "leave_one_out" and card.data.data_scripts["min_rating"] == 4
    assert card.data.data_scripts["statistics"]["users_too_few_interactions"] == 1
    assert "may not redistribute" in card.text and "must not be pushed to a public repository" in card.text
    loaded = datasets.load_dataset(str(out), "items")
    assert loaded["train"].num_rows == 12


def test_min_rating_zero_keeps_every_rating_as_in_sasrec(tmp_path):
    out = tmp_path / "ml"
    result = build("movielens_100k", source=write_movielens_100k(tmp_path / "src"), out=out, min_rating=0)
    assert result.rows["sequences"]["test"] == 4
    test = by_user(out, "test")
    assert len(test[1]["item_ids"]) + len(test[1]["targets"]) == 8  # the 2-star rating is now an interaction
    assert test[3]["item_ids"] == [1, 2, 3, 4, 5] and test[3]["targets"] == [6]


def test_last_k_holds_out_k_targets_and_trains_only_before_the_validation_targets(tmp_path):
    out = tmp_path / "ml"
    result = build("movielens_100k", source=write_movielens_100k(tmp_path / "src"), out=out, protocol="last_k", k=3)
    train, validation, test = (by_user(out, split) for split in ("train", "validation", "test"))
    user4 = [1 + i for i in range(12)]
    assert test[4]["item_ids"] == user4[:-3] and test[4]["targets"] == user4[-3:]
    assert validation[4]["item_ids"] == user4[:-6] and validation[4]["targets"] == user4[-6:-3]
    assert train[4]["item_ids"] == user4[:-6]
    # user 2 (5 interactions) is too short for a validation row: train runs up to the test targets
    assert 2 not in validation and train[2]["item_ids"] == [1, 2] and test[2]["targets"] == [3, 4, 5]
    assert result.rows["sequences"] == {"train": 3, "validation": 2, "test": 3}
    card = DatasetCard.load(out / "README.md")
    assert card.data.data_scripts["k"] == 3 and card.data.data_scripts["statistics"]["users_without_validation"] == 1
    for user, row in train.items():  # train stops right before the first held-out target
        sequence = test[user]["item_ids"] + test[user]["targets"]
        held_out = len(test[user]["targets"]) + len(validation[user]["targets"] if user in validation else [])
        assert row["item_ids"] == sequence[: len(sequence) - held_out]


def test_movielens_1m_reads_the_official_ratings_dat_from_the_unzipped_folder(tmp_path):
    source = tmp_path / "src"
    write_movielens_1m(source / "ml-1m")
    out = tmp_path / "ml1m"
    build("movielens_1m", source=source, out=out)
    reference = tmp_path / "ml100k"
    build("movielens_100k", source=write_movielens_100k(tmp_path / "src100k"), out=reference)
    for split in ("train", "validation", "test"):  # same interactions in another format: same rows
        assert read_split(out, "sequences", split) == read_split(reference, "sequences", split)
    assert read_split(out, "items", "train")[2]["title"] == ML_TITLES[3]


def test_movielens_bad_rows_name_file_and_line(tmp_path):
    source = write_movielens_1m(tmp_path / "src")
    with (source / "ratings.dat").open("a") as handle:
        handle.write("5::99::4::123\n5::1::six::124\n")
    with pytest.raises(DataFormatError, match=r"ratings\.dat:33: unknown item \(item 99 is not in movies\.dat"):
        build("movielens_1m", source=source, out=tmp_path / "out")
    result = build("movielens_1m", source=source, out=tmp_path / "out", lenient=True)
    assert result.dropped == {("ratings.dat", "unknown item"): 1, ("ratings.dat", "not an integer"): 1}


def test_sasrec_version_maps_ids_back_and_says_it_lacks_the_last_two_interactions(tmp_path):
    out = tmp_path / "sas"
    result = build("movielens_1m_sasrec", source=write_movielens_sasrec(tmp_path / "src"), out=out)
    # SAS user 4 has 3 items (< 5): dropped
    assert result.rows == {"sequences": {"train": 3, "validation": 3, "test": 3}, "items": {"train": 8}}
    test = by_user(out, "test")
    assert test[101]["item_ids"] == [8, 7, 6, 5, 4] and test[101]["targets"] == [3]  # SAS k -> 9 - k
    assert test[103]["targets"] == [8]
    assert set(read_features(out, "sequences")) == {"user_id", "item_ids", "targets"}  # no ratings or times
    card = DatasetCard.load(out / "README.md")
    assert "ML-1M minus each user's last two interactions" in card.text
    assert card.data.data_scripts["min_rating"] is None and card.data.redistributable is False


def test_sasrec_sequence_with_a_non_integer_item_is_a_clear_error(tmp_path):
    source = write_movielens_sasrec(tmp_path / "src")
    (source / "sasrec_gsasrec" / "train_input.txt").write_text("1 2 3 4 5\n2 x 4 5 6\n")
    with pytest.raises(DataFormatError, match=r"train_input\.txt:2: not an integer \(item 'x'\)"):
        build("movielens_1m_sasrec", source=source, out=tmp_path / "out")
    with pytest.raises(SourceNotFoundError, match="lacks sas_mapping/sas_to_original_users.txt"):
        (source / "sas_mapping" / "sas_to_original_users.txt").unlink()
        build("movielens_1m_sasrec", source=source, out=tmp_path / "out")
