"""BRIGHTER / SemEval-2025 Task 11, track A: multi-label emotion in 28 languages (Muhammad et al., 2025).

Reads `track_a/train/<language>.csv` (header `id,text,<emotion columns>`, each emotion 0/1; all zero = no
emotion). Not every language annotated every emotion: `eng` has no `disgust` column and `afr` no `surprise`,
so each row carries `annotated_labels` and the card records them per language, so that "not annotated" is
never read as "absent". Only the labelled train split is used; validation and test are carved out of it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from datasets import ClassLabel, Features, Sequence, Value

from .builder import (
    Builder,
    BuildLog,
    BuiltDataset,
    DataFormatError,
    SourceNotFoundError,
    add_languages_argument,
    language_configs_description,
    add_split_arguments,
    per_language_configs,
    select_languages,
)
from .download import RemoteFile
from .readers import iter_table
from .splits import make_splits

EMOTIONS = ["anger", "disgust", "fear", "joy", "sadness", "surprise"]
EXCLUDED_FILES = {
    "ron_track1_test.csv": "a labelled Romanian test-style file (capitalised columns; 61 of its texts are in ron.csv)"
}
# The organisers' language codes -> ISO 639-1 (or 639-3 where there is none) for the card's metadata.
ISO_CODES = {
    "afr": "af", "amh": "am", "arq": "arq", "ary": "ary", "chn": "zh", "deu": "de", "eng": "en", "esp": "es",
    "hau": "ha", "hin": "hi", "ibo": "ig", "kin": "rw", "mar": "mr", "orm": "om", "pcm": "pcm", "ptbr": "pt",
    "ptmz": "pt", "ron": "ro", "rus": "ru", "som": "so", "sun": "su", "swa": "sw", "swe": "sv", "tat": "tt",
    "tir": "ti", "ukr": "uk", "vmw": "vmw", "yor": "yo",
}  # fmt: skip
LANGUAGES = sorted(ISO_CODES)


class Brighter(Builder):
    name = "brighter"
    pretty_name = "BRIGHTER (SemEval-2025 Task 11, track A): multi-label emotion in 28 languages"
    description = (
        "Texts in 28 languages, many of them low-resource, each labelled with the perceived emotions among "
        "anger, disgust, fear, joy, sadness and surprise (none = no emotion): track A of SemEval-2025 Task 11 "
        "'Bridging the Gap in Text-Based Emotion Detection', from the BRIGHTER collection."
    )
    homepage = "https://github.com/emotion-analysis-project/SemEval2025-Task11"
    citation = """@misc{muhammad2025brighter,
  title = {{BRIGHTER}: {BRIdging} the Gap in Human-Annotated Textual Emotion Recognition Datasets for 28 Languages},
  author = {Muhammad, Shamsuddeen Hassan and Ousidhoum, Nedjma and Abdulmumin, Idris and others},
  year = {2025},
  eprint = {2502.11926},
  archivePrefix = {arXiv},
  url = {https://arxiv.org/abs/2502.11926}
}
@inproceedings{muhammad2025semeval,
  title = {{SemEval}-2025 Task 11: Bridging the Gap in Text-Based Emotion Detection},
  author = {Muhammad, Shamsuddeen Hassan and Ousidhoum, Nedjma and Abdulmumin, Idris and others},
  booktitle = {Proceedings of the 19th International Workshop on Semantic Evaluation (SemEval-2025)},
  year = {2025}
}"""
    license = "cc-by-4.0"
    license_text = "Creative Commons Attribution 4.0 International (the organisers' repository README)."
    task_ids = ["multi-label-classification"]
    tags = ["emotion", "semeval-2025", "low-resource-languages"]
    download_base_url = (
        "https://raw.githubusercontent.com/emotion-analysis-project/SemEval2025-Task11/main/"
        "task-dataset/semeval-2025-task11-dataset"
    )
    source_hint = "--source must hold track_a/train/<language>.csv (the organisers' task-dataset folder)."

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_languages_argument(parser)
        add_split_arguments(parser)

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        languages = options.languages or LANGUAGES
        return [RemoteFile(f"track_a/train/{language}.csv", f"track_a/train/{language}.csv") for language in languages]

    def card_languages(self, built: BuiltDataset) -> list[str]:
        return sorted({ISO_CODES.get(language, language) for language in built.languages})

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        folder = source / "track_a" / "train"
        if not folder.is_dir():
            raise SourceNotFoundError(f"brighter: {folder} does not exist. {self.source_hint}")
        available = sorted(path.stem for path in folder.glob("*.csv") if path.name not in EXCLUDED_FILES)
        if not available:
            raise SourceNotFoundError(f"brighter: no <language>.csv files in {folder}. {self.source_hint}")
        languages = select_languages(available, options.languages, folder)

        frames, annotated, seen_ids = [], {}, {}
        for language in languages:
            frame, annotated[language] = self._read_language(folder / f"{language}.csv", language, log, seen_ids)
            frames.append(frame)
        rows = pd.concat(frames, ignore_index=True)
        splits, duplicates, how = make_splits(
            {"train": rows},
            ["labels"],
            stratify=lambda f: f["language"] + "|" + f["labels"].map(lambda ids: ",".join(map(str, ids))),
            stratify_by="language and label set",
            validation_size=options.validation_size,
            test_size=options.test_size,
            seed=options.seed,
        )
        features = Features(
            {
                "id": Value("string"),
                "text": Value("string"),
                "language": Value("string"),
                "labels": Sequence(ClassLabel(names=EMOTIONS)),
                "annotated_labels": Sequence(Value("string")),
            }
        )
        configs = per_language_configs(splits, languages)
        partial = {language: names for language, names in annotated.items() if names != EMOTIONS}
        excluded = [name for name in EXCLUDED_FILES if (folder / name).exists()]
        notes = [
            "**Annotated labels.** Not every language was annotated for every emotion; `annotated_labels` lists "
            "the emotions a row's language was annotated for, and `data_scripts.annotated_labels` in the card "
            "metadata holds the same per language. An emotion outside `annotated_labels` is *unknown*, not absent: "
            "mask it in losses and metrics. "
            + (
                "Partially annotated languages: "
                + "; ".join(
                    f"`{language}` lacks {', '.join(e for e in EMOTIONS if e not in names)}"
                    for language, names in partial.items()
                )
                + "."
                if partial
                else "Every language here was annotated for all six emotions."
            ),
            "Only the labelled train split of track A is used (in this project the labelled dev split is kept "
            "aside for independent evaluation); validation and test are carved out of it as described above.",
        ]
        if excluded:
            notes.append(
                "**Excluded:** "
                + "; ".join(f"`track_a/train/{name}`: {EXCLUDED_FILES[name]}" for name in excluded)
                + ". It is not read at all, so none of its rows (or their duplicates) can leak into the splits."
            )
        return BuiltDataset(
            configs=configs,
            features={config: features for config in configs},
            field_descriptions={
                "id": "the organisers' row id",
                "text": "the text",
                "language": "the organisers' language code (e.g. `eng`, `ptbr`)",
                "labels": "the emotions perceived (empty = no emotion)",
                "annotated_labels": "the emotions this row's language was annotated for",
            },
            config_descriptions={"all": "every language"} | language_configs_description(languages),
            label_columns=["labels"],
            languages=languages,
            splits_description=how,
            duplicates=duplicates,
            notes=notes,
            # The `language` column keeps the organisers' codes (`esp`, `chn`, `ptbr`); model cards map them to
            # the Hub's codes through this table.
            metadata={
                "annotated_labels": annotated,
                "excluded_files": excluded,
                "language_codes": {language: ISO_CODES[language] for language in languages},
            },
            source_files=[f"track_a/train/{language}.csv" for language in languages],
        )

    @staticmethod
    def _read_language(
        path: Path, language: str, log: BuildLog, seen_ids: dict[str, str]
    ) -> tuple[pd.DataFrame, list[str]]:
        header, rows = iter_table(path, log)
        lowered = [name.lower() for name in header]
        if lowered[:2] != ["id", "text"]:
            raise DataFormatError(f"{path}:1: the header must start with id,text; it is {','.join(header)!r}")
        unknown = [name for name in header[2:] if name.lower() not in EMOTIONS]
        if unknown:
            raise DataFormatError(
                f"{path}:1: unknown emotion column(s) {', '.join(unknown)}; expected some of {', '.join(EMOTIONS)}"
            )
        columns = header[2:]
        annotated = [emotion for emotion in EMOTIONS if emotion in lowered[2:]]
        ids, texts, labels = [], [], []
        for line, row in rows:
            text, identifier = row[header[1]], row[header[0]].strip()
            if not identifier:
                log.bad_row(path, line, "empty id")
                continue
            if identifier in seen_ids:
                log.bad_row(path, line, "duplicate id", f"{identifier} is also at {seen_ids[identifier]}")
                continue
            if not text.strip():
                log.bad_row(path, line, "empty text")
                continue
            values = {column.lower(): row[column].strip() for column in columns}
            bad = [f"{column}={value!r}" for column, value in values.items() if value not in ("0", "1")]
            if bad:
                log.bad_row(path, line, "unknown label", f"emotion columns must be 0 or 1, got {', '.join(bad)}")
                continue
            seen_ids[identifier] = f"{path.name}:{line}"
            ids.append(identifier)
            texts.append(text)
            labels.append([EMOTIONS.index(emotion) for emotion in EMOTIONS if values.get(emotion) == "1"])
        frame = pd.DataFrame({"id": ids, "text": texts, "language": language, "labels": labels})
        frame["annotated_labels"] = [annotated] * len(frame)
        return frame, annotated
