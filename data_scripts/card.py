"""The dataset card (`README.md`): Hub metadata for `datasets.load_dataset` and the Hub, and a body for people.

The YAML carries `configs` (pointing at the Parquet files), `dataset_info` (features and split sizes),
`license` as the source states it, `redistributable` (the publishing code refuses public pushes when it is
false), and a `data_scripts` block with how the build was made (options, duplicates, dropped rows).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from datasets import ClassLabel, DatasetInfo, Features, List, Sequence, SplitDict, SplitInfo, Value
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard, DatasetCardData

from .builder import SPLITS, Builder, BuildLog, BuiltDataset

MARKER_TAG = "mbert-tiny-hub"


def parquet_path(config: str, split: str) -> str:
    return f"{config}/{split}-00000-of-00001.parquet"


def size_category(rows: int) -> str:
    for limit, name in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]:
        if rows < limit:
            return name
    return "1M<n<10M" if rows < 10_000_000 else "10M<n<100M"


def describe_feature(feature: Any) -> str:
    if isinstance(feature, ClassLabel):
        return f"ClassLabel ({feature.num_classes}: {', '.join(feature.names)})"
    if isinstance(feature, (List, Sequence)):
        return f"list of {describe_feature(feature.feature)}"
    if isinstance(feature, Value):
        return feature.dtype
    return type(feature).__name__


def _table(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(f"{cell:,}" if isinstance(cell, int) else str(cell) for cell in row) + " |")
    return "\n".join(lines)


def _label_names(feature: Any) -> list[str] | None:
    if isinstance(feature, ClassLabel):
        return feature.names
    if isinstance(feature, (List, Sequence)) and isinstance(feature.feature, ClassLabel):
        return feature.feature.names
    return None


def label_distribution(frame: pd.DataFrame, column: str, feature: Any) -> dict[str, int]:
    """Rows per label name (multi-label: rows carrying the label; plus rows with none, and unannotated rows)."""
    names = _label_names(feature)
    values = frame[column]
    if isinstance(feature, ClassLabel):
        counts = values.value_counts()
        return {name: int(counts.get(index, 0)) for index, name in enumerate(names)}
    present = values.dropna()
    exploded = present.explode().dropna().astype(int).value_counts()
    result = {name: int(exploded.get(index, 0)) for index, name in enumerate(names)}
    result["(no label)"] = int((present.map(len) == 0).sum())
    if len(present) < len(values):
        result["(not annotated)"] = int(len(values) - len(present))
    return result


def _dataset_info_yaml(built: BuiltDataset, sizes: dict[str, dict[str, tuple[int, int]]]) -> list[dict] | dict:
    """`dataset_info` as `datasets` writes it: a list with `config_name`s, or one mapping for a lone config."""
    infos = DatasetInfosDict()
    for config in built.configs:
        splits = SplitDict()
        for split, (rows, nbytes) in sizes[config].items():
            splits.add(SplitInfo(name=split, num_bytes=nbytes, num_examples=rows))
        infos[config] = DatasetInfo(features=built.features[config], splits=splits)
    card_data: dict[str, Any] = {}
    infos.to_dataset_card_data(card_data)
    return card_data["dataset_info"]


def render_card(
    builder: Builder,
    built: BuiltDataset,
    log: BuildLog,
    sizes: dict[str, dict[str, tuple[int, int]]],
    command: str,
    options: dict[str, Any],
) -> DatasetCard:
    """The card for a built dataset; `sizes` maps config -> split -> (rows, bytes in memory)."""
    default = built.default_config
    total_rows = sum(rows for rows, _ in sizes[default].values())
    configs_yaml = []
    for config, splits in built.configs.items():
        entry: dict[str, Any] = {
            "config_name": config,
            "data_files": [{"split": split, "path": parquet_path(config, split)} for split in splits],
        }
        if config == default:
            entry["default"] = True
        configs_yaml.append(entry)

    build_metadata: dict[str, Any] = {"builder": builder.name, "command": command, "options": options}
    if built.duplicates is not None:
        build_metadata["duplicates"] = built.duplicates.as_metadata()
    build_metadata["dropped_malformed_rows"] = log.dropped_total
    build_metadata.update(built.metadata)

    languages = builder.card_languages(built)
    card_data = DatasetCardData(
        pretty_name=builder.pretty_name,
        license=builder.license,
        language=languages,
        multilinguality="multilingual" if len(languages) > 1 else "monolingual",
        size_categories=[size_category(total_rows)],
        task_categories=builder.task_categories,
        task_ids=builder.task_ids or None,
        tags=sorted({MARKER_TAG, *builder.tags}),
        **({"license_name": builder.license_name} if builder.license_name else {}),
        **({"license_link": builder.license_link} if builder.license_link else {}),
        redistributable=builder.redistributable,
        configs=configs_yaml,
        dataset_info=_dataset_info_yaml(built, sizes),
        data_scripts=build_metadata,
    )
    body = _body(builder, built, log, sizes, command)
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")


def _body(
    builder: Builder,
    built: BuiltDataset,
    log: BuildLog,
    sizes: dict[str, dict[str, tuple[int, int]]],
    command: str,
) -> str:
    default = built.default_config
    features: Features = built.features[default]
    parts = [f"# {builder.pretty_name}", builder.description]
    if not builder.redistributable:
        parts.append(
            f"> **Licence: no redistribution.** {builder.license_text} Keep this dataset private: it must not be "
            "pushed to a public repository."
        )
    configs = list(built.configs)
    example = f'load_dataset("path/to/this/folder_or_org/name", "{default}")'
    parts += ["## Loading", f"```python\nfrom datasets import load_dataset\n\ndataset = {example}\n```"]

    split_names = [split for split in SPLITS if any(split in sizes[config] for config in configs)]
    other_splits = sorted({split for config in configs for split in sizes[config]} - set(split_names))
    split_names += other_splits
    rows = []
    for config in configs:
        rows.append(
            [f"`{config}`", built.config_descriptions.get(config, "")]
            + [sizes[config][split][0] if split in sizes[config] else "" for split in split_names]
        )
    parts += ["## Configurations and splits", _table(["config", "contents", *split_names], rows)]

    field_rows = []
    for config in configs:
        for name, feature in built.features[config].items():
            if any(row[0] == f"`{name}`" for row in field_rows):
                continue
            field_rows.append([f"`{name}`", describe_feature(feature), built.field_descriptions.get(name, "")])
    parts += ["## Data fields", _table(["field", "type", "description"], field_rows)]

    parts += ["## Splits", built.splits_description or "The splits of the source."]

    for column in built.label_columns:
        if column not in features or _label_names(features[column]) is None:
            continue
        per_split = {
            split: label_distribution(frame, column, features[column])
            for split, frame in built.configs[default].items()
        }
        names = list(next(iter(per_split.values())))
        table = _table(
            ["label", *per_split], ([name, *(per_split[split][name] for split in per_split)] for name in names)
        )
        parts += [f"## Label distribution: `{column}` (config `{default}`)", table]

    if built.languages and "language" in features and not set(built.languages) <= set(built.configs):
        frames = built.configs[default]
        table = _table(
            ["language", *frames],
            (
                [f"`{language}`", *(int((frame["language"] == language).sum()) for frame in frames.values())]
                for language in built.languages
            ),
        )
        parts += ["## Languages", table]

    if built.duplicates is not None:
        report = built.duplicates
        dup_rows = [
            [
                f"`{split}`",
                report.within_split.get(split, 0),
                report.conflicting_labels.get(split, 0),
                report.dropped_across_splits.get(split, 0),
            ]
            for split in built.configs[default]
        ]
        parts += [
            "## Duplicates",
            "Texts are compared after collapsing whitespace. Rows repeating a text of the same split are kept "
            "(and counted); a text is never in two splits: rows repeating a text of a later split (priority "
            f"{', '.join(report.priority)}) were removed.",
            _table(
                [
                    "split",
                    "rows repeating a text of the same split",
                    "of which with other labels",
                    "rows removed (text in a later split)",
                ],
                dup_rows,
            ),
        ]

    if log.dropped:
        parts += [
            "## Malformed rows dropped",
            f"Built with `--lenient`: {log.dropped_total:,} malformed source rows were dropped.",
            _table(
                ["file", "problem", "rows"],
                ([f"`{file}`", problem, count] for (file, problem), count in sorted(log.dropped.items())),
            ),
            "First rows dropped:\n\n" + "\n".join(f"- `{example}`" for example in log.examples),
        ]

    if built.notes:
        parts += ["## Notes", *built.notes]

    source_lines = [f"- Homepage: {builder.homepage}"]
    if builder.download_base_url:
        source_lines.append(f"- Official files (`--download`): {builder.download_base_url}")
    if built.source_files:
        shown = built.source_files if len(built.source_files) <= 12 else [*built.source_files[:12], "..."]
        source_lines.append("- Files read: " + ", ".join(f"`{name}`" for name in shown))
    parts += ["## Source", "\n".join(source_lines)]

    licence = f"`{builder.license}`"
    if builder.license_name:
        licence += f" ({builder.license_name}: {builder.license_link})"
    parts += [
        "## Licence",
        f"{licence}. {builder.license_text}",
        f"Redistributable: **{'yes' if builder.redistributable else 'no'}** (`redistributable: "
        f"{str(builder.redistributable).lower()}` in this card's metadata).",
    ]
    parts += ["## Citation", f"```bibtex\n{builder.citation.strip()}\n```"]
    parts += [
        "## How this dataset was built",
        f"With the `data_scripts` builders of mbert-tiny-hub:\n\n```bash\n{command}\n```",
    ]
    return "\n\n".join(part.strip() for part in parts if part) + "\n"
