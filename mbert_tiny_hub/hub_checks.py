"""Checks run before anything is pushed to the Hub: which files of a folder are published, the token (resolved, and
kept out of every pushed file), what a model or dataset repository needs, local paths taken out of the published
files, and `check_licence` (run by every push, whatever the repository type), which keeps data that may not be
redistributed, or whose licence cannot be read, off public repositories. The pushes themselves:
`mbert_tiny_hub.hub`."""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import yaml
from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.repocard import metadata_load

from data_scripts import dataset_card_metadata

from .card_metadata import without_local_paths

# Never published: Trainer checkpoints, hidden files and folders (caches, staging folders, VCS data) except the two
# git files a repository may carry, bytecode, and the Trainer's pickled arguments (training_args.json holds them
# readably; the pickle also holds this machine's paths).
IGNORED_PATTERNS = ("checkpoint-*", ".*", "__pycache__", "*.pyc", "training_args.bin")
KEPT_HIDDEN_FILES = (".gitattributes", ".gitignore")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "item_vocab.json")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


class PublishError(RuntimeError):
    """A push that was refused or failed; the message says what to do and never holds the token."""


def publishable_files(folder: str | os.PathLike) -> dict[str, Path]:
    """{path in repo: local path} for every file of `folder` that gets published (see IGNORED_PATTERNS)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PublishError(f"{folder} is not a folder: pass the output, dataset or adapter folder to publish.")
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(
            fnmatch.fnmatch(part, pattern) and part not in KEPT_HIDDEN_FILES
            for part in relative.parts
            for pattern in IGNORED_PATTERNS
        ):
            continue
        if path.is_file():
            files[relative.as_posix()] = path
    if not files:
        raise PublishError(f"{folder} holds no file to publish.")
    return files


def resolve_token(token: str | None = None) -> str:
    """The explicit token, else `HF_TOKEN`, else the one `hf auth login` stored."""
    token = token or get_token()
    if not token:
        raise PublishError(
            "No Hugging Face token: set HF_TOKEN or run `hf auth login` with a token that has write access."
        )
    return token


# ----- checks -------------------------------------------------------------------------------------------------


def check_model_folder(output_dir: Path) -> None:
    """A model repository needs config.json, safetensors weights, the code `auto_map` points at, and a tokenizer
    or item vocabulary; say which is missing and how to get it."""
    if not output_dir.is_dir():
        raise PublishError(f"{output_dir} is not a folder: pass a training output folder.")
    config_path = output_dir / "config.json"
    if not config_path.is_file():
        raise PublishError(f"{output_dir} has no config.json: it is not a saved model (model.save_pretrained(folder)).")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PublishError(f"{config_path} is not valid JSON ({error}); re-save the model.") from error
    if not any((output_dir / name).is_file() for name in WEIGHT_FILES):
        raise PublishError(
            f"{output_dir} has no model.safetensors: save the weights with model.save_pretrained(folder) "
            "(safetensors); pickled .bin weights are not published."
        )
    for module in sorted(_auto_map_modules(config)):
        if not (output_dir / f"{module}.py").is_file():
            raise PublishError(
                f"{config_path}: auto_map points at {module}.py, which is not in {output_dir}. Save the model with "
                f"save_pretrained (it copies the model code) or copy modeling/{module}.py there."
            )
    if not any((output_dir / name).is_file() for name in TOKENIZER_FILES):
        raise PublishError(
            f"{output_dir} has no tokenizer ({', '.join(TOKENIZER_FILES[:2])}) or item vocabulary (item_vocab.json): "
            "save it beside the weights (tokenizer.save_pretrained(folder))."
        )


def check_dataset_folder(dataset_dir: Path) -> None:
    """A dataset repository needs a card whose `configs:` block names data files that are there."""
    card = dataset_dir / "README.md"
    if not card.is_file():
        raise PublishError(
            f"{dataset_dir} has no README.md dataset card: build the dataset with `python -m data_scripts build ...`."
        )
    metadata = _card_metadata(card)
    configs = metadata.get("configs")
    if not configs:
        raise PublishError(f"{card}: no `configs:` block in the YAML metadata, so the Hub cannot find the data files.")
    for entry in configs:
        data_files = entry.get("data_files") or []
        data_files = [data_files] if isinstance(data_files, (str, dict)) else data_files
        for item in data_files:
            patterns = item.get("path") if isinstance(item, dict) else item
            for pattern in [patterns] if isinstance(patterns, str) else patterns or []:
                if not list(dataset_dir.glob(pattern)):
                    raise PublishError(
                        f"{card}: config {entry.get('config_name', 'default')!r} points at {pattern!r}, but no such "
                        f"file is in {dataset_dir}. Rebuild the dataset."
                    )


def is_hub_id(name: str) -> bool:
    """Shaped like a Hub repository id: 'org/name' or 'name'."""
    return bool(HUB_ID.fullmatch(name)) and "--" not in name and ".." not in name


def _names_placeholder_repo(card: Path, output_dir: Path) -> bool:
    """A generated card whose snippets still say `path/to/<folder>` (written before the repo id was known)."""
    return f'"path/to/{output_dir.resolve().name}"' in card.read_text(encoding="utf-8", errors="replace")


def _is_placeholder_card(card: Path) -> bool:
    text = card.read_text(encoding="utf-8", errors="replace")
    return "[More Information Needed]" in text or "# Model Card for Model ID" in text


def is_redistributable(metadata: dict) -> bool:
    """A dataset card's (or results.json `dataset` block's) verdict, failing closed: `redistributable: true`, or no
    flag and a named licence other than `other` / `unknown`. No flag and no licence means no."""
    if "redistributable" in metadata:
        return str(metadata["redistributable"]).strip().lower() in ("true", "yes", "1")
    return str(metadata.get("license") or "").strip().lower() not in ("", "other", "unknown")


def licence_text(metadata: dict) -> str:
    """The licence as a card states it, with its link: 'movielens-research-only (https://...)'."""
    licence = metadata.get("license_name") or metadata.get("license") or "not stated"
    return f"{licence} ({metadata['license_link']})" if metadata.get("license_link") else licence


def dataset_licence(name_or_path: str | None) -> dict:
    """`license`, `license_name`, `license_link` and `redistributable` from a dataset's card (local folder or Hub id),
    for the `dataset` block of results.json: pushes and model cards read the training data's terms from there."""
    return dataset_card_facts(name_or_path)


