"""What every dataset builder shares: the `Builder` base class, what a build returns, and the build log.

A builder reads the original distribution's files from a local folder and returns `BuiltDataset`: for each
config, a `pandas.DataFrame` per split plus the `datasets.Features` that type it. Writing Parquet, the dataset
card and moving the folder into place is the same for every corpus and lives in `writer.py` / `card.py`.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from datasets import Features

from .download import RemoteFile

SPLITS = ("train", "validation", "test")


class DataFormatError(ValueError):
    """A source file does not have its documented format; the message names the file, the line and the fix."""


class OptionError(ValueError):
    """A builder option has an impossible value; the message names the option."""


class SourceNotFoundError(FileNotFoundError):
    """The source folder lacks a file the builder needs; the message says which and how to get it."""


@dataclass
class BuildLog:
    """Malformed rows seen during a build: an error in strict mode, dropped and counted in lenient mode."""

    lenient: bool = False
    dropped: Counter = field(default_factory=Counter)  # (file name, problem) -> rows dropped
    examples: list[str] = field(default_factory=list)  # the first few "file name:line: problem (detail)"

    def bad_row(self, path: Path | str, line: int, problem: str, detail: str = "") -> None:
        """Report a malformed row at 1-based `line` of `path`: raise, or drop and count it when lenient."""
        message = f"{path}:{line}: {problem}" + (f" ({detail})" if detail else "")
        if not self.lenient:
            raise DataFormatError(
                f"{message}. Fix the row in the source file, or pass --lenient (lenient=True) to drop malformed "
                "rows and count them."
            )
        self.dropped[(Path(path).name, problem)] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{Path(path).name}:{line}: {problem}" + (f" ({detail})" if detail else ""))

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


@dataclass
class DuplicateReport:
    """Rows sharing a text (after whitespace normalisation): kept within a split, never across splits."""

    within_split: dict[str, int] = field(default_factory=dict)  # rows repeating an earlier text of the same split
    conflicting_labels: dict[str, int] = field(default_factory=dict)  # of those, rows whose labels differ
    dropped_across_splits: dict[str, int] = field(default_factory=dict)  # rows removed: the text is in a later split
    priority: tuple[str, ...] = ("test", "validation", "train")

    def as_metadata(self) -> dict[str, Any]:
        return {
            "normalisation": "whitespace runs collapsed to one space, ends stripped; exact match otherwise",
            "within_split": dict(self.within_split),
            "within_split_conflicting_labels": dict(self.conflicting_labels),
            "dropped_across_splits": dict(self.dropped_across_splits),
        }


@dataclass
class BuiltDataset:
    """The result of `Builder.build`: every config's splits, typed by `features`, and what the card should say."""

    configs: dict[str, dict[str, pd.DataFrame]]  # config -> split -> rows; the first config is the default
    features: dict[str, Features]  # config -> features
    field_descriptions: dict[str, str]
    config_descriptions: dict[str, str] = field(default_factory=dict)
    label_columns: list[str] = field(default_factory=list)  # columns whose distribution the card tabulates
    languages: list[str] = field(default_factory=list)  # the source's language codes, when multilingual
    splits_description: str = ""
    duplicates: DuplicateReport | None = None
    notes: list[str] = field(default_factory=list)  # extra Markdown paragraphs for the card
    metadata: dict[str, Any] = field(default_factory=dict)  # extra machine-readable card metadata
    source_files: list[str] = field(default_factory=list)  # what was read, relative to the source folder
    summary_lines: list[str] = field(default_factory=list)  # extra lines for the CLI summary

    @property
    def default_config(self) -> str:
        return next(iter(self.configs))


