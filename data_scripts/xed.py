"""XED (Öhman et al., COLING 2020): movie-subtitle lines with Plutchik's 8 emotions, multi-label.

English and Finnish are human-annotated (`AnnotatedData/{en,fi}-annotated.tsv`, gold); 43 other files
(`Projections/<code>-projections.tsv`) carry labels projected through aligned subtitles (silver), marked by
the `silver` column. Files are TSV without header (`sentence<TAB>1, 4, 7`), some sentences CSV-quoted with
embedded newlines. The neutral lines (`neu_en.txt`, `neu_fi.txt`) are added with `--with-neutral`.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd
from datasets import ClassLabel, Features, Sequence, Value

from .builder import (
    Builder,
    BuildLog,
    BuiltDataset,
    SourceNotFoundError,
    add_languages_argument,
    language_configs_description,
    add_split_arguments,
    per_language_configs,
    select_languages,
)
from .download import RemoteFile
from .readers import iter_records
from .splits import make_splits

EMOTIONS = ["anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust"]
GOLD_FILES = {"en": "AnnotatedData/en-annotated.tsv", "fi": "AnnotatedData/fi-annotated.tsv"}
NEUTRAL_FILES = {"en": "AnnotatedData/neu_en.txt", "fi": "AnnotatedData/neu_fi.txt"}
PROJECTION = re.compile(r"^(?P<code>[a-z]{2})-projections\d*\.tsv$")
# The repository's projection files (the official download list); `br` is Brazilian Portuguese here.
PROJECTION_FILES = [
    "ar", "bg", "br", "bs", "cn", "cs", "da", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "gl", "he",
    "hr", "hu", "id", "is", "it", "ja", "mk", "ml", "ms", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sr",
    "sv", "th", "tr", "tw", "vi", "zh",
]  # fmt: skip
ISO_CODES = {"br": "pt", "cn": "zh", "tw": "zh"}


class Xed(Builder):
    name = "xed"
    pretty_name = "XED: multilingual emotion in movie subtitles (gold English/Finnish, projected silver)"
    description = (
        "Movie-subtitle lines annotated with Plutchik's eight emotions (anger, anticipation, disgust, fear, joy, "
        "sadness, surprise, trust), multi-label (Öhman et al., COLING 2020): human annotations for English and "
        "Finnish (gold) and labels projected through aligned subtitles for 40+ other languages (silver, "
        "`silver = true`)."
    )
    homepage = "https://github.com/Helsinki-NLP/XED"
    citation = """@inproceedings{ohman-etal-2020-xed,
  title = {{XED}: A Multilingual Dataset for Sentiment Analysis and Emotion Detection},
  author = {{\\"O}hman, Emily and P{\\`a}mies, Marc and Kajava, Kaisla and Tiedemann, J{\\"o}rg},
  booktitle = {Proceedings of the 28th International Conference on Computational Linguistics},
  year = {2020},
  pages = {6542--6552},
  url = {https://aclanthology.org/2020.coling-main.575}
}"""
    license = "cc-by-4.0"
    license_text = "Creative Commons Attribution 4.0 International (the Helsinki-NLP/XED README)."
    task_ids = ["multi-label-classification"]
    tags = ["emotion", "subtitles", "plutchik"]
    download_base_url = "https://raw.githubusercontent.com/Helsinki-NLP/XED/master"
    source_hint = "--source must hold AnnotatedData/{en,fi}-annotated.tsv and Projections/<code>-projections.tsv."

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--gold-only", action="store_true", help="leave out the projected (silver) files")
        parser.add_argument(
            "--with-neutral",
            action="store_true",
            help="add the neutral lines of neu_en.txt / neu_fi.txt as gold rows with no emotion",
        )
        add_languages_argument(parser)
        add_split_arguments(parser)

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        files = list(GOLD_FILES.values())
        if options.with_neutral:
            files += NEUTRAL_FILES.values()
        if not options.gold_only:
            files += [
                f"Projections/{code}-projections{'2' if code == 'tr' else ''}.tsv"
                for code in PROJECTION_FILES
                if options.languages is None or code in options.languages
            ]
        return [RemoteFile(name, name) for name in files]

    def card_languages(self, built: BuiltDataset) -> list[str]:
        return sorted({ISO_CODES.get(language, language) for language in built.languages})

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        files: list[tuple[str, bool, str]] = []  # (language, silver, relative path)
        for language, name in GOLD_FILES.items():
            if (source / name).is_file():
                files.append((language, False, name))
        if not options.gold_only and (source / "Projections").is_dir():
            for path in sorted((source / "Projections").iterdir()):
                match = PROJECTION.match(path.name)
                if match:
                    files.append((match["code"], True, f"Projections/{path.name}"))
        if not files:
            raise SourceNotFoundError(f"xed: no annotated or projection files in {source}. {self.source_hint}")
        available = sorted({language for language, _, _ in files})
        languages = select_languages(available, options.languages, source)
        files = [entry for entry in files if entry[0] in languages]

        frames = [self._read_labelled(source / name, language, silver, log) for language, silver, name in files]
        neutral_counts = {}
        if options.with_neutral:
            for language, name in NEUTRAL_FILES.items():
                if language in languages:
                    self.require(source, name)
                    frame = self._read_neutral(source / name, language, log)
                    neutral_counts[language] = len(frame)
                    frames.append(frame)
                    files.append((language, False, name))
        rows = pd.concat(frames, ignore_index=True)
        splits, duplicates, how = make_splits(
            {"train": rows},
            ["labels"],
            stratify=lambda f: f["language"]
            + "|"
            + f["silver"].map({True: "silver", False: "gold"})
            + "|"
            + f["labels"].map(lambda ids: ",".join(map(str, ids))),
            stratify_by="language, gold/silver and label set",
            validation_size=options.validation_size,
            test_size=options.test_size,
            seed=options.seed,
        )
        features = Features(
            {
                "text": Value("string"),
                "language": Value("string"),
                "labels": Sequence(ClassLabel(names=EMOTIONS)),
                "silver": Value("bool"),
            }
        )
        configs = per_language_configs(splits, languages)
        gold_languages = [language for language in GOLD_FILES if language in languages]
        if gold_languages:
            gold = {split: frame[~frame["silver"]].reset_index(drop=True) for split, frame in splits.items()}
            configs = {"all": configs.pop("all"), "gold": gold, **configs}
        notes = [
            "`silver = true` marks labels projected from English/Finnish annotations through aligned subtitles "
            "(not checked by a person); the `gold` config keeps only the human annotations.",
            "XED has no official split; validation and test are carved out as described above. Short subtitle "
            "lines repeat a lot, across languages too: every copy of a text sits in one split.",
            "Language codes are the file names' (`br` is Brazilian Portuguese, `cn` and `tw` Chinese variants, "
            "as in the source).",
        ]
        if neutral_counts:
            notes.append(
                "Neutral lines (no emotion) added from "
                + ", ".join(f"`{NEUTRAL_FILES[language]}` ({count:,})" for language, count in neutral_counts.items())
                + "."
            )
        return BuiltDataset(
            configs=configs,
            features={config: features for config in configs},
            field_descriptions={
                "text": "the subtitle line",
                "language": "the source's language code (file name prefix)",
                "labels": "Plutchik emotions (empty = neutral, only with `--with-neutral`)",
                "silver": "true when the labels were projected (silver), false for human annotations (gold)",
            },
            config_descriptions={
                "all": "every language, gold and silver",
                "gold": "English and Finnish human annotations",
            }
            | {
                language: f"{name} ({'gold + silver' if language in GOLD_FILES else 'silver'})"
                for language, name in language_configs_description(languages).items()
            },
            label_columns=["labels"],
            languages=languages,
            splits_description=how,
            duplicates=duplicates,
            notes=notes,
            metadata={"silver_languages": sorted({language for language, silver, _ in files if silver})},
            source_files=[name for _, _, name in files],
        )

    @staticmethod
    def _parse_labels(value: str) -> list[int] | None:
        try:
            numbers = sorted({int(part) for part in value.split(",")})
        except ValueError:
            return None
        if numbers == [0]:
            return []  # 0 = neutral "where applicable"
        if not numbers or any(not 1 <= number <= len(EMOTIONS) for number in numbers):
            return None
        return [number - 1 for number in numbers]

    def _read_labelled(self, path: Path, language: str, silver: bool, log: BuildLog) -> pd.DataFrame:
        texts, labels = [], []
        for line, fields in iter_records(path, log, delimiter="\t"):
            if line == 1 and [field.strip().lower() for field in fields] == ["phrase", "emotion"]:
                continue  # tr-projections2.tsv has a header row
            if len(fields) != 2:
                log.bad_row(path, line, "wrong column count", f"{len(fields)} fields, expected sentence<TAB>labels")
                continue
            text, value = fields
            if not text.strip():
                log.bad_row(path, line, "empty text")
                continue
            row_labels = self._parse_labels(value)
            if row_labels is None:
                log.bad_row(path, line, "unknown label", f"{value!r}: expected emotion numbers 1-8 like '1, 4'")
                continue
            texts.append(text)
            labels.append(row_labels)
        return pd.DataFrame({"text": texts, "language": language, "labels": labels, "silver": silver})

    @staticmethod
    def _read_neutral(path: Path, language: str, log: BuildLog) -> pd.DataFrame:
        texts = []
        for line, fields in iter_records(path, log, delimiter="\t"):
            if len(fields) < 2:
                detail = f"{len(fields)} fields, expected the sentence in the second"
                log.bad_row(path, line, "wrong column count", detail)
                continue
            if not fields[1].strip():
                log.bad_row(path, line, "empty text")
                continue
            texts.append(fields[1])
        return pd.DataFrame({"text": texts, "language": language, "labels": [[] for _ in texts], "silver": False})
