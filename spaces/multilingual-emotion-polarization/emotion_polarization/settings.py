"""What the Space serves and within which limits: `space_config.yaml`, overridden by environment variables.

Only the Space's owner names models (in the YAML file or as `EMOTION_MODEL`, `POLARIZATION_MODEL`,
`POLARIZATION_TYPE_MODEL`, `RECOMMENDER_MODEL`); a visitor never can. A model runs its own code
(`trust_remote_code=True`) only when it is listed under `trust_remote_code` in the YAML file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SPACE_DIR = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = SPACE_DIR / "space_config.yaml"
TASKS = ("emotion", "polarization", "polarization_type", "recommender")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
DEFAULT_LIMITS = {
    "max_characters": 5000,
    "max_csv_rows": 2000,
    "max_file_size_mb": 5,
    "batch_size": 16,
    "concurrency_limit": 2,
    "queue_size": 32,
}


class SettingsError(ValueError):
    """The Space's configuration is wrong; the message names the file or variable and the field."""


@dataclass(frozen=True)
class ModelSource:
    """Where one model comes from: a local folder or a Hub id with an optional revision."""

    name_or_path: str
    revision: str | None = None
    local: bool = False

    @classmethod
    def parse(cls, value: str, where: str, base: Path | None = None) -> "ModelSource":
        """`value` as a folder (relative to `base`, the config file's folder, then to the working directory) or a
        Hub id."""
        value = value.strip()
        for root in ([base] if base else []) + [Path.cwd()]:
            folder = root / os.path.expanduser(value)
            if folder.is_dir():
                return cls(str(folder.resolve()), local=True)
        repo_id, _, revision = value.partition("@")
        if not HUB_ID.match(repo_id):
            raise SettingsError(
                f"{where} = {value!r} is neither an existing folder nor a Hub model id like 'org/name' "
                "(optionally 'org/name@revision'). Fix the path or the id."
            )
        return cls(repo_id, revision or None)

    @property
    def display(self) -> str:
        """What the page shows: the Hub id, or a local folder relative to the working directory (never the path of
        the machine it runs on)."""
        if not self.local:
            return str(self)
        try:
            relative = os.path.relpath(self.name_or_path)
        except ValueError:  # another drive
            relative = None
        # Inside the repository (at most ../../ from the Space's folder): the relative path; elsewhere its name.
        if relative is None or Path(relative).parts[:3] == ("..", "..", ".."):
            return Path(self.name_or_path).name
        return relative

    @property
    def link(self) -> str | None:
        """The model's page on the Hub; None for a local folder."""
        if self.local:
            return None
        from huggingface_hub import constants

        return f"{constants.ENDPOINT.rstrip('/')}/{self.name_or_path}"

    def __str__(self) -> str:
        return self.name_or_path + (f"@{self.revision}" if self.revision else "")


@dataclass(frozen=True)
class SpaceSettings:
    models: dict[str, ModelSource | None]
    trust_remote_code: frozenset[str] = frozenset()
    multi_label_threshold: float = 0.5
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    source: str = "defaults"

    def may_run_remote_code(self, model: ModelSource) -> bool:
        """True only for models the owner listed under `trust_remote_code` (by Hub id or folder)."""
        return model.name_or_path in self.trust_remote_code or str(model) in self.trust_remote_code


def _looks_like_folder(value: str) -> bool:
    return value.startswith((".", "/", "~"))


def _newest_match(pattern: str, base: Path) -> str | None:
    """The last folder (in name order: `make demo`'s UTC timestamps sort by time) matching a glob pattern."""
    for root in (base, Path.cwd()):
        matches = sorted(path for path in root.glob(os.path.expanduser(pattern)) if path.is_dir())
        if matches:
            return str(matches[-1].resolve())
    return None


def resolve_model(value, where: str, base: Path) -> ModelSource | None:
    """A model entry: one Hub id or folder, or a list of candidates of which the first that exists wins (folders
    that are not there yet are skipped, a Hub id always counts; a folder pattern such as `outputs/quickstart-*`
    takes its newest match). None when nothing is there."""
    candidates = value if isinstance(value, list) else [value]
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            raise SettingsError(f"{where}: {candidate!r} is not a Hub id or a folder.")
        candidate = candidate.strip()
        if "*" in candidate:
            newest = _newest_match(candidate, base)
            if newest:
                return ModelSource(newest, local=True)
            continue
        if _looks_like_folder(candidate) and not any(
            (root / os.path.expanduser(candidate)).is_dir() for root in (base, Path.cwd())
        ):
            continue
        return ModelSource.parse(candidate, where, base)
    return None


def load_settings(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> SpaceSettings:
    """Read `path` (default: `$SPACE_CONFIG`, else space_config.yaml beside app.py), then apply the environment."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("SPACE_CONFIG") or DEFAULT_CONFIG_PATH)
    if not path.is_file():
        raise SettingsError(f"Space configuration {path} does not exist; create it or point SPACE_CONFIG at one.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SettingsError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must hold a mapping with 'models', 'trust_remote_code' and 'limits'.")
    unknown = set(data) - {"models", "trust_remote_code", "multi_label_threshold", "limits"}
    if unknown:
        raise SettingsError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}.")

    configured = data.get("models") or {}
    if not isinstance(configured, dict) or set(configured) - set(TASKS):
        raise SettingsError(f"{path}: 'models' must map some of {', '.join(TASKS)} to a Hub id or folder.")
    models = {}
    for task in TASKS:
        variable = f"{task.upper()}_MODEL"
        # A variable set to "" switches the model off; an unset one leaves the file's value.
        if variable in environ:
            value = environ[variable]
            models[task] = ModelSource.parse(value, variable) if value else None
        else:
            value = configured.get(task)
            models[task] = resolve_model(value, f"{path}: models.{task}", path.parent) if value else None

    allowed = data.get("trust_remote_code") or []
    if not isinstance(allowed, list) or not all(isinstance(item, str) for item in allowed):
        raise SettingsError(f"{path}: 'trust_remote_code' must be a list of Hub ids or folders.")
    allowed_set = set()
    for item in allowed:
        allowed_set.add(item)
        for root in (path.parent, Path.cwd()):
            if (root / os.path.expanduser(item)).is_dir():
                allowed_set.add(str((root / os.path.expanduser(item)).resolve()))

    limits = dict(DEFAULT_LIMITS)
    for key, value in (data.get("limits") or {}).items():
        if key not in DEFAULT_LIMITS:
            raise SettingsError(f"{path}: unknown limit {key!r}; known: {', '.join(DEFAULT_LIMITS)}.")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SettingsError(f"{path}: limits.{key} must be a positive integer, got {value!r}.")
        limits[key] = value

    threshold = data.get("multi_label_threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise SettingsError(f"{path}: multi_label_threshold must be a number between 0 and 1, got {threshold!r}.")
    return SpaceSettings(models, frozenset(allowed_set), float(threshold), limits, str(path))
