"""The machinery every builder shares: line-numbered readers, leak-free splits, atomic writes, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import datasets
import pandas as pd
import pytest
from datasets import Features
from huggingface_hub import DatasetCard

import data_scripts
from data_scripts import (
    BUILDERS,
    DataFormatError,
    OptionError,
    OutputExistsError,
    SourceNotFoundError,
    build,
    get_builder,
)
from data_scripts.builder import BuildLog
from data_scripts.readers import iter_lines, iter_records
from data_scripts.splits import make_splits, normalize_text, stratified_group_split

from tests._data_fixtures import (
    write_ag_news,
    write_brighter,
    write_goemotions,
    write_imdb_tree,
    write_movielens_1m,
    write_movielens_100k,
    write_movielens_sasrec,
    write_polar,
    write_umsab,
    write_xed,
)


def test_registry_lists_every_corpus_of_the_issue():
    assert set(BUILDERS) == {
        "goemotions", "brighter", "xed", "polar", "umsab", "imdb", "ag_news",
        "movielens_100k", "movielens_1m", "movielens_1m_sasrec",
    }  # fmt: skip
    for name in BUILDERS:
        builder = get_builder(name)
        assert builder.name == name
        assert builder.license and builder.citation.strip().startswith("@")
        assert builder.redistributable == (name != "polar" and not name.startswith("movielens"))


def test_unknown_builder_and_unknown_option_are_clear_errors(tmp_path):
    with pytest.raises(KeyError, match="no dataset builder called 'nope'.*goemotions"):
        get_builder("nope")
    with pytest.raises(TypeError, match="goemotions has no option min_rating"):
        build("goemotions", source=write_goemotions(tmp_path / "src"), out=tmp_path / "out", min_rating=3)
    with pytest.raises(SourceNotFoundError, match=r"give the folder with the raw files \(--source DIR\) or pass"):
        build("goemotions", out=tmp_path / "out")
    with pytest.raises(OptionError, match="protocol must be one of"):
        build("movielens_100k", source=tmp_path / "src", out=tmp_path / "out", protocol="random")
    brighter = write_brighter(tmp_path / "b")
    with pytest.raises(OptionError, match="--validation-size \\+ --test-size must be below 1"):
        build("brighter", source=brighter, out=tmp_path / "out", validation_size=0.6, test_size=0.4)
    assert not (tmp_path / "out").exists()


def test_csv_records_report_the_line_a_record_starts_on(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('id,text\n1,"two\nlines"\n\n2,plain\n3,"three\n\nlines"\n4,last\n', encoding="utf-8")
    records = list(iter_records(path, BuildLog()))
    assert [line for line, _ in records] == [1, 2, 5, 6, 9]
    assert records[1][1] == ["1", "two\nlines"] and records[3][1] == ["3", "three\n\nlines"]


def test_an_undecodable_byte_is_reported_with_its_line_and_dropped_only_when_lenient(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_bytes(b"good\t1\r\nbad \xff byte\t2\r\nalso good\t3\r\n")
    with pytest.raises(DataFormatError, match=r"x\.tsv:2: bad encoding \(byte 0xff at column 5"):
        list(iter_records(path, BuildLog(), delimiter="\t"))
    log = BuildLog(lenient=True)
    assert [fields for _, fields in iter_records(path, log, delimiter="\t")] == [["good", "1"], ["also good", "3"]]
    assert log.dropped == {("x.tsv", "bad encoding"): 1}
    log = BuildLog(lenient=True)
    assert [line for line, _ in iter_lines(path, log)] == [1, 3]


def test_stratified_split_is_deterministic_proportional_and_keeps_duplicates_together():
    frame = pd.DataFrame(
        {
            "text": [f"text {i}" for i in range(200)] + ["repeated"] * 5,
            "label": [i % 4 for i in range(200)] + [1] * 5,
        }
    )
    fractions = {"train": 0.8, "validation": 0.1, "test": 0.1}
    split = stratified_group_split(frame, fractions, lambda f: f["label"].astype(str), seed=7)
    again = stratified_group_split(frame, fractions, lambda f: f["label"].astype(str), seed=7)
    other = stratified_group_split(frame, fractions, lambda f: f["label"].astype(str), seed=8)
    assert all(split[name].equals(again[name]) for name in fractions)
    assert not split["test"].equals(other["test"])
    assert sum(len(part) for part in split.values()) == 205
    assert [len(split[name]) for name in fractions] == pytest.approx([164, 20.5, 20.5], abs=5)
    for part in ("validation", "test"):  # every label in every split, in proportion
        assert split[part]["label"].value_counts().min() >= 4
    holders = [name for name in fractions if (split[name]["text"] == "repeated").any()]
    assert len(holders) == 1 and (split[holders[0]]["text"] == "repeated").sum() == 5


def test_official_splits_lose_rows_that_repeat_a_later_split_and_the_counts_are_reported():
    official = {
        "train": pd.DataFrame({"text": ["a", "b  c", "d", "d", "e"], "label": [0, 1, 0, 1, 0]}),
        "validation": pd.DataFrame({"text": ["e", "f"], "label": [0, 1]}),
        "test": pd.DataFrame({"text": [" b c", "f", "g"], "label": [1, 1, 0]}),
    }
    splits, report, how = make_splits(official, ["label"])
    assert splits["train"]["text"].tolist() == ["a", "d", "d"]
    assert splits["validation"]["text"].tolist() == ["e"]
    assert splits["test"]["text"].tolist() == [" b c", "f", "g"]
    assert report.dropped_across_splits == {"test": 0, "validation": 1, "train": 2}
    assert report.within_split == {"train": 1, "validation": 0, "test": 0}
    assert report.conflicting_labels["train"] == 1  # "d" has labels 0 and 1
    assert "1 from `validation`, 2 from `train`" in how
    assert normalize_text("  b \t c\n") == "b c"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_build_that_fails_half_way_leaves_no_output_and_keeps_the_previous_build(tmp_path, monkeypatch):
    source = write_goemotions(tmp_path / "src")
    out = tmp_path / "out"
    build("goemotions", source=source, out=out)
    before = _snapshot(out)

    # A malformed row in the last file read: the build stops before writing anything.
    with (source / "test.tsv").open("a", encoding="utf-8") as handle:
        handle.write("no label column here\n")
    with pytest.raises(DataFormatError, match=r"test\.tsv:4: wrong column count"):
        build("goemotions", source=source, out=out)
    assert _snapshot(out) == before

    # A crash while writing the Parquet files (after the first one): nothing half-written anywhere.
    write_goemotions(tmp_path / "src")  # repair the source
    import data_scripts.writer as writer

    real_write, calls = writer.pq.write_table, []

    def crash_on_second_file(table, path, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real_write(table, path, **kwargs)

    monkeypatch.setattr(writer.pq, "write_table", crash_on_second_file)
    with pytest.raises(OSError, match="disk full"):
        build("goemotions", source=source, out=out)
    assert _snapshot(out) == before
    with pytest.raises(OSError, match="disk full"):
        calls.clear()
        build("goemotions", source=source, out=tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]  # no temporary folders left


def test_a_folder_not_written_by_data_scripts_is_never_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(OutputExistsError, match="was not written by data_scripts"):
        build("goemotions", source=write_goemotions(tmp_path / "src"), out=out)
    assert (out / "notes.txt").read_text() == "precious" and len(list(out.iterdir())) == 1


def test_rebuilding_replaces_a_previous_build_with_the_new_options(tmp_path):
    source = write_goemotions(tmp_path / "src")
    build("goemotions", source=source, out=tmp_path / "out")
    (source / "dev.tsv").write_text("Fresh dev row\t3\td99\n", encoding="utf-8")
    result = build("goemotions", source=source, out=tmp_path / "out")
    assert result.rows["raw"]["validation"] == 1
    card = DatasetCard.load(tmp_path / "out" / "README.md")
    assert card.data.dataset_info[0]["splits"][1]["num_examples"] == 1


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    repo = Path(data_scripts.__file__).resolve().parents[1]
    return subprocess.run(
        [sys.executable, "-m", "data_scripts", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
        timeout=120,
    )


def test_command_line_lists_builds_and_reports_bad_rows(tmp_path):
    listing = _cli("list", cwd=tmp_path)
    assert listing.returncode == 0
    assert "polar" in listing.stdout and "[no redistribution]" in listing.stdout

    source = write_goemotions(tmp_path / "src")
    done = _cli("build", "goemotions", "--source", str(source), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Built goemotions -> data/goemotions" in done.stdout
    assert "raw" in done.stdout and "removed because the text is in a later split: train 1" in done.stdout
    assert (tmp_path / "data" / "goemotions" / "raw" / "train-00000-of-00001.parquet").is_file()

    with (source / "train.tsv").open("a", encoding="utf-8") as handle:
        handle.write("Bad label\t99\tt99\n")
    failed = _cli("build", "goemotions", "--source", str(source), "--out", str(tmp_path / "o2"), cwd=tmp_path)
    assert failed.returncode == 2
    assert f"{source / 'train.tsv'}:13: unknown label" in failed.stderr and "--lenient" in failed.stderr
    assert "Traceback" not in failed.stderr and not (tmp_path / "o2").exists()

    lenient = build("goemotions", source=source, out=tmp_path / "o2", lenient=True)  # what the CLI prints
    assert "malformed rows dropped (--lenient): 1 (train.tsv: unknown label x1)" in str(lenient)


FIXTURE_SOURCES = {
    "goemotions": write_goemotions,
    "brighter": write_brighter,
    "xed": write_xed,
    "polar": write_polar,
    "umsab": write_umsab,
    "imdb": write_imdb_tree,
    "ag_news": write_ag_news,
    "movielens_100k": write_movielens_100k,
    "movielens_1m": write_movielens_1m,
    "movielens_1m_sasrec": write_movielens_sasrec,
}


@pytest.mark.parametrize("name", sorted(FIXTURE_SOURCES))
def test_every_config_of_every_build_loads_with_datasets_as_the_card_describes(name, tmp_path):
    out = tmp_path / "out"
    result = build(name, source=FIXTURE_SOURCES[name](tmp_path / "src"), out=out)
    card = DatasetCard.load(out / "README.md")
    info = card.data.dataset_info
    if not isinstance(info, list):  # one config: `datasets` writes a mapping without config_name "default"
        info = [{"config_name": "default", **info}]
    infos = {entry["config_name"]: entry for entry in info}
    assert [entry["config_name"] for entry in card.data.configs] == list(result.rows)
    assert card.data.redistributable is get_builder(name).redistributable
    assert card.data.license and card.data.task_categories and card.data.size_categories
    for config, rows in result.rows.items():
        loaded = datasets.load_dataset(str(out), config)
        assert loaded.num_rows == rows
        described = Features._from_yaml_list(infos[config]["features"])
        for split in loaded.values():
            assert split.features == described
        assert {s["name"]: s["num_examples"] for s in infos[config]["splits"]} == rows


def test_rebuilt_folder_never_loads_stale_rows(tmp_path):
    """datasets 5.2 caches a local folder with `configs:` by its name only; load_built_dataset must not."""
    import datasets

    from data_scripts import load_built_dataset

    def write(rows):
        folder = tmp_path / "same-name"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        (folder / "all").mkdir(parents=True)
        datasets.Dataset.from_dict({"text": [f"row {i}" for i in range(rows)]}).to_parquet(
            str(folder / "all" / "train-00000-of-00001.parquet"))
        (folder / "README.md").write_text(
            "---\nconfigs:\n- config_name: all\n  data_files:\n  - split: train\n    path: all/train-*.parquet\n---\n")
        return folder

    folder = write(3)
    assert len(load_built_dataset(folder, "all")["train"]) == 3
    folder = write(5)
    assert len(load_built_dataset(folder, "all")["train"]) == 5
    assert load_built_dataset(folder, "all", split="train")["text"][-1] == "row 4"
