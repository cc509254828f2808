"""The life of one train.py run, around whichever task runner it calls: the output folder (checked before anything
is written, emptied only when training starts), resuming (a local checkpoint or the Hub's `last-checkpoint`), the
project's checks before pushing, and the end of a run: the final folder written through a staging folder, the model
card, the push.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import PartialState
from huggingface_hub import snapshot_download
from transformers.trainer_utils import get_last_checkpoint

from data_scripts import dataset_card_metadata
from modeling.mbert_tiny import MBertTinyPreTrainedModel, remote_code

from .. import cards, hub, hub_checks
from ..config import ConfigError, ExperimentConfig, save_config
from ..evaluation import plot_results
from ..results import RESULTS_FILE, weights_size_mb, write_json


logger = logging.getLogger(__name__)




STAGING_DIR_NAME = ".staging-final"


RUN_MARKER = "train_config.yaml"  # written when training starts: a folder holding it is a train.py run


@dataclass
class RunOptions:
    """How train.py runs a config: where, whether it resumes, where it publishes."""

    output_dir: str | None = None
    # True: the last checkpoint in output_dir, else the Hub repo's last-checkpoint; a path: that checkpoint
    resume: bool | str = False
    push_to_hub: str | bool | None = None  # a repo id, or True with hub_model_id (HF style)
    hub_model_id: str | None = None
    hub_strategy: str | None = None  # the Trainer's checkpoint pushes ("checkpoint": last-checkpoint); default "end"
    private: bool | None = None
    revision: str | None = None
    overwrite_output_dir: bool = False
    callbacks: list = field(default_factory=list)  # extra TrainerCallbacks
    command: str | None = None  # recorded in results.json; default: this process's command line


@dataclass
class Run:
    """State of one run, shared by the runner and run_experiment."""

    config: ExperimentConfig
    options: RunOptions
    output_dir: Path
    resume_from: str | None = None
    replace_output_dir: bool = False  # --overwrite_output_dir on an earlier run: emptied when training starts


def default_output_dir(config: ExperimentConfig) -> Path:
    stem = Path(config.source.split(" (with --set")[0]).stem or config.task
    return Path("outputs") / stem


def has_run_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def check_output_dir(output_dir: Path, overwrite: bool) -> None:
    """Refuse an output folder that would put someone's files at risk: the current directory, a folder holding it
    or the repository, a file, or (with overwrite) a non-empty folder that train.py did not write."""
    resolved = output_dir.resolve()
    protected = {Path.cwd().resolve(), Path(__file__).resolve().parents[2]}
    if any(resolved == folder or resolved in folder.parents for folder in protected):
        raise ConfigError(
            f"--output_dir {output_dir} is the current directory, the repository or a folder above them; a run "
            "writes (and --overwrite_output_dir deletes) its output folder, so give it a folder of its own, e.g. "
            "outputs/<name>."
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"--output_dir {output_dir} is a file, not a folder: choose another --output_dir.")
    existing = next(folder for folder in (resolved, *resolved.parents) if folder.exists())
    try:  # a real probe (permission bits do not bind every user), before hours of training
        tempfile.TemporaryDirectory(dir=existing, prefix=".train-py-probe-").cleanup()
    except OSError as error:
        raise ConfigError(
            f"--output_dir {output_dir}: cannot write in {existing} ({error.strerror}); choose an --output_dir in a "
            "folder you can write to."
        ) from None
    if overwrite and has_run_files(output_dir) and not (output_dir / RUN_MARKER).is_file():
        raise ConfigError(
            f"--overwrite_output_dir: {output_dir} holds files that train.py did not write (no {RUN_MARKER}), so "
            "they are not deleted. Choose another --output_dir, or move those files away yourself."
        )


def hub_repo_id(config: ExperimentConfig, options: RunOptions) -> str | None:
    """The Hub repo a run pushes to: `--push_to_hub org/name`, `--hub_model_id` / training.hub_model_id (with
    `--push_to_hub` or training.push_to_hub), or hub.repo_id; None when the run does not push."""
    wants_push = bool(options.push_to_hub) or bool(config.training.get("push_to_hub")) or bool(config.hub.repo_id)
    if not wants_push:
        return None
    repo_id = (
        (options.push_to_hub if isinstance(options.push_to_hub, str) else None)
        or options.hub_model_id
        or config.training.get("hub_model_id")
        or config.hub.repo_id
    )
    if not repo_id:
        raise ConfigError(
            f"{config.source}: pushing to the Hub needs a repository id: --push_to_hub --hub_model_id org/name "
            "(or training.hub_model_id, or hub.repo_id)."
        )
    return repo_id


def check_before_pushing(config: ExperimentConfig, options: RunOptions, repo_id: str) -> None:
    """The project's checks in front of the Trainer's Hub integration, before any training: the repo id, the Hub and
    the token (`hub_checks.check_push_access`), and, for a public repo, the licence of what checkpoints carry: a
    recommender's checkpoints hold its item vocabulary (titles and genres copied from the training data), so its
    dataset must be redistributable (the rule `hub_checks.check_licence` applies to the finished folder)."""
    try:
        hub_checks.check_push_access(repo_id, "model")
    except hub.PublishError as error:
        raise ConfigError(f"--push_to_hub {repo_id}: {error}") from None
    if config.task == "bert4rec" and config.data.dataset and not push_private(config, options):
        metadata = dataset_card_metadata(config.data.dataset, revision=config.data.revision)
        if not hub_checks.is_redistributable(metadata):
            raise ConfigError(
                f"{config.source}: refusing to push to the public repository {repo_id}: the card of "
                f"{config.data.dataset} says it may not be redistributed (licence: {hub_checks.licence_text(metadata)}), "
                "and every checkpoint pushed carries its item titles. Push to a private repository (--private)."
            )


def push_private(config: ExperimentConfig, options: RunOptions) -> bool:
    if options.private is not None:
        return bool(options.private)
    return bool(config.training.get("hub_private_repo") or config.hub.private)


def enable_trainer_pushes(config: ExperimentConfig, options: RunOptions, repo_id: str) -> None:
    """Let the Trainer's own Hub integration push every save (and `last-checkpoint`, to resume from). Recorded in
    the config's `training:` (train_config.yaml), never with a token: the Trainer reads HF_TOKEN or the login."""
    config.training["push_to_hub"] = True
    config.training["hub_model_id"] = repo_id
    config.training["hub_private_repo"] = push_private(config, options)
    # Default "end": the finished folder is pushed once, cleaned of local paths. Checkpoint pushes (hub_strategy
    # "checkpoint") are the Trainer's own and carry its state, which names this machine's output folder.
    config.training["hub_strategy"] = options.hub_strategy or config.training.get("hub_strategy") or "end"
    if config.hub.revision and "hub_revision" not in config.training:
        config.training["hub_revision"] = config.hub.revision