class Builder:
    """One corpus: its metadata (licence, citation, languages), how to get it, and how to read it.

    Subclasses set the class attributes and implement `build`; `add_arguments` declares corpus options.
    """

    name: ClassVar[str]
    pretty_name: ClassVar[str]
    description: ClassVar[str]  # one Markdown paragraph for the card
    homepage: ClassVar[str]
    citation: ClassVar[str]  # BibTeX
    license: ClassVar[str]  # Hub licence id, or "other" with license_name / license_link
    license_name: ClassVar[str | None] = None
    license_link: ClassVar[str | None] = None
    license_text: ClassVar[str]  # the licence as the source states it, for the card
    redistributable: ClassVar[bool] = True
    task_categories: ClassVar[list[str]] = ["text-classification"]
    task_ids: ClassVar[list[str]] = []
    tags: ClassVar[list[str]] = []
    download_base_url: ClassVar[str | None] = None  # official source; None: no public download
    no_download_reason: ClassVar[str] = ""
    source_hint: ClassVar[str] = ""  # what --source must contain, for error messages

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Corpus-specific command-line options (their defaults are the Python API's defaults too)."""

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        """The files `--download` fetches, relative to the base URL and to the source folder."""
        return []

    def card_languages(self, built: BuiltDataset) -> list[str]:
        """ISO 639-1 (or 639-3) codes for the card's `language` metadata."""
        return ["en"]

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        raise NotImplementedError

    # helpers for subclasses

    def require(self, source: Path, *relative: str) -> list[Path]:
        """The given files of the source folder; a clear error listing the missing ones."""
        missing = [name for name in relative if not (source / name).is_file()]
        if missing:
            raise SourceNotFoundError(
                f"{self.name}: {source} lacks {', '.join(missing)}. {self.source_hint} "
                + (
                    "Pass --download to fetch the official files."
                    if self.download_base_url
                    else self.no_download_reason
                )
            )
        return [source / name for name in relative]


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def add_split_arguments(parser: argparse.ArgumentParser, validation: bool = True, test: bool = True) -> None:
    """--seed and the sizes of the splits a builder carves out of train when the source lacks them."""
    parser.add_argument("--seed", type=int, default=42, help="seed of the stratified split")
    if validation:
        parser.add_argument(
            "--validation-size", type=float, default=0.1, help="share of train that becomes validation"
        )
    if test:
        parser.add_argument("--test-size", type=float, default=0.1, help="share of train that becomes test")


def add_languages_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--languages",
        type=comma_list,
        default=None,
        help="comma-separated language codes to keep (default: every language in the source)",
    )


def select_languages(available: list[str], wanted: list[str] | None, where: Path) -> list[str]:
    """`wanted` (or all of `available`), with a clear error for a language the source lacks."""
    if wanted is None:
        return available
    unknown = [language for language in wanted if language not in available]
    if unknown:
        raise SourceNotFoundError(
            f"{where} has no data for {', '.join(unknown)}; available: {', '.join(available)}"
        )
    return [language for language in available if language in wanted]


def per_language_configs(
    splits: dict[str, pd.DataFrame], languages: list[str], all_name: str = "all"
) -> dict[str, dict[str, pd.DataFrame]]:
    """The `all` config plus one config per language, each the `all` rows of that language (so no leaks either)."""
    configs = {all_name: splits}
    for language in languages:
        configs[language] = {
            split: frame[frame["language"] == language].reset_index(drop=True) for split, frame in splits.items()
        }
    return configs


# Names for the language codes the sources use (ISO 639-1/3 and the sources' own codes), for the cards.
LANGUAGE_NAMES = {
    "afr": "Afrikaans", "amh": "Amharic", "ara": "Arabic", "arb": "Arabic", "arq": "Algerian Arabic",
    "ary": "Moroccan Arabic", "ben": "Bengali", "chn": "Chinese", "deu": "German", "eng": "English",
    "esp": "Spanish", "fas": "Persian", "fra": "French", "hau": "Hausa", "hin": "Hindi", "ibo": "Igbo",
    "ita": "Italian", "khm": "Khmer", "kin": "Kinyarwanda", "mar": "Marathi", "mya": "Burmese", "nep": "Nepali",
    "ori": "Odia", "orm": "Oromo", "pan": "Punjabi", "pcm": "Nigerian Pidgin", "pol": "Polish",
    "por": "Portuguese", "ptbr": "Brazilian Portuguese", "ptmz": "Mozambican Portuguese", "ron": "Romanian",
    "rus": "Russian", "som": "Somali", "spa": "Spanish", "sun": "Sundanese", "swa": "Swahili", "swe": "Swedish",
    "tat": "Tatar", "tel": "Telugu", "tir": "Tigrinya", "tur": "Turkish", "ukr": "Ukrainian", "urd": "Urdu",
    "vmw": "Emakhuwa", "yor": "Yoruba", "zho": "Chinese",
    "ar": "Arabic", "bg": "Bulgarian", "br": "Brazilian Portuguese", "bs": "Bosnian", "cn": "Chinese (cn)",
    "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "gl": "Galician",
    "he": "Hebrew", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "is": "Icelandic", "it": "Italian",
    "ja": "Japanese", "mk": "Macedonian", "ml": "Malayalam", "ms": "Malay", "nl": "Dutch", "no": "Norwegian",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian",
    "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "tw": "Chinese (tw)", "vi": "Vietnamese",
    "zh": "Chinese",
}  # fmt: skip


def language_configs_description(languages: list[str]) -> dict[str, str]:
    return {language: LANGUAGE_NAMES.get(language, language) for language in languages}