def dataset_card_facts(name_or_path: str | None, languages: Sequence[str] = ()) -> dict:
    """What a model card needs from a dataset's card, read once, when the run or the evaluation happens, and written
    into results.json's `dataset` block: the licence keys of `dataset_licence` and, for the evaluated `languages`,
    `language_codes` (each as the Hub spells it: BRIGHTER's `esp` is `es`, from the card's
    `data_scripts.language_codes`; codes the card does not map are kept). Nothing reads the dataset card later."""
    if not name_or_path:
        return {}
    metadata = dataset_card_metadata(str(name_or_path))
    facts = {key: metadata[key] for key in ("license", "license_name", "license_link") if metadata.get(key)}
    if "redistributable" in metadata:
        facts["redistributable"] = is_redistributable(metadata)
    if languages:
        codes = (metadata.get("data_scripts") or {}).get("language_codes") or {}
        facts["language_codes"] = {language: codes.get(language, language) for language in sorted(set(languages))}
    return facts


DATA_FILE_SUFFIXES = (".parquet", ".arrow", ".csv", ".tsv", ".jsonl")


def check_licence(folder: str | os.PathLike, repo_id: str, repo_type: str, private: bool) -> None:
    """The one licence check of every push (train.py --push_to_hub, publish model / adapter / dataset / space).

    A public push is refused when it would carry data that may not be redistributed or whose licence cannot be
    read: a dataset card (the repository's own, or one inside a Space) that says `redistributable: false`, states
    no licence or does not parse; a data file (Parquet, CSV, ...) with no such card above it; an item vocabulary
    (titles and genres copied from the training data) whose results.json does not show a redistributable dataset.
    """
    if private:
        return
    folder = Path(folder)
    files = publishable_files(folder)
    refusal = (
        f"Refusing to push {folder} to the public {repo_type} repository {repo_id}: "
    )
    fix = " Push it to a private repository (private=True / --private) for your own use, or do not publish it."
    verdicts: dict[Path, bool] = {}

    def card_verdict(card: Path) -> bool:
        if card not in verdicts:
            try:
                metadata = metadata_load(card) or {}
            except Exception as error:  # yaml errors of every kind: unknown means no
                raise PublishError(
                    f"{refusal}{card}: the YAML metadata block does not parse ({error}), so its licence is unknown."
                    + fix
                ) from None
            if not is_redistributable(metadata):
                stated = "`redistributable: false`" if "redistributable" in metadata else "no redistributable licence"
                raise PublishError(
                    f"{refusal}{card.relative_to(folder).as_posix()} says {stated} (licence: {licence_text(metadata)}), "
                    "so its data may not be redistributed." + fix
                )
            verdicts[card] = True
        return verdicts[card]

    if repo_type == "dataset":
        if not (folder / "README.md").is_file():
            raise PublishError(f"{refusal}it has no README.md dataset card, so its licence is unknown." + fix)
        card_verdict(folder / "README.md")
    for name, path in files.items():
        if path.suffix.lower() not in DATA_FILE_SUFFIXES:
            continue
        cards = [parent / "README.md" for parent in path.parents if parent == folder or folder in parent.parents]
        card = next((c for c in cards if c.is_file() and _looks_like_dataset_card(c)), None)
        if card is None:
            raise PublishError(
                f"{refusal}{name} is a data file with no dataset card beside or above it stating its licence, so "
                "it may not be redistributable. Publish data as a dataset built by data_scripts (its card states "
                "the licence), or leave it out." + fix
            )
        card_verdict(card)
    if "item_vocab.json" in files:
        check_item_vocabulary_licence(folder, repo_id)


