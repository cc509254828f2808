"""Writing files so that readers never see half of one: `atomic_write`, the project's one stage-and-rename helper.
Standard library only, so any module can use it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary file (or, with `directory`, folder) next to `path`; when the block ends without an error it
    replaces `path` in one rename (an old folder is removed just before), otherwise it is deleted. Readers see the old
    file or the complete new one, never a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Named by process, created with the usual permissions (tempfile's would be private to this user).
    temporary = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")  # the suffix tells writers the format
    if directory:
        if temporary.exists():
            shutil.rmtree(temporary)
        temporary.mkdir()
    try:
        yield temporary
        if directory and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(temporary, path)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)
