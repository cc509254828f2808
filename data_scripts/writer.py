"""Write a built dataset as one Parquet file per config and split plus its card, atomically.

Everything is written into a temporary folder next to the destination and renamed into place only when
complete: an interrupted or failed build leaves no half-written dataset, and a previous good build stays
intact until the new one replaces it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from datasets import Features
from huggingface_hub import DatasetCard

from .card import MARKER_TAG, parquet_path


class OutputExistsError(FileExistsError):
    """The destination exists and was not written by data_scripts, so it is not replaced."""


class OutputNotWritableError(PermissionError):
    """The destination's folder cannot be written to."""


def to_arrow(frame: pd.DataFrame, features: Features) -> pa.Table:
    """The rows as an Arrow table typed by `features` (the schema metadata carries them for `datasets`)."""
    missing = set(features) - set(frame.columns)
    if missing:
        raise ValueError(f"rows lack the columns {sorted(missing)} that the features declare")
    schema = features.arrow_schema
    table = pa.Table.from_pandas(frame[list(features)], schema=schema, preserve_index=False)
    return table.replace_schema_metadata(schema.metadata)


def was_written_by_data_scripts(folder: Path) -> bool:
    """Whether `folder/README.md` is a card written by a build (its YAML has our tag and `data_scripts`)."""
    card = folder / "README.md"
    if not card.is_file():
        return False
    try:
        text = card.read_text(encoding="utf-8")
        if not text.startswith("---\n") or "\n---" not in text[4:]:
            return False
        data = yaml.load(text[4 : text.index("\n---", 4)], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and MARKER_TAG in (data.get("tags") or []) and "data_scripts" in data


def files_of_build(folder: Path) -> set[str]:
    """What a build wrote into `folder`: its card and the data files the card's `configs:` block names."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    data = yaml.load(text[4 : text.index("\n---", 4)], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    files = {"README.md"}
    for entry in data.get("configs") or []:
        for item in entry.get("data_files") or []:
            files.add(item["path"] if isinstance(item, dict) else str(item))
    return files


def check_destination(out: Path) -> None:
    """Refuse to replace a non-empty folder that a data_scripts build did not write, or a build folder that holds
    files the build did not write (someone's notes, predictions, a git checkout): a rebuild would delete them."""
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or was_written_by_data_scripts(out))):
        raise OutputExistsError(
            f"{out} exists and was not written by data_scripts (no README.md dataset card from a build); "
            "choose another --out or remove it yourself."
        )
    if out.is_dir() and any(out.iterdir()):
        expected = files_of_build(out)
        added = sorted(
            p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() or p.is_symlink()
        )
        added = [name for name in added if name not in expected]
        if added:
            shown = ", ".join(added[:5]) + (f" and {len(added) - 5} more" if len(added) > 5 else "")
            raise OutputExistsError(
                f"{out} holds files the earlier build did not write ({shown}); a rebuild replaces the whole folder "
                "and would delete them. Move them out of it, or choose another --out."
            )


def _remove_leftovers(out: Path) -> None:
    """Temporary folders of builds of `out` that were killed (their process is gone) are removed."""
    if not out.parent.is_dir():
        return
    for folder in out.parent.glob(f".{out.name}.*-*"):
        kind, _, rest = folder.name[len(out.name) + 2 :].partition("-")
        if kind not in ("partial", "previous") or not folder.is_dir():
            continue
        pid = rest.split("-", 1)[0]
        if pid.isdigit() and _process_alive(int(pid)):
            continue  # another build of the same folder is running
        shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_dataset(
    out: Path,
    tables: dict[str, dict[str, pa.Table]],
    card: DatasetCard,
) -> None:
    """Write `tables` (config -> split -> table) and the card into `out`, replacing a previous build atomically."""
    out = Path(out)
    check_destination(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-{os.getpid()}-"))
    except PermissionError as error:
        raise OutputNotWritableError(
            f"Cannot write the dataset next to {out}: {error.filename or out.parent} is not writable "
            f"({error.strerror}). Choose an --out in a folder you can write to."
        ) from None
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the dataset folder should not be
        for config, splits in tables.items():
            for split, table in splits.items():
                path = staging / parquet_path(config, split)
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, path)
        card.save(staging / "README.md")
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.replace(staging, out)
        return
    previous = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.previous-{os.getpid()}-"))
    os.replace(out, previous / "dataset")
    try:
        os.replace(staging, out)
    except BaseException:
        os.replace(previous / "dataset", out)
        raise
    finally:
        shutil.rmtree(previous, ignore_errors=True)
