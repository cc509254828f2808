"""Publish an existing folder to the Hugging Face Hub.

    python -m mbert_tiny_hub.publish model   outputs/mbert-tiny4-brighter org/mbert-tiny4-brighter [--private]
    python -m mbert_tiny_hub.publish adapter outputs/tiny4-lora org/tiny4-lora --base-model org/mbert-tiny4 \\
                                             [--merged-repo org/tiny4-lora-merged]
    python -m mbert_tiny_hub.publish dataset data/brighter org/brighter-emotions [--private]
    python -m mbert_tiny_hub.publish space   spaces/demo org/mbert-tiny-demo
    python -m mbert_tiny_hub.publish card    outputs/mbert-tiny4-brighter --repo-id org/mbert-tiny4-brighter

The token comes from HF_TOKEN or `hf auth login` (never from the command line, where shell history and process
lists would keep it); the endpoint from HF_ENDPOINT, so a self-hosted Hub works too. Each push is one commit:
it lands whole or not at all, and pushing an unchanged folder makes no commit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .cards import write_model_card
from .cli import HelpFormatter, accept_both_spellings
from .hub import merge_adapter, push_adapter, push_dataset, push_folder, push_model
from .hub_checks import PublishError, check_dataset_folder, check_licence, check_model_folder, publishable_files


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mbert_tiny_hub.publish",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def add_push_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("repo_id", metavar="ORG/NAME", help="the Hub repository to push to (created if missing)")
        sub.add_argument("--private", action="store_true", help="create the repository as private")
        sub.add_argument("--revision", metavar="BRANCH", help="push to this branch (created from main if missing)")
        sub.add_argument("--commit-message", help="commit title (if unset: says what was uploaded from where)")
        sub.add_argument("--dry-run", action="store_true", help="run the checks and list the files; push nothing")

    model = commands.add_parser("model", help="a training output folder (weights, config, code, tokenizer, card)")
    model.add_argument("folder", type=Path)
    add_push_options(model)
    model.add_argument("--refresh-card", action="store_true", help="rewrite README.md from results.json first")
    model.add_argument("--delete-missing", action="store_true", help="also delete remote files the folder lacks")

    adapter = commands.add_parser("adapter", help="a LoRA adapter folder (adapter weights and config, card)")
    adapter.add_argument("folder", type=Path)
    add_push_options(adapter)
    adapter.add_argument("--base-model", metavar="ORG/NAME", help="Hub id of the base model (required when "
                         "adapter_config.json names a local folder)")
    adapter.add_argument("--merged-repo", metavar="ORG/NAME", help="also merge the adapter into the base and push "
                         "the merged model to this repository")

    dataset = commands.add_parser("dataset", help="a dataset folder written by data_scripts (Parquet + card)")
    dataset.add_argument("folder", type=Path)
    add_push_options(dataset)
    dataset.add_argument("--delete-missing", action="store_true", help="also delete remote files the folder lacks")

    space = commands.add_parser("space", help="a Space folder (app.py, requirements.txt, README.md)")
    space.add_argument("folder", type=Path)
    add_push_options(space)
    space.add_argument("--sdk", default="gradio", help="SDK of a new Space")

    card = commands.add_parser("card", help="(re)write README.md of a model folder from its results.json; no push")
    card.add_argument("folder", type=Path)
    card.add_argument("--results", type=Path, help="results JSON (if unset: FOLDER/results.json)")
    card.add_argument("--repo-id", metavar="ORG/NAME", help="the repository the card will live in")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = accept_both_spellings(build_parser()).parse_args(argv)
    try:
        if args.command == "card":
            path = write_model_card(args.folder, args.results, repo_id=args.repo_id)
            print(f"Wrote {path}")
            return 0
        if args.dry_run:
            return _dry_run(args)
        info = _push(args)
    except PublishError as error:
        print(f"publish: error: {error}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as error:
        print(f"publish: error: {error}", file=sys.stderr)
        return 1
    _report(args, info)
    return 0


def _push(args):
    common = {"private": args.private, "revision": args.revision, "commit_message": args.commit_message}
    if args.command == "model":
        if args.refresh_card:
            write_model_card(args.folder, repo_id=args.repo_id)
        return push_model(args.folder, args.repo_id, delete_missing=args.delete_missing, **common)
    if args.command == "adapter":
        info = push_adapter(args.folder, args.repo_id, base_model=args.base_model, **common)
        if args.merged_repo:
            _report(args, info)
            with tempfile.TemporaryDirectory(prefix="mbert-tiny-hub-merged-") as tmp:
                merged = merge_adapter(args.folder, Path(tmp) / "merged", base_model=args.base_model)
                args.repo_id = args.merged_repo
                return push_model(merged, args.merged_repo, private=args.private, revision=args.revision)
        return info
    if args.command == "dataset":
        return push_dataset(args.folder, args.repo_id, delete_missing=args.delete_missing, **common)
    return push_folder(args.folder, args.repo_id, "space", space_sdk=args.sdk, **common)


def _dry_run(args) -> int:
    if args.command == "model":
        check_model_folder(args.folder)
    elif args.command == "dataset":
        check_dataset_folder(args.folder)
    check_licence(args.folder, args.repo_id, "model" if args.command == "adapter" else args.command, args.private)
    files = publishable_files(args.folder)
    print(f"Would push {len(files)} file(s) from {args.folder} to {args.repo_id}"
          f"{' (private)' if args.private else ''}{f' @ {args.revision}' if args.revision else ''}:")
    for name, path in files.items():
        print(f"  {name}  ({path.stat().st_size:,} bytes)")
    return 0


def _report(args, info) -> None:
    where = f"{args.repo_id}{f' @ {args.revision}' if args.revision else ''}"
    if info is None:
        print(f"Nothing changed: {where} already holds these files; no commit was made.")
    else:
        print(f"Pushed {args.folder} to {where}: commit {info.oid[:12]}\n{info.commit_url}")


if __name__ == "__main__":
    sys.exit(main())