def _download_hub_checkpoint(output_dir: Path, repo_id: str, revision: str | None) -> str | None:
    """The repo's `last-checkpoint` (pushed by hub_strategy checkpoint), as output_dir/checkpoint-<step>; None when
    the repo has none."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".hub-checkpoint-") as tmp:
        try:
            snapshot_download(repo_id, revision=revision, allow_patterns=["last-checkpoint/*"], local_dir=tmp)
        except Exception as error:  # noqa: BLE001 - reported with what to do
            logger.warning("Could not read %s's last-checkpoint from the Hub: %s", repo_id, error)
            return None
        checkpoint = Path(tmp) / "last-checkpoint"
        if not (checkpoint / "trainer_state.json").is_file():
            return None
        step = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))["global_step"]
        target = output_dir / f"checkpoint-{step}"
        if target.exists():
            shutil.rmtree(target)
        os.replace(checkpoint, target)
    shutil.rmtree(target / ".cache", ignore_errors=True)  # snapshot_download's bookkeeping
    logger.info("Downloaded the Hub's last-checkpoint of %s (step %d) to %s", repo_id, step, target)
    return str(target)


def resume_checkpoint(
    output_dir: Path, resume: bool | str, repo_id: str | None = None, revision: str | None = None, state=None
) -> str | None:
    if not resume:
        return None
    if isinstance(resume, str):
        if not Path(resume).is_dir():
            raise ConfigError(f"--resume {resume}: no such checkpoint folder.")
        return resume
    last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if last is None and repo_id:
        # The main process downloads the Hub's last-checkpoint; the others wait, then find it in the output folder.
        state = state or _partial_state()
        with state.main_process_first():
            if state.is_main_process:
                _download_hub_checkpoint(output_dir, repo_id, revision)
        last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if last is None:
        raise ConfigError(
            f"--resume: {output_dir} has no checkpoint-* folder to resume from"
            + (f", and {repo_id} on the Hub has no last-checkpoint" if repo_id else "")
            + "; run without --resume."
        )
    return last


def distributed_state(config: ExperimentConfig):
    """accelerate's view of this process (rank, main process), set up as the run's TrainingArguments will set it up:
    on the CPU when the config or the launcher asks for it, or when several processes run without a GPU."""
    cpu = bool(config.training.get("use_cpu")) or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true")
    cpu = cpu or (int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available())
    return PartialState(cpu=cpu)


def _partial_state():
    return PartialState()


def is_main_process() -> bool:
    """accelerate decides (RANK is not set under every launcher, e.g. mpirun)."""
    return PartialState().is_main_process


def start_training(run: Run, args) -> None:
    """Training starts: everything was validated, so an --overwrite_output_dir run may now empty the folder (main
    process only, everyone waits); the output folder holds the resolved config from now on."""
    if run.replace_output_dir and args.should_save and run.output_dir.exists():
        logger.info("Replacing the earlier run in %s (--overwrite_output_dir)", run.output_dir)
        shutil.rmtree(run.output_dir)
    if args.should_save:
        run.output_dir.mkdir(parents=True, exist_ok=True)
        save_config(run.config, run.output_dir / "train_config.yaml")
    args.distributed_state.wait_for_everyone()


def command_line(options: RunOptions) -> str:
    return options.command or shlex.join(["python", *sys.argv])


def _promote(staging: Path, destination: Path) -> None:
    """Move every file of a complete staging folder into `destination` (each move is atomic)."""
    for item in sorted(staging.iterdir()):
        target = destination / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(item, target)
    staging.rmdir()


def _saving_remote_code(trainer, config: ExperimentConfig):
    """With model.remote_code, the final save also carries the model's code and `auto_map`; otherwise (and for
    models that are not mBERT-Tiny) nothing changes: a plain checkpoint."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    if config.model.remote_code and isinstance(model, MBertTinyPreTrainedModel):
        return remote_code(model)
    return contextlib.nullcontext()


