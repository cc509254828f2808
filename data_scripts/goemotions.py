"""GoEmotions (Demszky et al., ACL 2020): 58k Reddit comments, 27 emotions + neutral, multi-label.

Reads the official `goemotions/data` files: `{train,dev,test}.tsv` (no header; text, comma-separated emotion
ids, comment id), `emotions.txt` (the label names, in id order) and `ekman_mapping.json`.
Configs: `raw` (multi-label), `single_label` (rows with exactly one label, as in the MiniBERT study) and
`ekman` (Ekman's 6 + neutral through the official mapping, multi-label).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pandas as pd
from datasets import ClassLabel, Features, Sequence, Value

from .builder import Builder, BuildLog, BuiltDataset, DataFormatError
from .download import RemoteFile
from .readers import iter_lines, iter_records
from .splits import make_splits

SPLIT_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}
NEUTRAL = "neutral"


class GoEmotions(Builder):
    name = "goemotions"
    pretty_name = "GoEmotions"
    description = (
        "58k English Reddit comments labelled with 27 emotion categories or neutral (Demszky et al., ACL 2020), "
        "multi-label, in the official train / dev / test split of the 'simplified' release."
    )
    homepage = "https://github.com/google-research/google-research/tree/master/goemotions"
    citation = """@inproceedings{demszky-etal-2020-goemotions,
  title = {{GoEmotions}: A Dataset of Fine-Grained Emotions},
  author = {Demszky, Dorottya and Movshovitz-Attias, Dana and Ko, Jeongwoo and Cowen, Alan and Nemade, Gaurav and Ravi, Sujith},
  booktitle = {Proceedings of the 58th Annual Meeting of the Association for Computational Linguistics},
  year = {2020},
  pages = {4040--4054},
  url = {https://aclanthology.org/2020.acl-main.372}
}"""
    license = "apache-2.0"
    license_text = (
        "Apache License 2.0 (the licence of the google-research/google-research repository). The texts are "
        "Reddit comments with names masked as `[NAME]` and religions as `[RELIGION]`."
    )
    task_ids = ["multi-label-classification", "multi-class-classification"]
    tags = ["emotion", "reddit"]
    download_base_url = "https://raw.githubusercontent.com/google-research/google-research/master/goemotions/data"
    source_hint = (
        "--source must hold the official goemotions/data files: train.tsv, dev.tsv, test.tsv, emotions.txt and "
        "ekman_mapping.json."
    )

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        names = [*SPLIT_FILES.values(), "emotions.txt", "ekman_mapping.json"]
        return [RemoteFile(name, name) for name in names]

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        self.require(source, *SPLIT_FILES.values(), "emotions.txt", "ekman_mapping.json")
        emotions = self._read_emotions(source / "emotions.txt", log)
        ekman_names, ekman_of_emotion = self._read_ekman_mapping(source / "ekman_mapping.json", emotions)
        seen_ids: dict[str, str] = {}
        official = {
            split: self._read_split(source / file, emotions, log, seen_ids) for split, file in SPLIT_FILES.items()
        }
        splits, duplicates, how = make_splits(official, ["labels"])

        raw = {split: frame[["id", "text", "labels"]] for split, frame in splits.items()}
        single_label = {}
        for split, frame in splits.items():
            one = frame[frame["labels"].map(len) == 1]
            single_label[split] = pd.DataFrame(
                {"id": one["id"], "text": one["text"], "label": one["labels"].str[0]}
            ).reset_index(drop=True)
        ekman = {
            split: frame.assign(
                labels=frame["labels"].map(lambda ids: sorted({ekman_of_emotion[i] for i in ids}))
            )[["id", "text", "labels"]]
            for split, frame in splits.items()
        }
        base = {"id": Value("string"), "text": Value("string")}
        features = {
            "raw": Features({**base, "labels": Sequence(ClassLabel(names=emotions))}),
            "single_label": Features({**base, "label": ClassLabel(names=emotions)}),
            "ekman": Features({**base, "labels": Sequence(ClassLabel(names=ekman_names))}),
        }
        members = {
            name: [emotions[i] for i, e in sorted(ekman_of_emotion.items()) if e == index]
            for index, name in enumerate(ekman_names)
        }
        kept = {split: len(frame) for split, frame in single_label.items()}
        total = {split: len(frame) for split, frame in raw.items()}
        return BuiltDataset(
            configs={"raw": raw, "single_label": single_label, "ekman": ekman},
            features=features,
            field_descriptions={
                "id": "Reddit comment id",
                "text": "the comment",
                "labels": "emotion ids (`raw`: 27 emotions + neutral; `ekman`: Ekman's 6 + neutral)",
                "label": "the comment's only emotion (`single_label`)",
            },
            config_descriptions={
                "raw": f"multi-label, {len(emotions)} labels ({len(emotions) - 1} emotions + neutral)",
                "single_label": "rows with exactly one label (MiniBERT study), single-label",
                "ekman": "multi-label over Ekman's 6 emotions + neutral (official mapping)",
            },
            label_columns=["labels"],
            splits_description=how,
            duplicates=duplicates,
            notes=[
                "`single_label` keeps the rows annotated with exactly one label: "
                + ", ".join(f"{kept[s]:,} of {total[s]:,} in `{s}`" for s in kept)
                + ".",
                "`ekman` maps each emotion to its Ekman category through `ekman_mapping.json` (neutral stays "
                "neutral); a row's labels are the union of its emotions' categories.",
            ],
            metadata={"ekman_mapping": members},
            source_files=[*SPLIT_FILES.values(), "emotions.txt", "ekman_mapping.json"],
        )

    @staticmethod
    def _read_emotions(path: Path, log: BuildLog) -> list[str]:
        names = [text.strip() for _, text in iter_lines(path, log) if text.strip()]
        if len(set(names)) != len(names) or NEUTRAL not in names:
            raise DataFormatError(
                f"{path}: expected one emotion name per line, unique, including {NEUTRAL!r}; got {names}"
            )
        return names

    @staticmethod
    def _read_ekman_mapping(path: Path, emotions: list[str]) -> tuple[list[str], dict[int, int]]:
        try:
            mapping = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DataFormatError(
                f"{path}: not valid JSON ({error}); expected {{ekman_name: [emotion, ...]}}"
            ) from None
        if not isinstance(mapping, dict) or not all(isinstance(v, list) for v in mapping.values()):
            raise DataFormatError(f"{path}: expected a JSON object {{ekman_name: [emotion, ...]}}")
        ekman_names = [*mapping, NEUTRAL]
        ekman_of_emotion = {emotions.index(NEUTRAL): len(mapping)}
        for index, (category, members) in enumerate(mapping.items()):
            for emotion in members:
                if emotion not in emotions:
                    raise DataFormatError(f"{path}: {category!r} lists {emotion!r}, which is not in emotions.txt")
                ekman_of_emotion[emotions.index(emotion)] = index
        unmapped = [emotions[i] for i in range(len(emotions)) if i not in ekman_of_emotion]
        if unmapped:
            raise DataFormatError(f"{path}: no Ekman category for {', '.join(unmapped)}")
        return ekman_names, ekman_of_emotion

    @staticmethod
    def _read_split(path: Path, emotions: list[str], log: BuildLog, seen_ids: dict[str, str]) -> pd.DataFrame:
        ids, texts, labels = [], [], []
        for line, fields in iter_records(path, log, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(fields) != 3:
                detail = f"{len(fields)} fields, expected 3: text, emotion ids, id"
                log.bad_row(path, line, "wrong column count", detail)
                continue
            text, emotion_ids, comment_id = fields
            comment_id = comment_id.strip()
            if not comment_id:
                log.bad_row(path, line, "empty id")
                continue
            if comment_id in seen_ids:
                log.bad_row(path, line, "duplicate id", f"{comment_id} is also at {seen_ids[comment_id]}")
                continue
            if not text.strip():
                log.bad_row(path, line, "empty text")
                continue
            try:
                row_labels = sorted({int(value) for value in emotion_ids.split(",")})
            except ValueError:
                detail = f"{emotion_ids!r} is not a comma-separated list of emotion ids"
                log.bad_row(path, line, "unknown label", detail)
                continue
            unknown = [value for value in row_labels if not 0 <= value < len(emotions)]
            if unknown:
                detail = f"emotion id {unknown[0]}: emotions.txt has 0..{len(emotions) - 1}"
                log.bad_row(path, line, "unknown label", detail)
                continue
            seen_ids[comment_id] = f"{path.name}:{line}"
            ids.append(comment_id)
            texts.append(text)
            labels.append(row_labels)
        if not ids:
            raise DataFormatError(
                f"{path}: the file holds no usable rows; expected one comment per line (text, emotion ids, id). "
                "Download it again (--download) or check --source."
            )
        return pd.DataFrame({"id": ids, "text": texts, "labels": labels})
