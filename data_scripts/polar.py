"""POLAR / SemEval-2026 Task 9: online polarization in 22 languages, three subtasks on the same texts.

Reads `subtask{1,2,3}/train/<language>.csv`: subtask 1 `id,text,polarization` (binary), subtask 2
`id,text,<5 target columns>` and subtask 3 `id,text,<6 manifestation columns>` (multi-label 0/1). The ids are
shared, so the three subtasks become one table; `manifestation` is null (None) for the languages without a
subtask-3 file (ita, mya, pol, rus), never a fake empty list. A row present in one subtask file and missing
from another is an error naming both files.
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
    SourceNotFoundError,
    add_languages_argument,
    language_configs_description,
    add_split_arguments,
    per_language_configs,
    select_languages,
)
from .readers import iter_table
from .splits import make_splits

POLARIZATION = ["not_polarized", "polarized"]
POLARIZATION_TYPES = ["political", "racial/ethnic", "religious", "gender/sexual", "other"]
MANIFESTATIONS = ["stereotype", "vilification", "dehumanization", "extreme_language", "lack_of_empathy", "invalidation"]
SUBTASK_COLUMNS = {1: ["polarization"], 2: POLARIZATION_TYPES, 3: MANIFESTATIONS}
BINARY = {"0", "1"}
ISO_CODES = {
    "amh": "am", "arb": "ar", "ben": "bn", "deu": "de", "eng": "en", "fas": "fa", "hau": "ha", "hin": "hi",
    "ita": "it", "khm": "km", "mya": "my", "nep": "ne", "ori": "or", "pan": "pa", "pol": "pl", "rus": "ru",
    "spa": "es", "swa": "sw", "tel": "te", "tur": "tr", "urd": "ur", "zho": "zh",
}  # fmt: skip


class Polar(Builder):
    name = "polar"
    pretty_name = "POLAR (SemEval-2026 Task 9): multilingual online polarization"
    description = (
        "Social-media posts in 22 languages annotated for polarization (SemEval-2026 Task 9, POLAR): whether a "
        "post is polarized (subtask 1), the polarization target (subtask 2: political, racial/ethnic, religious, "
        "gender/sexual, other; multi-label) and how it manifests (subtask 3: stereotype, vilification, "
        "dehumanization, extreme language, lack of empathy, invalidation; multi-label)."
    )
    homepage = "https://polar-semeval.github.io/"
    citation = """@misc{polar2025,
  title = {{POLAR}: A Benchmark for Multilingual, Multicultural, and Multi-Event Online Polarization},
  year = {2025},
  eprint = {2505.20624},
  archivePrefix = {arXiv},
  url = {https://arxiv.org/abs/2505.20624}
}"""
    license = "other"
    license_name = "polar-shared-task-research-use"
    license_link = "https://polar-semeval.github.io/"
    license_text = (
        "No licence is stated by the organisers or the repositories that carry the shared-task files; they are "
        "shared-task data for research. Use them for research only, cite the POLAR paper, and do not "
        "redistribute them."
    )
    redistributable = False
    task_ids = ["multi-label-classification", "multi-class-classification"]
    tags = ["polarization", "semeval-2026", "social-media"]
    no_download_reason = (
        "POLAR has no official public download: the SemEval-2026 Task 9 files are distributed to registered "
        "participants (see https://polar-semeval.github.io/). Put subtask1/2/3/train/<language>.csv into the "
        "source folder yourself."
    )
    source_hint = "--source must hold subtask1/train/<language>.csv (and subtask2/, subtask3/ alike)."

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_languages_argument(parser)
        add_split_arguments(parser)

    def card_languages(self, built: BuiltDataset) -> list[str]:
        return sorted({ISO_CODES.get(language, language) for language in built.languages})

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        folder = source / "subtask1" / "train"
        available = sorted(path.stem for path in folder.glob("*.csv")) if folder.is_dir() else []
        if not available:
            raise SourceNotFoundError(
                f"polar: no <language>.csv files in {folder}. {self.source_hint} {self.no_download_reason}"
            )
        languages = select_languages(available, options.languages, folder)

        frames, without_subtask = [], {2: [], 3: []}
        text_mismatches = 0
        source_files = []
        for language in languages:
            frame, missing, mismatches, files = self._read_language(source, language, log)
            frames.append(frame)
            text_mismatches += mismatches
            source_files += files
            for subtask in missing:
                without_subtask[subtask].append(language)
        rows = pd.concat(frames, ignore_index=True)
        splits, duplicates, how = make_splits(
            {"train": rows},
            ["polarization", "polarization_type", "manifestation"],
            stratify=lambda f: f["language"] + "|" + f["polarization"].astype(str),
            stratify_by="language and polarization",
            validation_size=options.validation_size,
            test_size=options.test_size,
            seed=options.seed,
        )
        features = Features(
            {
                "id": Value("string"),
                "text": Value("string"),
                "language": Value("string"),
                "polarization": ClassLabel(names=POLARIZATION),
                "polarization_type": Sequence(ClassLabel(names=POLARIZATION_TYPES)),
                "manifestation": Sequence(ClassLabel(names=MANIFESTATIONS)),
            }
        )
        configs = per_language_configs(splits, languages)
        notes = [
            "One table for the three subtasks: train on `polarization` (subtask 1, single-label), "
            "`polarization_type` (subtask 2, multi-label) or `manifestation` (subtask 3, multi-label) by naming "
            "the label column.",
            "Only the labelled train files are used (the labelled dev split is kept aside for independent "
            "evaluation in this project); validation and test are carved out of train as described above.",
        ]
        if without_subtask[3]:
            notes.append(
                "`manifestation` is null (not annotated) for "
                + ", ".join(f"`{language}`" for language in without_subtask[3])
                + ": those languages have no subtask-3 file. Drop or mask these rows when training on subtask 3."
            )
        if without_subtask[2]:
            notes.append(
                "`polarization_type` is null (not annotated) for "
                + ", ".join(f"`{language}`" for language in without_subtask[2])
                + ": no subtask-2 file."
            )
        if "ita" in languages:
            notes.append("Italian subtask 2 annotates no `political` or `other` targets (all zero in the source).")
        if text_mismatches:
            notes.append(
                f"{text_mismatches} ids have slightly different texts in the subtask 2/3 files than in subtask 1; "
                "the subtask-1 text is kept."
            )
        return BuiltDataset(
            configs=configs,
            features={config: features for config in configs},
            field_descriptions={
                "id": "the organisers' id (`<language>_<md5>`), shared by the three subtasks",
                "text": "the post (subtask-1 file)",
                "language": "the organisers' language code (e.g. `eng`)",
                "polarization": "subtask 1: is the post polarized",
                "polarization_type": "subtask 2: polarization targets (null where the language has no subtask-2 file)",
                "manifestation": "subtask 3: how polarization shows (null where the language has no subtask-3 file)",
            },
            config_descriptions={"all": "every language"} | language_configs_description(languages),
            label_columns=["polarization", "polarization_type", "manifestation"],
            languages=languages,
            splits_description=how,
            duplicates=duplicates,
            notes=notes,
            metadata={
                "label_columns": {
                    "subtask1": "polarization",
                    "subtask2": "polarization_type",
                    "subtask3": "manifestation",
                },
                "not_annotated": {"polarization_type": without_subtask[2], "manifestation": without_subtask[3]},
                "text_differs_across_subtasks": text_mismatches,
            },
            source_files=source_files,
        )

    @staticmethod
    def _read_subtask(path: Path, subtask: int, log: BuildLog) -> dict[str, tuple[int, str, list[int]]]:
        """id -> (line, text, label ids) of one subtask file."""
        columns = SUBTASK_COLUMNS[subtask]
        _, rows = iter_table(path, log, expected_header=["id", "text", *columns])
        result: dict[str, tuple[int, str, list[int]]] = {}
        for line, row in rows:
            identifier, text = row["id"].strip(), row["text"]
            if not identifier:
                log.bad_row(path, line, "empty id")
                continue
            if identifier in result:
                log.bad_row(path, line, "duplicate id", f"{identifier} is also on line {result[identifier][0]}")
                continue
            if not text.strip():
                log.bad_row(path, line, "empty text")
                continue
            values = [row[column] for column in columns]
            if not BINARY.issuperset(values):
                values = [value.strip() for value in values]
                bad = [f"{c}={v!r}" for c, v in zip(columns, values) if v not in BINARY]
                if bad:
                    log.bad_row(path, line, "unknown label", f"label columns must be 0 or 1, got {', '.join(bad)}")
                    continue
            result[identifier] = (line, text, [index for index, value in enumerate(values) if value == "1"])
        return result

    def _read_language(
        self, source: Path, language: str, log: BuildLog
    ) -> tuple[pd.DataFrame, list[int], int, list[str]]:
        paths = {subtask: source / f"subtask{subtask}" / "train" / f"{language}.csv" for subtask in SUBTASK_COLUMNS}
        present = {subtask: path for subtask, path in paths.items() if path.is_file()}
        missing = [subtask for subtask in SUBTASK_COLUMNS if subtask not in present]
        parsed = {subtask: self._read_subtask(path, subtask, log) for subtask, path in present.items()}
        base = parsed[1]
        # An id only in some subtask files (after malformed rows were dropped in lenient mode) is an error.
        all_ids = set().union(*parsed.values())

        def first_seen(identifier: str) -> tuple[int, int, str]:
            return min((parsed[s][identifier][0], s, identifier) for s in parsed if identifier in parsed[s])

        misaligned = [i for i in all_ids if not all(i in rows for rows in parsed.values())]
        for identifier in sorted(misaligned, key=first_seen):
            holders = [subtask for subtask in parsed if identifier in parsed[subtask]]
            found = holders[0]
            lacking = [subtask for subtask in parsed if subtask not in holders]
            log.bad_row(
                present[found],
                parsed[found][identifier][0],
                "id missing from another subtask",
                f"{identifier} is not in {', '.join(str(present[s]) for s in lacking)}",
            )
            for subtask in holders:
                del parsed[subtask][identifier]
        ids = list(base)
        mismatches = len({i for s in parsed if s != 1 for i in ids if parsed[s][i][1] != base[i][1]})
        frame = pd.DataFrame(
            {
                "id": ids,
                "text": [base[i][1] for i in ids],
                "language": language,
                "polarization": [1 if base[i][2] else 0 for i in ids],
                "polarization_type": [parsed[2][i][2] for i in ids] if 2 in parsed else [None] * len(ids),
                "manifestation": [parsed[3][i][2] for i in ids] if 3 in parsed else [None] * len(ids),
            }
        )
        files = [str(path.relative_to(source)) for path in present.values()]
        return frame, missing, mismatches, files
