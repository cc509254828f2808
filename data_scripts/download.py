"""`--download`: fetch a corpus's official files over HTTP(S) into its source folder.

The base URL of every builder can be replaced, with `--base-url` or the environment variable
`DATA_SCRIPTS_<NAME>_BASE_URL` (e.g. `DATA_SCRIPTS_GOEMOTIONS_BASE_URL`), to use a mirror or a local server.
Each file is written to a temporary name and renamed when complete; archives are unpacked into a temporary
folder and moved into place, so an interrupted download is simply fetched again next time.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

USER_AGENT = "mbert-tiny-hub-data-scripts/1.0"
TIMEOUT_S = 60


class DownloadError(RuntimeError):
    """A file could not be fetched; the message names the URL, the reason and what to do instead."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: `url_path` relative to the base URL, saved as `target` in the source folder.

    With `extract`, the file is a .zip / .tar.gz archive unpacked into the source folder; `target` is then a
    path the archive creates (e.g. `aclImdb`), whose presence means the download already happened.
    """

    url_path: str
    target: str
    extract: bool = False


def base_url_for(name: str, default: str | None, override: str | None = None) -> str | None:
    return override or os.environ.get(f"DATA_SCRIPTS_{name.upper()}_BASE_URL") or default


def _fetch(url: str, destination: Path) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _safe_members(names: list[str], archive: Path) -> None:
    for name in names:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts:
            raise DownloadError(f"{archive}: refusing to unpack {name!r}, a path outside the target folder")


def _extract(archive: Path, into: Path) -> None:
    staging = Path(tempfile.mkdtemp(dir=into, prefix=".unpack-"))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as bundle:
                _safe_members(bundle.namelist(), archive)
                bundle.extractall(staging)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as bundle:
                _safe_members(bundle.getnames(), archive)
                bundle.extractall(staging, filter="data")
        else:
            raise DownloadError(f"{archive} is neither a zip nor a tar archive; delete it and download again")
        for entry in staging.iterdir():
            target = into / entry.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def download(name: str, files: list[RemoteFile], source: Path, base_url: str) -> list[str]:
    """Fetch `files` from `base_url` into `source` (skipping those already there); the URLs fetched."""
    fetched = []
    source.mkdir(parents=True, exist_ok=True)
    for remote in files:
        target = source / remote.target
        if target.exists():
            continue
        url = f"{base_url.rstrip('/')}/{remote.url_path.lstrip('/')}"
        destination = source / PurePosixPath(remote.url_path).name if remote.extract else target
        try:
            _fetch(url, destination)
        except urllib.error.HTTPError as error:
            raise DownloadError(
                f"{name}: downloading {url} failed with HTTP {error.code} {error.reason}. If the file moved, set "
                f"DATA_SCRIPTS_{name.upper()}_BASE_URL (or --base-url) to a mirror, or put {remote.target} into "
                f"{source} by hand."
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise DownloadError(
                f"{name}: cannot download {url} ({reason}). Without network access, copy the official files into "
                f"{source} by hand (see the builder's --help) and build without --download."
            ) from None
        if remote.extract:
            try:
                _extract(destination, source)
            finally:
                destination.unlink(missing_ok=True)
            if not target.exists():
                raise DownloadError(f"{name}: {url} did not contain {remote.target}; is the base URL right?")
        fetched.append(url)
    return fetched