def _looks_like_dataset_card(card: Path) -> bool:
    try:
        metadata = metadata_load(card) or {}
    except Exception:  # noqa: BLE001 - a card that does not parse is judged (and refused) by card_verdict
        return True
    return any(key in metadata for key in ("configs", "redistributable", "data_scripts", "dataset_info"))


def check_redistribution(folder: Path, repo_id: str, private: bool) -> None:
    """`check_licence` for a dataset folder (kept for callers of the earlier name)."""
    check_licence(folder, repo_id, "dataset", private)


def check_item_vocabulary_licence(folder: Path, repo_id: str) -> None:
    """Refuse a public push of a recommender whose `item_vocab.json` (titles and genres copied from its training
    data) does not come from a dataset known to be redistributable: results.json (written by the training run)
    must exist and its `dataset` block must say so. MovieLens's card says `redistributable: false`."""
    results = folder / "results.json"
    where = f"Refusing to push {folder} to the public model repository {repo_id}: its item_vocab.json holds titles "
    if not results.is_file():
        raise PublishError(
            f"{where}and genres from its training data, and there is no results.json saying that data may be "
            "redistributed. Evaluate the model (evaluate.py writes results.json with the dataset's licence), or push "
            "it to a private repository (private=True / --private)."
        )
    try:
        dataset = json.loads(results.read_text(encoding="utf-8")).get("dataset") or {}
    except (OSError, ValueError, AttributeError) as error:
        raise PublishError(f"{results} is not valid JSON ({error}); re-run the evaluation.") from None
    if not is_redistributable(dataset):
        stated = "`redistributable: false`" if "redistributable" in dataset else "no redistributable licence"
        raise PublishError(
            f"{where}and genres of {dataset.get('name_or_path') or 'its training dataset'}, whose card says "
            f"{stated} (licence: {licence_text(dataset)}). Push it to a private repository "
            "(private=True / --private), or retrain on a dataset you may redistribute."
        )


