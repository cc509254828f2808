"""Publishing to the Hugging Face Hub: model folders, LoRA adapters and datasets, each pushed as one commit.

Everything goes through `huggingface_hub.HfApi` (the endpoint comes from `HF_ENDPOINT`, so a self-hosted Hub works
too; the token from the `token` argument, `HF_TOKEN` or `hf auth login`). A push is a single `create_commit` with
`parent_commit` set to the head it started from, so it either lands whole or leaves the remote as it was, and the
client drops unchanged files so pushing the same folder twice makes no commit (`None` is returned).

Before anything is sent, the folder is checked (`mbert_tiny_hub.hub_checks`): what a model, adapter or dataset repository needs is there, no
file holds the token, and `check_licence` (run by every push, whatever the repository type) keeps data that may not
be redistributed, or whose licence cannot be read, off public repositories.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from huggingface_hub import (
    CommitInfo,
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    constants,
    hf_hub_download,
)
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from .cards import set_card_base_model, write_model_card
from .hub_checks import (
    ADAPTER_FILES,
    TOKENIZER_FILES,
    PublishError,
    _auto_map_modules,
    _is_placeholder_card,
    _names_placeholder_repo,
    _published_content,
    _refuse_files_holding_token,
    check_dataset_folder,
    check_licence,
    check_model_folder,
    is_hub_id,
    publishable_files,
    resolve_token,
)

logger = logging.getLogger(__name__)


# ----- the one push -------------------------------------------------------------------------------------------


def push_folder(
    folder: str | os.PathLike,
    repo_id: str,
    repo_type: str = "model",
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    *,
    commit_description: str | None = None,
    delete_missing: bool = False,
    endpoint: str | None = None,
    space_sdk: str = "gradio",
) -> CommitInfo | None:
    """Push every publishable file of `folder` to `repo_id` as one commit; `None` when nothing changed.

    Creates the repository (private when `private`) and the branch `revision` when they are missing.
    `delete_missing=True` also deletes remote files that are not in `folder` (except `.gitattributes`), so the
    repository mirrors the folder. A new Space is created with `space_sdk`. Raises `PublishError` with a clear
    message on any refusal or failure; the remote repository is then as it was.
    """
    folder = Path(folder)
    if repo_type not in ("model", "dataset", "space"):
        raise PublishError(f"repo_type must be 'model', 'dataset' or 'space', not {repo_type!r}.")
    files = publishable_files(folder)
    token = resolve_token(token)
    _refuse_files_holding_token(files, folder, token)
    check_licence(folder, repo_id, repo_type, private)
    if constants.is_offline_mode():
        raise PublishError("HF_HUB_OFFLINE is set: unset it (and set HF_ENDPOINT for a self-hosted Hub) to publish.")

    api = HfApi(endpoint=endpoint, token=token, library_name="mbert-tiny-hub")
    where = f"{_repo_label(repo_id, repo_type)} on {api.endpoint}"
    branch = revision or constants.DEFAULT_REVISION
    with _clear_errors(where, api.endpoint, token):
        api.create_repo(
            repo_id,
            repo_type=repo_type,
            private=private,
            exist_ok=True,
            space_sdk=space_sdk if repo_type == "space" else None,
        )
        info = api.repo_info(repo_id, repo_type=repo_type)
        if private and not info.private:
            raise PublishError(
                f"{where} already exists and is public: a private push would publish {folder} publicly. Make the "
                "repository private first (HfApi().update_repo_settings(repo_id, private=True)) or push without "
                "private."
            )
        if branch != constants.DEFAULT_REVISION:
            api.create_branch(repo_id, branch=branch, repo_type=repo_type, exist_ok=True)
        head = api.repo_info(repo_id, repo_type=repo_type, revision=branch).sha

        operations: list = [CommitOperationAdd(name, _published_content(name, path)) for name, path in files.items()]
        if delete_missing:
            remote = api.list_repo_files(repo_id, repo_type=repo_type, revision=head)
            operations += [CommitOperationDelete(p) for p in remote if p not in files and p != ".gitattributes"]
        commit = api.create_commit(
            repo_id,
            operations,
            commit_message=commit_message or f"Upload {repo_type} from {folder.name}",
            commit_description=commit_description or _describe_files(files),
            repo_type=repo_type,
            revision=branch,
            parent_commit=head,
        )
    if commit.oid == head:
        logger.info("Nothing changed in %s since %s, branch %s (%s): no commit made.", folder, where, branch, head[:8])
        return None
    logger.info("Pushed %s (%d files) to %s, branch %s: %s", folder, len(files), where, branch, commit.commit_url)
    return commit


# ----- what gets published ------------------------------------------------------------------------------------


def push_model(
    output_dir: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
    delete_missing: bool = False,
) -> CommitInfo | None:
    """Push a training output folder (weights, config (with `auto_map` and its code for remote-code models),
    tokenizer or item vocabulary, training arguments, results, plots, ONNX files and card). Writes the card from
    `results.json` first when `README.md` is missing or still names no repo (`path/to/<folder>`)."""
    output_dir = Path(output_dir)
    check_model_folder(output_dir)
    check_licence(output_dir, repo_id, "model", private)
    card = output_dir / "README.md"
    if not card.is_file() or _names_placeholder_repo(card, output_dir):
        # No card yet, or the one train.py wrote before the repo id was known: render it for this repo.
        results = output_dir / "results.json"
        write_model_card(output_dir, results if results.is_file() else None, repo_id=repo_id)
    config = json.loads((output_dir / "config.json").read_text(encoding="utf-8"))
    kind = (config.get("architectures") or [config.get("model_type", "model")])[0]
    return push_folder(
        output_dir,
        repo_id,
        "model",
        private=private,
        revision=revision,
        commit_message=commit_message or f"Upload {kind} from {output_dir.name}",
        token=token,
        endpoint=endpoint,
        delete_missing=delete_missing,
    )


def push_adapter(
    adapter_dir: str | os.PathLike,
    repo_id: str,
    *,
    base_model: str | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
) -> CommitInfo | None:
    """Push a LoRA adapter (adapter weights and config, tokenizer if saved, card) so that
    `PeftModel.from_pretrained(base, repo_id)` and `AutoPeftModelFor...from_pretrained(repo_id)` work.

    `base_model` (a Hub id) replaces `base_model_name_or_path` in the pushed `adapter_config.json` and card; it is
    required when the adapter was trained on a local base folder, which nobody else could resolve.
    """
    adapter_dir = Path(adapter_dir)
    missing = [name for name in ADAPTER_FILES if not (adapter_dir / name).is_file()]
    if missing:
        raise PublishError(
            f"{adapter_dir} is not a PEFT adapter folder: {', '.join(missing)} missing. Save the adapter with "
            "PeftModel.save_pretrained(folder)."
        )
    adapter_config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    recorded_base = adapter_config.get("base_model_name_or_path")
    if base_model is None:
        if not recorded_base or not is_hub_id(recorded_base) or Path(recorded_base).exists():
            raise PublishError(
                f"{adapter_dir / 'adapter_config.json'}: base_model_name_or_path is {recorded_base!r}, which is not "
                "a Hub id others can download. Pass base_model='org/name' (publish adapter --base-model org/name) "
                "with the Hub repository of the base model."
            )
        base_model = recorded_base
    elif not is_hub_id(base_model):
        raise PublishError(f"base_model must be a Hub id such as 'org/mbert-tiny4', not {base_model!r}.")

    with _staged_copy(adapter_dir) as stage:
        adapter_config["base_model_name_or_path"] = base_model
        (stage / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2) + "\n", encoding="utf-8")
        card, results = stage / "README.md", stage / "results.json"
        if card.is_file() and not results.is_file() and not _is_placeholder_card(card):
            set_card_base_model(card, base_model, replace=recorded_base)  # a hand-written card: keep its text
        else:  # peft's save_pretrained writes a placeholder card; a card with numbers is re-rendered from them
            write_model_card(stage, results if results.is_file() else None, repo_id=repo_id, base_model=base_model)
        return push_folder(
            stage,
            repo_id,
            "model",
            private=private,
            revision=revision,
            commit_message=commit_message or f"Upload LoRA adapter for {base_model} from {adapter_dir.name}",
            token=token,
            endpoint=endpoint,
        )


def push_dataset(
    dataset_dir: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
    delete_missing: bool = False,
) -> CommitInfo | None:
    """Push a dataset folder written by `data_scripts` (Parquet files and the card whose `configs:` block points at
    them). Refused for a public repository when the card says `redistributable: false`."""
    dataset_dir = Path(dataset_dir)
    check_dataset_folder(dataset_dir)
    return push_folder(
        dataset_dir,
        repo_id,
        "dataset",
        private=private,
        revision=revision,
        commit_message=commit_message or f"Upload dataset from {dataset_dir.name}",
        token=token,
        endpoint=endpoint,
        delete_missing=delete_missing,
    )


def merge_adapter(
    adapter_dir: str | os.PathLike, output_dir: str | os.PathLike, *, base_model: str | None = None
) -> Path:
    """Merge a LoRA adapter into its base classifier and save the result as a plain model folder (weights,
    config, the base's model code when its `auto_map` needs it, tokenizer), ready for `push_model`."""
    from peft import PeftConfig, PeftModel  # heavy: only to merge an adapter
    from transformers import AutoModelForSequenceClassification, AutoTokenizer  # heavy: only to merge an adapter

    adapter_dir, output_dir = Path(adapter_dir), Path(output_dir)
    base = base_model or PeftConfig.from_pretrained(str(adapter_dir)).base_model_name_or_path
    model = PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(base), str(adapter_dir))
    merged = model.merge_and_unload()
    with _atomic_folder(output_dir) as staging:
        merged.save_pretrained(staging)
        tokenizer_source = adapter_dir if any((adapter_dir / n).is_file() for n in TOKENIZER_FILES) else base
        AutoTokenizer.from_pretrained(str(tokenizer_source)).save_pretrained(staging)
        _copy_remote_code(base, staging)
    return output_dir


