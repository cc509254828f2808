"""Load a built dataset (a local folder written by `data_scripts`, or its Hub repository) with `datasets`.

datasets 5.2 keys the Arrow cache of a local folder whose README.md declares `configs:` by the folder's name and
the config only: after a rebuild (or for another folder of the same name) `load_dataset` silently returns the old
rows. A local folder therefore gets a cache directory keyed by its files' paths, sizes and modification times:
unchanged folders reuse their cache, changed ones never see a stale one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import datasets
from huggingface_hub import DatasetCard
from huggingface_hub.repocard import metadata_load


def folder_fingerprint(folder: str | os.PathLike) -> str:
    """A hash of every file's relative path, size and modification time under `folder`."""
    folder = Path(folder).resolve()
    digest = hashlib.sha256(str(folder).encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def load_built_dataset(name_or_path: str | os.PathLike, config: str | None = None, **kwargs):
    """`datasets.load_dataset(name_or_path, config, **kwargs)`, never reading a stale cache of a local folder."""
    if Path(name_or_path).is_dir() and "cache_dir" not in kwargs:
        kwargs["cache_dir"] = str(Path(datasets.config.HF_DATASETS_CACHE) / "local" / folder_fingerprint(name_or_path))
    return datasets.load_dataset(str(name_or_path), config, **kwargs)


def dataset_card_metadata(name_or_path: str | os.PathLike, revision: str | None = None) -> dict:
    """The YAML metadata of a built dataset's card (`license`, `license_name`, `redistributable`, ...): the local
    folder's README.md, or the Hub repository's. {} when there is no card or it cannot be read (offline)."""
    folder = Path(name_or_path)
    if folder.is_dir():
        card = folder / "README.md"
        try:
            return (metadata_load(card) or {}) if card.is_file() else {}
        except Exception:  # noqa: BLE001 - a card whose YAML does not parse carries no usable metadata
            return {}
    try:
        return DatasetCard.load(str(name_or_path), revision=revision).data.to_dict()
    except Exception:  # noqa: BLE001 - offline, missing card, or not a Hub id
        return {}
