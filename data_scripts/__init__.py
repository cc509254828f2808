"""Dataset builders: raw corpora -> typed `datasets` Parquet folders with a dataset card, ready for the Hub.

One module per corpus, one registry (`BUILDERS`), one entry point:

    python -m data_scripts list
    python -m data_scripts build polar --source ../shared/data/polar_semeval2026 --out data/polar

or from Python: `data_scripts.build("polar", source=..., out=...)`. The folder loads with
`datasets.load_dataset(out, config)` and pushes to the Hub as it is.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .builder import SPLITS, Builder, BuildLog, DataFormatError, DuplicateReport, OptionError, SourceNotFoundError
from .card import render_card
from .download import DownloadError, base_url_for
from .download import download as fetch_files
from .loading import dataset_card_metadata, load_built_dataset
from .writer import OutputExistsError, OutputNotWritableError, check_destination, to_arrow, write_dataset

# The registry: builder name -> "module:class". Adding a corpus is one module and one line here.
BUILDERS: dict[str, str] = {
    "goemotions": "goemotions:GoEmotions",
    "brighter": "brighter:Brighter",
    "xed": "xed:Xed",
    "polar": "polar:Polar",
    "umsab": "umsab:Umsab",
    "imdb": "imdb:Imdb",
    "ag_news": "ag_news:AgNews",
    "movielens_100k": "movielens:MovieLens100K",
    "movielens_1m": "movielens:MovieLens1M",
    "movielens_1m_sasrec": "movielens:MovieLens1MSasrec",
}

__all__ = [
    "BUILDERS",
    "BuildLog",
    "BuildResult",
    "Builder",
    "DataFormatError",
    "DownloadError",
    "DuplicateReport",
    "OptionError",
    "OutputExistsError",
    "OutputNotWritableError",
    "SourceNotFoundError",
    "build",
    "get_builder",
    "dataset_card_metadata",
    "load_built_dataset",
    "options_parser",
]


def get_builder(name: str) -> Builder:
    """The registered builder called `name`."""
    if name not in BUILDERS:
        raise KeyError(f"no dataset builder called {name!r}; the builders are: {', '.join(BUILDERS)}")
    module, cls = BUILDERS[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()


def options_parser(builder: Builder, parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """An argument parser holding the builder's own options (the CLI adds --source, --out, ...)."""
    parser = parser or argparse.ArgumentParser(prog=builder.name, add_help=False)
    builder.add_arguments(parser)
    return parser


def _option_actions(builder: Builder) -> list[argparse.Action]:
    return [action for action in options_parser(builder)._actions if action.dest != "help"]


def resolve_options(builder: Builder, options: dict[str, Any]) -> argparse.Namespace:
    """The builder's option defaults updated with `options`; unknown names are an error listing the known ones."""
    actions = _option_actions(builder)
    known = {action.dest: action for action in actions}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(
            f"{builder.name} has no option {', '.join(unknown)}; its options are: {', '.join(sorted(known)) or 'none'}"
        )
    resolved = argparse.Namespace(**{dest: action.default for dest, action in known.items()})
    for dest, value in options.items():
        action = known[dest]
        if isinstance(value, str) and action.type is not None and not isinstance(action.default, str):
            value = action.type(value)
        if action.choices is not None and value not in action.choices:
            raise OptionError(f"{builder.name}: {dest} must be one of {list(action.choices)}, got {value!r}")
        setattr(resolved, dest, value)
    return resolved


def _command_line(builder: Builder, source: Path, out: Path, lenient: bool, options: argparse.Namespace) -> str:
    words = ["python", "-m", "data_scripts", "build", builder.name, "--source", str(source), "--out", str(out)]
    for action in _option_actions(builder):
        value = getattr(options, action.dest)
        if value == action.default:
            continue
        flag = action.option_strings[-1]
        if action.nargs == 0:  # a flag (store_true / store_false)
            words.append(flag)
        else:
            words += [flag, ",".join(value) if isinstance(value, (list, tuple)) else str(value)]
    if lenient:
        words.append("--lenient")
    return shlex.join(words)