# ----- helpers ----------------------------------------------------------------------------------------------


def _describe_files(files: dict[str, Path]) -> str:
    lines = [f"- {name} ({_human_size(path.stat().st_size)})" for name, path in files.items()]
    return "Published with mbert-tiny-hub.\n\n" + "\n".join(lines)


def _human_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size} B"


def _repo_label(repo_id: str, repo_type: str) -> str:
    return f"{constants.REPO_TYPES_URL_PREFIXES.get(repo_type, '')}{repo_id}"


@contextmanager
def _clear_errors(where: str, endpoint: str, token: str) -> Iterator[None]:
    """Turn Hub HTTP errors into PublishError messages that say what to do, with the token scrubbed."""
    try:
        yield
    except PublishError:
        raise
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        server = (getattr(error, "server_message", None) or str(error)).strip()
        if status == 401 and not isinstance(error, RepositoryNotFoundError):
            message = (
                f"The Hub at {endpoint} rejected the token (401 Unauthorized: {server}) while pushing to {where}. Set "
                "HF_TOKEN or run `hf auth login` with a valid token that has write access. Nothing was pushed."
            )
        elif status == 403:
            message = f"{where}: the token has no write access here (403: {server}). Nothing was pushed."
        else:
            message = f"Pushing to {where} failed ({server}). The commit is all-or-nothing: the remote is unchanged."
        raise PublishError(message.replace(token, "***")) from None
    except OSError as error:
        message = f"Pushing to {where} failed: {error}. The remote is unchanged."
        raise PublishError(message.replace(token, "***")) from None


@contextmanager
def _staged_copy(folder: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mbert-tiny-hub-stage-") as tmp:
        stage = Path(tmp) / folder.name
        stage.mkdir()
        for name, path in publishable_files(folder).items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, stage / name)
        yield stage


@contextmanager
def _atomic_folder(output_dir: Path) -> Iterator[Path]:
    """Write into a temporary sibling folder, move it into place only when complete."""
    if output_dir.exists():
        raise PublishError(f"{output_dir} already exists: choose a new folder for the merged model.")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    try:
        yield staging
        staging.rename(output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _copy_remote_code(base: str, folder: Path) -> None:
    """A merged model saved by a stock class keeps the base's auto_map: bring the code file it points at."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    for module in _auto_map_modules(config):
        target = folder / f"{module}.py"
        if target.exists():
            continue
        if Path(base, f"{module}.py").is_file():
            shutil.copy2(Path(base, f"{module}.py"), target)
        else:
            shutil.copy2(hf_hub_download(base, f"{module}.py"), target)
