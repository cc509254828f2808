"""IMDB Large Movie Review Dataset v1.0 (Maas et al., ACL 2011): 50k reviews, positive / negative.

Reads either the official archive's tree (`aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`, as
`--download` unpacks it) or a CSV repack of it (`train.csv.gz` / `test.csv.gz` with header
`id,rating,label,text`). The 50k unlabelled `train/unsup` reviews are not used. Validation is carved out of train.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd
from datasets import ClassLabel, Features, Value

from .builder import Builder, BuildLog, BuiltDataset, SourceNotFoundError, add_split_arguments
from .download import RemoteFile
from .readers import iter_table
from .splits import make_splits

LABELS = ["neg", "pos"]
REVIEW_FILE = re.compile(r"^(?P<id>\d+)_(?P<rating>\d+)\.txt$")


class Imdb(Builder):
    name = "imdb"
    pretty_name = "IMDB Large Movie Review Dataset"
    description = (
        "50,000 highly polar IMDb movie reviews (25k train, 25k test, no movie in both), labelled negative "
        "(rating <= 4 of 10) or positive (rating >= 7): the Large Movie Review Dataset v1.0 of Maas et al. (2011)."
    )
    homepage = "https://ai.stanford.edu/~amaas/data/sentiment/"
    citation = """@inproceedings{maas-etal-2011-learning,
  title = {Learning Word Vectors for Sentiment Analysis},
  author = {Maas, Andrew L. and Daly, Raymond E. and Pham, Peter T. and Huang, Dan and Ng, Andrew Y. and Potts, Christopher},
  booktitle = {Proceedings of the 49th Annual Meeting of the Association for Computational Linguistics: Human Language Technologies},
  year = {2011},
  pages = {142--150},
  url = {https://aclanthology.org/P11-1015}
}"""
    license = "other"
    license_name = "imdb-no-license-stated"
    license_link = "https://ai.stanford.edu/~amaas/data/sentiment/"
    license_text = (
        "No licence is stated; the dataset README asks users to cite Maas et al. (2011). The reviews are IMDb "
        "user content, for research use."
    )
    task_ids = ["sentiment-classification"]
    tags = ["sentiment", "movie-reviews"]
    download_base_url = "https://ai.stanford.edu/~amaas/data/sentiment"
    source_hint = (
        "--source must hold aclImdb/{train,test}/{pos,neg}/*.txt (the official archive) or train.csv.gz and "
        "test.csv.gz."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_split_arguments(parser, test=False)

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        return [RemoteFile("aclImdb_v1.tar.gz", "aclImdb", extract=True)]

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        if (source / "aclImdb" / "train").is_dir():
            official = {split: self._read_tree(source / "aclImdb" / split, split, log) for split in ("train", "test")}
            files = ["aclImdb/train/{neg,pos}/*.txt", "aclImdb/test/{neg,pos}/*.txt"]
        elif (source / "train.csv.gz").is_file() or (source / "test.csv.gz").is_file():
            self.require(source, "train.csv.gz", "test.csv.gz")
            official = {split: self._read_csv(source / f"{split}.csv.gz", split, log) for split in ("train", "test")}
            files = ["train.csv.gz", "test.csv.gz"]
        else:
            raise SourceNotFoundError(f"imdb: {source} has neither aclImdb/ nor train.csv.gz. {self.source_hint}")
        splits, duplicates, how = make_splits(
            official,
            ["label"],
            stratify=lambda f: f["label"].astype(str),
            stratify_by="label",
            validation_size=options.validation_size,
            seed=options.seed,
        )
        features = Features(
            {
                "id": Value("string"),
                "text": Value("string"),
                "label": ClassLabel(names=LABELS),
                "rating": Value("int32"),
            }
        )
        return BuiltDataset(
            configs={"plain_text": splits},
            features={"plain_text": features},
            field_descriptions={
                "id": "the review's file in the official archive, `<split>/<neg|pos>/<id>_<rating>`",
                "text": "the review (HTML line breaks `<br />` kept as in the source)",
                "label": "sentiment: neg (rating <= 4) or pos (rating >= 7)",
                "rating": "the reviewer's IMDb rating, 1-10",
            },
            config_descriptions={"plain_text": "reviews with their polarity"},
            label_columns=["label"],
            splits_description=how,
            duplicates=duplicates,
            notes=[
                "The official train and test sets share no movie; validation is cut from train at random (by "
                "review, so it can share movies with train).",
            ],
            source_files=files,
        )

    @staticmethod
    def _check_row(path: Path, line: int, text: str, label: int, rating: int, log: BuildLog) -> bool:
        if not text.strip():
            log.bad_row(path, line, "empty text")
            return False
        if not 1 <= rating <= 10 or (label == 0) != (rating <= 4) or 5 <= rating <= 6:
            log.bad_row(path, line, "rating does not match label", f"rating {rating} with label {LABELS[label]}")
            return False
        return True

    def _read_tree(self, folder: Path, split: str, log: BuildLog) -> pd.DataFrame:
        ids, texts, labels, ratings = [], [], [], []
        for label, name in enumerate(LABELS):
            directory = folder / name
            if not directory.is_dir():
                raise SourceNotFoundError(f"imdb: {directory} does not exist. {self.source_hint}")
            entries = []
            for path in directory.iterdir():
                match = REVIEW_FILE.match(path.name)
                if match is None:
                    continue
                entries.append((int(match["id"]), int(match["rating"]), path))
            for review_id, rating, path in sorted(entries):
                raw = path.read_bytes()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    log.bad_row(path, raw.count(b"\n", 0, error.start) + 1, "bad encoding", str(error))
                    continue
                if self._check_row(path, 1, text, label, rating, log):
                    ids.append(f"{split}/{name}/{review_id}_{rating}")
                    texts.append(text)
                    labels.append(label)
                    ratings.append(rating)
        return pd.DataFrame({"id": ids, "text": texts, "label": labels, "rating": ratings})

    def _read_csv(self, path: Path, split: str, log: BuildLog) -> pd.DataFrame:
        ids, texts, labels, ratings = [], [], [], []
        _, rows = iter_table(path, log, expected_header=["id", "rating", "label", "text"])
        for line, row in rows:
            try:
                review_id, rating, label = int(row["id"]), int(row["rating"]), int(row["label"])
            except ValueError:
                detail = f"id={row['id']!r}, rating={row['rating']!r}, label={row['label']!r}"
                log.bad_row(path, line, "not an integer", detail)
                continue
            if label not in (0, 1):
                log.bad_row(path, line, "unknown label", f"{label}: expected 0 (neg) or 1 (pos)")
                continue
            if self._check_row(path, line, row["text"], label, rating, log):
                ids.append(f"{split}/{LABELS[label]}/{review_id}_{rating}")
                texts.append(row["text"])
                labels.append(label)
                ratings.append(rating)
        return pd.DataFrame({"id": ids, "text": texts, "label": labels, "rating": ratings})