def write_final_folder(trainer, run: Run, results: dict | None, save: Callable[[Path], None] | None = None) -> None:
    """Save the final model, tokenizer, train_config.yaml, training_args.json and results.json into a staging
    folder, then move them into the output folder (main process only; everyone waits)."""
    output_dir = run.output_dir
    staging = output_dir / STAGING_DIR_NAME
    if trainer.is_world_process_zero() and staging.exists():
        shutil.rmtree(staging)
    trainer.accelerator.wait_for_everyone()
    with _saving_remote_code(trainer, run.config):
        # _internal_call: with push_to_hub the Trainer would push its own card here; finalize_output_folder pushes
        # the finished folder (with the project's card) instead.
        (save or (lambda folder: trainer.save_model(str(folder), _internal_call=True)))(staging)
    if trainer.is_world_process_zero():
        save_config(run.config, staging / "train_config.yaml")
        (staging / "training_args.json").write_text(trainer.args.to_json_string() + "\n", encoding="utf-8")
        if results is not None:
            results["model"]["size_on_disk_mb"] = weights_size_mb(staging)
            write_json(staging / RESULTS_FILE, results)
            plot_results(results, staging)  # the same PNGs as evaluate.py; the card embeds them
        _promote(staging, output_dir)
        logger.info(
            "Wrote the model, tokenizer, train_config.yaml, training_args.json and results.json to %s", output_dir
        )
    trainer.accelerator.wait_for_everyone()


def write_card(folder: Path, results: dict | None, config: ExperimentConfig, repo_id: str | None = None) -> None:
    """README.md from `results` through mbert_tiny_hub.cards, when that module has a template for the task."""
    if results is None:
        return
    task = results.get("task")
    if not (folder / "adapter_config.json").exists() and task not in cards.TEMPLATES:
        logger.warning("No model card written: mbert_tiny_hub.cards has no template for task %r.", task)
        return
    cards.write_model_card(folder, results, train_config=config.to_dict(), repo_id=repo_id)
    logger.info("Wrote the model card %s", folder / "README.md")


def finalize_output_folder(
    output_dir: str | Path,
    results: dict | None,
    config: ExperimentConfig,
    push_to_hub: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
) -> None:
    """Make a finished run's output folder a Hub repository: write the model card from `results` and push it.

    Called on the main process after the weights, tokenizer, train_config.yaml, training_args.json and results.json
    are in place. The card comes from `mbert_tiny_hub.cards.write_model_card` and the push from
    `mbert_tiny_hub.hub.push_folder` (checkpoint-* folders are not part of the repository).
    """
    output_dir = Path(output_dir)
    repo_id = push_to_hub or config.hub.repo_id
    write_card(output_dir, results, config, repo_id)
    if repo_id:
        private = config.hub.private if private is None else private
        info = hub.push_folder(
            output_dir,
            repo_id,
            repo_type="model",
            private=private,
            revision=revision or config.hub.revision,
            commit_message=f"Upload {config.task} model trained with train.py",
        )
        logger.info("Pushed %s to %s%s", output_dir, repo_id, "" if info else " (nothing changed)")
