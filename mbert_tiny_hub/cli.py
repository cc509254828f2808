"""One flag style for every command line of the project: Hugging Face's (`--output_dir`, `--push_to_hub`), with the
hyphenated spelling (`--output-dir`) accepted as well, so neither habit fails."""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """argparse's own formatters together: descriptions and epilogs as written, every option's default shown."""


def accept_both_spellings(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every `--long_option` of `parser` (and of its sub-commands) its other spelling: `--output_dir` answers
    to `--output-dir` and the reverse. Call it once the parser is built; returns the parser."""
    for action in list(parser._actions):
        if isinstance(action, argparse._SubParsersAction):
            for subparser in set(action.choices.values()):
                accept_both_spellings(subparser)
            continue
        for option in list(action.option_strings):
            if not option.startswith("--"):
                continue
            name = option[2:]
            for other in {"--" + name.replace("-", "_"), "--" + name.replace("_", "-")} - {option}:
                if other not in parser._option_string_actions:
                    # The underscore spelling first: it is the one --help shows as the command's own.
                    action.option_strings.insert(0, other) if "_" in other else action.option_strings.append(other)
                    parser._option_string_actions[other] = action
    return parser


__all__ = ["HelpFormatter", "accept_both_spellings"]
