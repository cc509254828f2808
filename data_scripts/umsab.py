"""UMSAB (XLM-T, Barbieri et al., LREC 2022): 3-class tweet sentiment in 8 languages.

Reads `<language>/{train,val,test}_{text,labels}.txt` (line i of the text file pairs with line i of the labels
file; labels 0 negative, 1 neutral, 2 positive). The repository's `all/` folder is the concatenation of the
eight languages without a language column, so the `all` config is rebuilt from the language folders instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from datasets import ClassLabel, Features, Value

from .builder import (
    Builder,
    BuildLog,
    BuiltDataset,
    DataFormatError,
    SourceNotFoundError,
    add_languages_argument,
    language_configs_description,
    per_language_configs,
    select_languages,
)
from .download import RemoteFile
from .readers import iter_lines
from .splits import make_splits

LABELS = ["negative", "neutral", "positive"]
FOLDERS = {
    "arabic": "ara", "english": "eng", "french": "fra", "german": "deu",
    "hindi": "hin", "italian": "ita", "portuguese": "por", "spanish": "spa",
}  # fmt: skip
ISO_CODES = {"ara": "ar", "eng": "en", "fra": "fr", "deu": "de", "hin": "hi", "ita": "it", "por": "pt", "spa": "es"}
SPLIT_FILES = {"train": "train", "validation": "val", "test": "test"}


class Umsab(Builder):
    name = "umsab"
    pretty_name = "UMSAB: Unified Multilingual Sentiment Analysis Benchmark (XLM-T)"
    description = (
        "Tweets in eight languages (Arabic, English, French, German, Hindi, Italian, Portuguese, Spanish) "
        "labelled negative / neutral / positive, balanced per language: the sentiment benchmark of XLM-T "
        "(Barbieri et al., LREC 2022), unified from SemEval-2017, DEFT-2017, SB-10K, SAIL-2015, SENTIPOLC-2016, "
        "SentiBR and InterTASS-2017."
    )
    homepage = "https://github.com/cardiffnlp/xlm-t"
    citation = """@inproceedings{barbieri-etal-2022-xlm,
  title = {{XLM-T}: Multilingual Language Models in {T}witter for Sentiment Analysis and Beyond},
  author = {Barbieri, Francesco and Espinosa Anke, Luis and Camacho-Collados, Jose},
  booktitle = {Proceedings of the Thirteenth Language Resources and Evaluation Conference},
  year = {2022},
  pages = {258--266},
  url = {https://aclanthology.org/2022.lrec-1.27}
}"""
    license = "apache-2.0"
    license_text = (
        "Apache License 2.0 (the cardiffnlp/xlm-t repository licence). The tweets come from the shared-task "
        "corpora listed above; user mentions are anonymised as `@user`."
    )
    task_ids = ["sentiment-classification"]
    tags = ["sentiment", "twitter", "tweets"]
    download_base_url = "https://raw.githubusercontent.com/cardiffnlp/xlm-t/main/data/sentiment"
    source_hint = "--source must hold <language>/{train,val,test}_{text,labels}.txt (xlm-t's data/sentiment)."

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_languages_argument(parser)

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        files = [
            f"{folder}/{split}_{kind}.txt"
            for folder, code in FOLDERS.items()
            if options.languages is None or code in options.languages
            for split in SPLIT_FILES.values()
            for kind in ("text", "labels")
        ]
        return [RemoteFile(name, name) for name in files]

    def card_languages(self, built: BuiltDataset) -> list[str]:
        return sorted(ISO_CODES[language] for language in built.languages)

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        available = sorted(code for folder, code in FOLDERS.items() if (source / folder).is_dir())
        if not available:
            raise SourceNotFoundError(
                f"umsab: none of {', '.join(FOLDERS)} is a folder of {source}. {self.source_hint}"
            )
        languages = select_languages(available, options.languages, source)
        folder_of = {code: folder for folder, code in FOLDERS.items()}

        official: dict[str, list[pd.DataFrame]] = {split: [] for split in SPLIT_FILES}
        source_files = []
        for language in languages:
            folder = folder_of[language]
            for split, stem in SPLIT_FILES.items():
                names = [f"{folder}/{stem}_text.txt", f"{folder}/{stem}_labels.txt"]
                text_path, label_path = self.require(source, *names)
                official[split].append(self._read_pair(text_path, label_path, language, log))
                source_files += names
        frames = {split: pd.concat(parts, ignore_index=True) for split, parts in official.items()}
        splits, duplicates, how = make_splits(frames, ["label"])
        features = Features(
            {"text": Value("string"), "language": Value("string"), "label": ClassLabel(names=LABELS)}
        )
        configs = per_language_configs(splits, languages)
        return BuiltDataset(
            configs=configs,
            features={config: features for config in configs},
            field_descriptions={
                "text": "the tweet (as in the source, including its literal `\\uXXXX` escapes)",
                "language": "ISO 639-3 code of the source folder (arabic -> `ara`, ...)",
                "label": "sentiment",
            },
            config_descriptions={"all": "every language"} | language_configs_description(languages),
            label_columns=["label"],
            languages=languages,
            splits_description=how,
            duplicates=duplicates,
            notes=[
                "Some English tweets contain literal escapes such as `\\u2019` (as distributed); they are kept.",
                "The repository's `all/` folder is not read: the `all` config is the union of the language folders, "
                "with a `language` column.",
            ],
            source_files=source_files,
        )

    @staticmethod
    def _read_pair(text_path: Path, label_path: Path, language: str, log: BuildLog) -> pd.DataFrame:
        text_lines = dict(iter_lines(text_path, log))
        label_lines = dict(iter_lines(label_path, log))
        for lines in (text_lines, label_lines):
            while lines and not lines[max(lines)].strip():  # blank lines at the end of a file
                del lines[max(lines)]
        if text_lines and label_lines and max(text_lines) != max(label_lines):
            raise DataFormatError(
                f"{text_path} has {max(text_lines)} lines but {label_path} has {max(label_lines)}: line i of the "
                "text file must pair with line i of the labels file"
            )
        texts, labels = [], []
        for line, text in text_lines.items():
            if line not in label_lines:
                continue  # its label line would not decode, already reported
            value = label_lines[line].strip()
            if value not in ("0", "1", "2"):
                log.bad_row(label_path, line, "unknown label", f"{value!r}: expected 0, 1 or 2")
                continue
            if not text.strip():
                log.bad_row(text_path, line, "empty text")
                continue
            texts.append(text)
            labels.append(int(value))
        return pd.DataFrame({"text": texts, "language": language, "label": labels})
