"""Command line: `python -m data_scripts list` and `python -m data_scripts build NAME --source DIR --out DIR`."""

from __future__ import annotations

import argparse
import sys

from mbert_tiny_hub.cli import accept_both_spellings

from . import BUILDERS, build, get_builder, options_parser
from .builder import DataFormatError, OptionError, SourceNotFoundError
from .download import DownloadError
from .writer import OutputExistsError, OutputNotWritableError

USER_ERRORS = (
    DataFormatError, OptionError, SourceNotFoundError, DownloadError, OutputExistsError, OutputNotWritableError
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m data_scripts",
        description="Build Hub-ready Parquet datasets with dataset cards from the raw corpora.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the dataset builders")
    build_parser = commands.add_parser("build", help="build one dataset (see `build NAME --help`)")
    names = build_parser.add_subparsers(dest="name", required=True, metavar="NAME", help=", ".join(BUILDERS))
    for name in BUILDERS:
        builder = get_builder(name)
        sub = names.add_parser(
            name,
            help=builder.pretty_name,
            description=f"{builder.pretty_name}. {builder.source_hint}",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        common = sub.add_argument_group("source and output")
        common.add_argument(
            "--source", help="folder with the original files (if unset, with --download: data/raw/NAME)"
        )
        common.add_argument("--out", help="output folder (if unset: data/NAME)")
        common.add_argument(
            "--download",
            action="store_true",
            help="fetch the official files into --source first"
            + ("" if builder.download_base_url else f" (not available: {builder.no_download_reason})"),
        )
        common.add_argument(
            "--base-url",
            help=f"replace the official base URL (also: DATA_SCRIPTS_{name.upper()}_BASE_URL); "
            f"official: {builder.download_base_url or 'none'}",
        )
        common.add_argument(
            "--lenient", action="store_true", help="drop and count malformed rows instead of stopping at the first"
        )
        options_parser(builder, sub.add_argument_group(f"{name} options"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = accept_both_spellings(_parser()).parse_args(argv)
    if args.command == "list":
        width = max(map(len, BUILDERS))
        for name in BUILDERS:
            builder = get_builder(name)
            licence = "" if builder.redistributable else "  [no redistribution]"
            print(f"{name.ljust(width)}  {builder.pretty_name}{licence}")
        return 0

    builder = get_builder(args.name)
    option_names = [action.dest for action in options_parser(builder)._actions if action.dest != "help"]
    options = {dest: getattr(args, dest) for dest in option_names}
    try:
        result = build(
            args.name,
            source=args.source,
            out=args.out,
            download=args.download,
            base_url=args.base_url,
            lenient=args.lenient,
            **options,
        )
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