@dataclass
class BuildResult:
    """What a build wrote: rows per config and split, duplicates, dropped rows; `str()` is the CLI summary."""

    name: str
    out: Path
    rows: dict[str, dict[str, int]]
    duplicates: DuplicateReport | None
    dropped: dict[tuple[str, str], int]
    seconds: float
    dropped_examples: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    summary_lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        splits = [split for split in SPLITS if any(split in r for r in self.rows.values())]
        width = max(len(config) for config in self.rows)
        lines = [f"Built {self.name} -> {self.out} in {self.seconds:.1f} s"]
        lines += [f"  downloaded {url}" for url in self.downloaded]
        lines.append("  " + "config".ljust(width) + "".join(f"{split:>12}" for split in splits))
        for config, counts in self.rows.items():
            cells = (f"{counts[split]:>12,}" if split in counts else " " * 12 for split in splits)
            lines.append("  " + config.ljust(width) + "".join(cells))
        if self.duplicates is not None:
            d = self.duplicates
            lines.append(
                "  duplicate texts (whitespace-normalised): kept within a split: "
                + ", ".join(f"{split} {d.within_split.get(split, 0):,}" for split in splits)
                + " (with other labels: "
                + ", ".join(f"{split} {d.conflicting_labels.get(split, 0):,}" for split in splits)
                + "); removed because the text is in a later split: "
                + ", ".join(f"{split} {d.dropped_across_splits.get(split, 0):,}" for split in splits)
            )
        if self.dropped:
            total = sum(self.dropped.values())
            detail = "; ".join(
                f"{file}: {problem} x{count:,}" for (file, problem), count in sorted(self.dropped.items())
            )
            lines.append(f"  malformed rows dropped (--lenient): {total:,} ({detail})")
            lines += [f"    {example}" for example in self.dropped_examples[:5]]
        lines += [f"  {line}" for line in self.summary_lines]
        return "\n".join(lines)


def build(
    name: str,
    source: str | Path | None = None,
    out: str | Path | None = None,
    *,
    download: bool = False,
    base_url: str | None = None,
    lenient: bool = False,
    **options: Any,
) -> BuildResult:
    """Build dataset `name` from the raw files in `source` into `out` (default `data/<name>`).

    `download` fetches the official files into `source` (default `data/raw/<name>`) first; `base_url`
    (or `DATA_SCRIPTS_<NAME>_BASE_URL`) replaces the official location. `lenient` drops and counts malformed
    rows instead of stopping at the first. Other keyword arguments are the builder's options (see
    `python -m data_scripts build NAME --help`).
    """
    started = time.perf_counter()
    builder = get_builder(name)
    resolved = resolve_options(builder, options)
    out = Path(out) if out is not None else Path("data") / name
    check_destination(out)

    fetched: list[str] = []
    if download:
        source = Path(source) if source is not None else Path("data") / "raw" / name
        if builder.download_base_url is None:
            raise DownloadError(f"{name}: no public download. {builder.no_download_reason}")
        url = base_url_for(name, builder.download_base_url, base_url)
        fetched = fetch_files(name, builder.remote_files(resolved), source, url)
    elif source is None:
        raise SourceNotFoundError(
            f"{name}: give the folder with the raw files (--source DIR) or pass --download. {builder.source_hint}"
        )
    source = Path(source)
    if not source.is_dir():
        raise SourceNotFoundError(f"{name}: source folder {source} does not exist. {builder.source_hint}")

    log = BuildLog(lenient=lenient)
    built = builder.build(source, resolved, log)
    tables = {
        config: {split: to_arrow(frame, built.features[config]) for split, frame in splits.items()}
        for config, splits in built.configs.items()
    }
    sizes = {
        config: {split: (table.num_rows, table.nbytes) for split, table in splits.items()}
        for config, splits in tables.items()
    }
    command = _command_line(builder, source, out, lenient, resolved)
    card = render_card(builder, built, log, sizes, command, _jsonable(vars(resolved)))
    write_dataset(out, tables, card)
    return BuildResult(
        name=name,
        out=out,
        rows={config: {split: rows for split, (rows, _) in splits.items()} for config, splits in sizes.items()},
        duplicates=built.duplicates,
        dropped=dict(log.dropped),
        seconds=time.perf_counter() - started,
        dropped_examples=list(log.examples),
        downloaded=fetched,
        summary_lines=built.summary_lines,
    )


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in options.items()}
