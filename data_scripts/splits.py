"""Splits without leaks: duplicates are counted, never allowed in two splits, and missing splits are made
deterministically (seeded), stratified by label (and language), with every copy of a text in the same split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .builder import SPLITS, DuplicateReport, OptionError

KEY = "__duplicate_key"


def normalize_text(text: str) -> str:
    """The duplicate key: whitespace runs collapsed to one space, ends stripped; nothing else changes."""
    return " ".join(text.split())


def duplicate_keys(texts: pd.Series) -> pd.Series:
    """`normalize_text` of every text."""
    return pd.Series([normalize_text(text) for text in texts.tolist()], index=texts.index, dtype=object)


def _keys(frame: pd.DataFrame, text_column: str) -> pd.Series:
    return frame[KEY] if KEY in frame else duplicate_keys(frame[text_column])


def _label_key(value) -> object:
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(sorted(int(v) for v in value))
    return value


def count_within_split_duplicates(
    splits: dict[str, pd.DataFrame], label_columns: Sequence[str], report: DuplicateReport, text_column: str = "text"
) -> None:
    """Record, per split, rows repeating an earlier text of the same split, and how many of them disagree on labels."""
    for name, frame in splits.items():
        keys = _keys(frame, text_column)
        repeated = keys.duplicated(keep="first")
        report.within_split[name] = int(repeated.sum())
        conflicting = 0
        if repeated.any() and label_columns:
            involved = keys.duplicated(keep=False)
            rows = frame.loc[involved, list(label_columns)]
            signature = pd.Series(
                [repr(tuple(_label_key(v) for v in values)) for values in zip(*(rows[c] for c in label_columns))],
                index=rows.index,
            )
            first_signature = signature.groupby(keys[involved], sort=False).transform("first")
            conflicting = int((repeated[involved] & (signature != first_signature)).sum())
        report.conflicting_labels[name] = conflicting


def drop_cross_split_duplicates(
    splits: dict[str, pd.DataFrame],
    report: DuplicateReport,
    priority: Sequence[str] = ("test", "validation", "train"),
    text_column: str = "text",
) -> dict[str, pd.DataFrame]:
    """Remove from each split the rows whose text occurs in a split earlier in `priority` (test is never touched)."""
    seen: set[str] = set()
    result = dict(splits)
    for name in priority:
        if name not in splits:
            continue
        frame = splits[name]
        keys = _keys(frame, text_column)
        leaked = keys.isin(seen)
        report.dropped_across_splits[name] = int(leaked.sum())
        result[name] = frame[~leaked].reset_index(drop=True)
        seen.update(keys[~leaked])
    report.priority = tuple(priority)
    return {name: result[name] for name in splits}


def stratified_group_split(
    frame: pd.DataFrame,
    fractions: dict[str, float],
    stratify: Callable[[pd.DataFrame], pd.Series],
    seed: int,
    text_column: str = "text",
) -> dict[str, pd.DataFrame]:
    """Split `frame` into `fractions` (e.g. {"train": .8, "validation": .1, "test": .1}), deterministically.

    Rows with the same normalised text form one group and go to one split together. Groups are ordered by
    stratum (`stratify(frame)` gives each row's stratum, e.g. language + label set) and shuffled within it by
    `seed`; walking that order, each group goes to the split furthest below its target share. Every stratum
    is thus cut in the target proportions (up to one group), and so is the whole.
    """
    if frame.empty:
        return {name: frame.copy() for name in fractions}
    names = list(fractions)
    targets = np.array([fractions[name] for name in names], dtype=float)
    if (targets < 0).any() or not np.isclose(targets.sum(), 1.0):
        raise OptionError(f"split fractions must be non-negative and sum to 1, got {fractions}")

    group_of_row, _ = pd.factorize(_keys(frame, text_column))
    first_row = pd.Series(np.arange(len(frame))).groupby(group_of_row).first().to_numpy()
    sizes = np.bincount(group_of_row)
    strata = stratify(frame).astype(str).to_numpy()
    stratum_of_group, _ = pd.factorize(strata[first_row], sort=True)
    shuffle = np.random.default_rng(seed).permutation(len(sizes))
    order = np.lexsort((shuffle, stratum_of_group))

    shares, assigned = targets.tolist(), [0.0] * len(names)
    split_of_group = np.empty(len(sizes), dtype=np.int64)
    total = 0.0
    for group, size in zip(order.tolist(), sizes[order].tolist()):
        total += size
        deficits = [share * total - done for share, done in zip(shares, assigned)]
        choice = deficits.index(max(deficits))  # ties go to the earlier split name
        split_of_group[group] = choice
        assigned[choice] += size
    split_of_row = split_of_group[group_of_row]
    return {name: frame[split_of_row == index].reset_index(drop=True) for index, name in enumerate(names)}


def make_splits(
    official: dict[str, pd.DataFrame],
    label_columns: Sequence[str],
    stratify: Callable[[pd.DataFrame], pd.Series] | None = None,
    stratify_by: str = "label",
    validation_size: float = 0.1,
    test_size: float = 0.1,
    seed: int = 42,
) -> tuple[dict[str, pd.DataFrame], DuplicateReport, str]:
    """train / validation / test from whatever official splits a source has, without duplicate texts across them.

    Official splits are kept (test first: rows of validation or train repeating a test text are dropped, then
    train rows repeating a validation text); a missing validation and/or test split is carved out of train
    with `stratified_group_split`. Returns the splits, the duplicate counts and a sentence for the card.
    """
    report = DuplicateReport()
    official = {name: frame.reset_index(drop=True) for name, frame in official.items()}
    official = {name: frame.assign(**{KEY: duplicate_keys(frame["text"])}) for name, frame in official.items()}
    unknown = set(official) - set(SPLITS)
    if unknown or not official:
        raise ValueError(f"official splits must be among {SPLITS}, got {sorted(official)}")
    official = drop_cross_split_duplicates(official, report)

    missing = [name for name in ("validation", "test") if name not in official]
    if missing and "train" in official:
        sizes = {"validation": validation_size, "test": test_size}
        fractions = {"train": 1.0 - sum(sizes[name] for name in missing)} | {name: sizes[name] for name in missing}
        if fractions["train"] <= 0:
            raise OptionError(
                f"--validation-size + --test-size must be below 1, got {validation_size} + {test_size}"
            )
        if stratify is None:
            raise ValueError(f"the source lacks {missing}: give `stratify` to carve them out of train")
        carved = stratified_group_split(official["train"], fractions, stratify, seed)
        splits = {name: carved.get(name, official.get(name)) for name in SPLITS}
        made = " and ".join(f"`{name}` ({sizes[name]:.0%})" for name in missing)
        how = (
            f"The source has no {' or '.join(missing)} split: {made} were carved out of the official `train` "
            f"split, stratified by {stratify_by}, with seed {seed}. Rows sharing a text were kept "
            "together in one split."
        )
        kept = [name for name in official if name != "train"]
        if kept:
            how += " " + ", ".join(f"`{name}`" for name in kept) + " is the official split."
    else:
        splits = {name: official[name] for name in SPLITS if name in official}
        how = f"The official {' / '.join(splits)} split{'s' if len(splits) > 1 else ''} of the source."
    dropped = {name: count for name, count in report.dropped_across_splits.items() if count}
    if dropped:
        how += (
            " Rows whose text also occurs in a later split (priority test, validation, train) were removed: "
            + ", ".join(f"{count} from `{name}`" for name, count in dropped.items())
            + "."
        )
    count_within_split_duplicates(splits, label_columns, report)
    return {name: frame.drop(columns=KEY) for name, frame in splits.items()}, report, how