def check_push_access(
    repo_id: str, repo_type: str = "model", token: str | None = None, endpoint: str | None = None
) -> str:
    """Before hours of work: `repo_id` is a valid Hub id, the Hub is reachable (not offline), and the token is
    accepted and may write to the repository's namespace. Returns the account name; raises PublishError."""
    if not is_hub_id(repo_id):
        raise PublishError(
            f"{repo_id!r} is not a Hub repository id: write it as 'org/name' or 'user/name' (letters, digits, "
            "'-', '_', '.')."
        )
    if constants.is_offline_mode():
        raise PublishError("HF_HUB_OFFLINE is set: unset it (and set HF_ENDPOINT for a self-hosted Hub) to publish.")
    token = resolve_token(token)
    api = HfApi(endpoint=endpoint, token=token, library_name="mbert-tiny-hub")
    try:
        account = api.whoami()
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status == 401:
            raise PublishError(
                f"The Hub at {api.endpoint} rejected the token (401 Unauthorized). Set HF_TOKEN or run "
                "`hf auth login` with a valid token that has write access."
            ) from None
        raise PublishError(f"Could not check the token with the Hub at {api.endpoint} ({status}).") from None
    except OSError as error:
        raise PublishError(f"The Hub at {api.endpoint} cannot be reached ({type(error).__name__}).") from None
    role = ((account.get("auth") or {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise PublishError(
            f"The token of {account.get('name')} on {api.endpoint} is read-only: use a token with write access."
        )
    namespace = repo_id.split("/")[0] if "/" in repo_id else account.get("name")  # a bare name: the user's own
    names = {account.get("name")} | {org.get("name") for org in account.get("orgs") or []}
    if namespace not in names:
        raise PublishError(
            f"The token of {account.get('name')} on {api.endpoint} cannot create repositories under {namespace!r} "
            f"(it may write to: {', '.join(sorted(n for n in names if n))}): use one of those or another token."
        )
    return account.get("name")


# Files whose values may hold this machine's paths (output_dir, data.dataset, the tokenizer folder, the command):
# what is pushed has each local path replaced by its last component (the local folder keeps them).
PATH_BEARING_FILES = (
    "results.json", "train_config.yaml", "training_args.json", "config.json", "adapter_config.json",
    "tokenizer_config.json",
)


def _published_content(name: str, path: Path) -> str | bytes:
    """The local file's path, or its bytes without local paths when it is one of PATH_BEARING_FILES."""
    if Path(name).name not in PATH_BEARING_FILES:
        return str(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return str(path)
    public = without_local_paths(data)
    if public == data:
        return str(path)
    if name.endswith(".json"):
        return (json.dumps(public, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return yaml.safe_dump(public, sort_keys=False, allow_unicode=True, default_flow_style=False).encode("utf-8")


def _refuse_files_holding_token(files: dict[str, Path], folder: Path, token: str) -> None:
    needle = token.encode()
    for name, path in files.items():
        try:
            data = path.read_bytes()
        except OSError as error:
            raise PublishError(f"Cannot read {path} ({error.strerror}); nothing was pushed.") from None
        if needle in data:
            raise PublishError(
                f"{folder / name} contains your Hugging Face token; remove it from that file before publishing. "
                "Nothing was pushed."
            )


def _card_metadata(card: Path) -> dict:
    try:
        return metadata_load(card) or {}
    except Exception as error:  # yaml errors of every kind
        raise PublishError(f"{card}: the YAML metadata block does not parse ({error}).") from error


def _auto_map_modules(config: dict) -> set[str]:
    modules = set()
    for reference in (config.get("auto_map") or {}).values():
        for target in reference if isinstance(reference, list) else [reference]:
            if target and "--" not in target and "." in target:  # "repo--module.Class" lives in another repo
                modules.add(target.rsplit(".", 1)[0])
    return modules
