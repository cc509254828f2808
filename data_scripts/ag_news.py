"""AG News (Zhang, Zhao & LeCun, NIPS 2015): news topic classification, 4 classes, 120k train / 7.6k test.

Reads the official `train.csv` / `test.csv` (no header, every field quoted: class index 1-4, title,
description) and `classes.txt`; also accepts copies re-serialised with a `label,title,description` header.
`text` is title and description joined by a space, as in the common Hub version. When only `test.csv` is
present (as in this project's local copy), only the test split is built, and the build says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from datasets import ClassLabel, Features, Value

from .builder import Builder, BuildLog, BuiltDataset, DataFormatError, SourceNotFoundError, add_split_arguments
from .download import RemoteFile
from .readers import iter_lines, iter_records
from .splits import make_splits

CLASSES = ["World", "Sports", "Business", "Sci/Tech"]


class AgNews(Builder):
    name = "ag_news"
    pretty_name = "AG News"
    description = (
        "News articles from AG's corpus in four topics (World, Sports, Business, Sci/Tech), 30,000 train and "
        "1,900 test articles per class: the topic classification benchmark of Zhang, Zhao and LeCun (2015)."
    )
    homepage = "http://groups.di.unipi.it/~gulli/AG_corpus_of_news_articles.html"
    citation = """@inproceedings{zhang2015character,
  title = {Character-level Convolutional Networks for Text Classification},
  author = {Zhang, Xiang and Zhao, Junbo and LeCun, Yann},
  booktitle = {Advances in Neural Information Processing Systems 28},
  year = {2015},
  pages = {649--657}
}"""
    license = "other"
    license_name = "ag-corpus-academic-non-commercial"
    license_link = "http://groups.di.unipi.it/~gulli/AG_corpus_of_news_articles.html"
    license_text = (
        "No licence file; AG's corpus is 'provided by the academic community for research purposes' for "
        "non-commercial activity (A. Gulli)."
    )
    task_ids = ["topic-classification", "multi-class-classification"]
    tags = ["news", "topic"]
    download_base_url = "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv"
    source_hint = "--source must hold test.csv and, for training data, train.csv (the official ag_news_csv files)."

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_split_arguments(parser, test=False)

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        return [RemoteFile(name, name) for name in ("train.csv", "test.csv", "classes.txt")]

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        present = {split: source / f"{split}.csv" for split in ("train", "test") if (source / f"{split}.csv").is_file()}
        if "test" not in present:
            raise SourceNotFoundError(
                f"ag_news: {source} lacks test.csv. {self.source_hint} Pass --download to fetch them."
            )
        classes = CLASSES
        if (source / "classes.txt").is_file():
            classes = [text.strip() for _, text in iter_lines(source / "classes.txt", log) if text.strip()]
            if len(classes) != len(CLASSES):
                raise DataFormatError(f"{source / 'classes.txt'}: expected 4 class names, one per line; got {classes}")
        official = {split: self._read(path, len(classes), log) for split, path in present.items()}
        notes = [
            "`text` is the title and the description joined by a space; the source's escapes (`\\` for line "
            "breaks, `#36;` for `$`, ...) are kept as distributed."
        ]
        summary = []
        splits, duplicates, how = make_splits(
            official,
            ["label"],
            stratify=lambda f: f["label"].astype(str),
            stratify_by="label",
            validation_size=options.validation_size,
            seed=options.seed,
        )
        if "train" not in official:
            warning = (
                f"only the official test split was built: {source / 'train.csv'} is missing (pass --download to "
                "fetch the official train.csv and test.csv)"
            )
            notes.append(
                f"**Test split only.** This build has no train or validation split: {source.name}/ has no train.csv."
            )
            summary.append(f"warning: {warning}")
        features = Features({"text": Value("string"), "label": ClassLabel(names=classes)})
        return BuiltDataset(
            configs={"default": splits},
            features={"default": features},
            field_descriptions={"text": "title and description of the article", "label": "topic"},
            config_descriptions={"default": "articles with their topic"},
            label_columns=["label"],
            splits_description=how,
            duplicates=duplicates,
            notes=notes,
            source_files=[f"{split}.csv" for split in present],
            summary_lines=summary,
        )

    @staticmethod
    def _read(path: Path, num_classes: int, log: BuildLog) -> pd.DataFrame:
        texts, labels = [], []
        for line, fields in iter_records(path, log):
            if line == 1 and [field.strip().lower() for field in fields] == ["label", "title", "description"]:
                continue  # a re-serialised copy with a header
            if len(fields) != 3:
                detail = f"{len(fields)} fields, expected 3: class, title, description"
                log.bad_row(path, line, "wrong column count", detail)
                continue
            value, title, description = fields
            if not value.strip().isdigit() or not 1 <= int(value) <= num_classes:
                log.bad_row(path, line, "unknown label", f"{value!r}: expected a class index 1-{num_classes}")
                continue
            text = f"{title} {description}".strip()
            if not text:
                log.bad_row(path, line, "empty text")
                continue
            texts.append(text)
            labels.append(int(value) - 1)
        return pd.DataFrame({"text": texts, "label": labels})
