"""MovieLens for sequential recommendation: one row per user with the chronological item sequence.

Three builders share the protocol code:
- `movielens_100k`: the original ML-100K files `u.data` (user, item, rating, timestamp; TAB) and `u.item`
  (Latin-1, `|`-separated, 19 genre flags named by `u.genre`).
- `movielens_1m`: the original ML-1M files `ratings.dat` (`UserID::MovieID::Rating::Timestamp`) and
  `movies.dat` (Latin-1, `MovieID::Title::Genres`).
- `movielens_1m_sasrec`: the SASRec version of ML-1M as distributed with gSASRec (`sasrec_gsasrec/
  train_input.txt`, one user per line, items in order) with SAS ids mapped back to MovieLens ids through
  `sas_mapping/`; it has no ratings or timestamps, and it lacks each user's last two interactions.

Implicit feedback keeps ratings >= `--min-rating` (4 by default, as in the BERT4Rec study; 0 keeps all, as in
SASRec); users with fewer than `--min-interactions` are dropped; ties in time are broken by item id. Splits
(`--protocol`): `leave_one_out` (test target = last item, validation target = second-to-last) or `last_k` (the
last k items are the test targets, the k before them the validation targets). A user's `train` history ends
before their validation targets, so no target is ever trained on.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Features, Sequence, Value

from .builder import Builder, BuildLog, BuiltDataset, DataFormatError, OptionError, SourceNotFoundError
from .download import RemoteFile
from .readers import iter_lines

PROTOCOLS = ("leave_one_out", "last_k")


@dataclass
class Catalogue:
    """Item metadata: item id -> (title, genres)."""

    titles: dict[int, str]
    genres: dict[int, list[str]]
    file: str


def sequence_rows(
    interactions: pd.DataFrame, protocol: str, k: int, min_interactions: int
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Per-user train / validation / test rows from interactions already in chronological order per user.

    `interactions` has `user_id`, `item_id` and optionally `timestamp`, `rating`; rows of a user must be in
    order (callers sort by time, then item id). Returns the splits and counts for the card.
    """
    held_out = 1 if protocol == "leave_one_out" else k
    extras = [column for column in ("timestamp", "rating") if column in interactions]
    users = interactions["user_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], len(users)]
    if len(np.unique(users[starts])) != len(starts):
        raise ValueError("interactions must be grouped by user (sorted by user, then time)")
    columns = {name: interactions[name].to_numpy() for name in ["item_id", *extras]}
    names = {"timestamp": "timestamps", "rating": "ratings"}

    rows: dict[str, dict[str, list]] = {
        split: {"user_id": [], "item_ids": [], "targets": [], **{names[e]: [] for e in extras}}
        for split in ("train", "validation", "test")
    }
    stats = {"users_too_few_interactions": 0, "users_too_short_for_protocol": 0, "users_without_validation": 0}

    def add(split: str, user: int, start: int, history_end: int, target_end: int) -> None:
        row = rows[split]
        row["user_id"].append(int(user))
        row["item_ids"].append(columns["item_id"][start:history_end].tolist())
        row["targets"].append(columns["item_id"][history_end:target_end].tolist())
        for extra in extras:
            row[names[extra]].append(columns[extra][start:history_end].tolist())

    for start, end in zip(starts.tolist(), ends.tolist()):
        length, user = end - start, users[start]
        if length < min_interactions:
            stats["users_too_few_interactions"] += 1
            continue
        if length <= held_out:
            stats["users_too_short_for_protocol"] += 1
            continue
        add("test", user, start, end - held_out, end)
        if length - 2 * held_out >= 1:
            add("validation", user, start, end - 2 * held_out, end - held_out)
            add("train", user, start, end - 2 * held_out, end - 2 * held_out)
        else:
            stats["users_without_validation"] += 1
            add("train", user, start, end - held_out, end - held_out)
    return {split: pd.DataFrame(columns) for split, columns in rows.items()}, stats


class _MovieLens(Builder):
    """What the MovieLens builders share: licence, options, the protocol and the card."""

    homepage = "https://grouplens.org/datasets/movielens/"
    citation = """@article{harper2015movielens,
  title = {The {MovieLens} Datasets: History and Context},
  author = {Harper, F. Maxwell and Konstan, Joseph A.},
  journal = {ACM Transactions on Interactive Intelligent Systems},
  volume = {5},
  number = {4},
  pages = {19:1--19:19},
  year = {2015},
  doi = {10.1145/2827872}
}"""
    license = "other"
    license_name = "movielens-research-only"
    license_link = "https://files.grouplens.org/datasets/movielens/ml-1m-README.txt"
    license_text = (
        "MovieLens usage licence (GroupLens, University of Minnesota): research use only, acknowledge the data "
        "set (Harper & Konstan 2015), no commercial use without permission, and 'the user may not redistribute "
        "the data without separate permission'."
    )
    redistributable = False
    task_categories = ["other"]
    tags = ["recommendation", "sequential-recommendation", "movielens"]
    download_base_url = "https://files.grouplens.org/datasets/movielens"
    has_ratings = True
    variant_note = ""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        if cls.has_ratings:
            parser.add_argument(
                "--min-rating",
                type=int,
                default=4,
                help="implicit feedback: keep ratings >= this (4 as in BERT4Rec; 0 keeps every rating, as in SASRec)",
            )
        parser.add_argument("--min-interactions", type=int, default=5, help="drop users with fewer interactions")
        parser.add_argument("--protocol", choices=PROTOCOLS, default="leave_one_out", help="how targets are held out")
        parser.add_argument("--k", type=int, default=5, help="targets per user for --protocol last_k")

    def read(self, source: Path, log: BuildLog) -> tuple[pd.DataFrame, Catalogue, list[str]]:
        """(interactions with user_id, item_id[, timestamp, rating], catalogue, files read)."""
        raise NotImplementedError

    def build(self, source: Path, options: argparse.Namespace, log: BuildLog) -> BuiltDataset:
        if options.k < 1 or options.min_interactions < 1:
            raise OptionError(
                f"--k and --min-interactions must be at least 1, got {options.k}, {options.min_interactions}"
            )
        interactions, catalogue, files = self.read(source, log)
        read_total = len(interactions)
        if read_total == 0:
            raise DataFormatError(
                f"{self.name}: no interactions could be read from {files[0]} under {source}; check that it is the "
                "original file (or pass --download)."
            )
        if self.has_ratings:
            interactions = interactions[interactions["rating"] >= options.min_rating]
            interactions = interactions.sort_values(["user_id", "timestamp", "item_id"], kind="stable")
        interactions = interactions.reset_index(drop=True)
        splits, stats = (
            sequence_rows(interactions, options.protocol, options.k, options.min_interactions)
            if len(interactions)
            else ({"test": []}, {})
        )
        if len(splits["test"]) == 0:
            setting = f"--min-rating {options.min_rating}, " if self.has_ratings else ""
            raise OptionError(
                f"{self.name}: {setting}--min-interactions {options.min_interactions} and --protocol "
                f"{options.protocol} leave no user of the {read_total:,} interactions read from {files[0]}; lower "
                f"{'--min-rating or ' if self.has_ratings else ''}--min-interactions."
            )

        kept_users = set(splits["test"]["user_id"])
        kept = interactions[interactions["user_id"].isin(kept_users)]
        item_ids = sorted(set(kept["item_id"].tolist()))
        items = pd.DataFrame(
            {
                "item_id": item_ids,
                "title": [catalogue.titles[i] for i in item_ids],
                "genres": [catalogue.genres[i] for i in item_ids],
            }
        )
        sequence_features = {
            "user_id": Value("int64"),
            "item_ids": Sequence(Value("int64")),
            "targets": Sequence(Value("int64")),
        }
        if self.has_ratings:
            sequence_features |= {"timestamps": Sequence(Value("int64")), "ratings": Sequence(Value("int64"))}
        held_out = "the last item" if options.protocol == "leave_one_out" else f"the last {options.k} items"
        if options.protocol == "leave_one_out":
            validation = "the second-to-last item"
        else:
            validation = f"the {options.k} items before those"
        if not self.has_ratings:
            threshold = "every interaction of the source is kept (it has no ratings)"
        elif options.min_rating > 0:
            threshold = f"ratings >= {options.min_rating} count as interactions"
        else:
            threshold = "every rating counts as an interaction"
        how = (
            f"Protocol `{options.protocol}`: `test` holds each user's history up to {held_out}, which are the "
            f"targets; `validation` the history before that with {validation} as targets; `train` the history "
            "before the validation targets, with no targets (so nothing held out is ever trained on). "
            f"Implicit feedback: {threshold}; users with fewer than {options.min_interactions} interactions are "
            "dropped; items in time order" + (", ties broken by item id." if self.has_ratings else " as in the source.")
        )
        if stats["users_without_validation"]:
            how += (
                f" {stats['users_without_validation']:,} users are too short for a validation row (fewer than "
                f"{2 * (1 if options.protocol == 'leave_one_out' else options.k) + 1} interactions): their `train` "
                "history runs up to the test targets."
            )
        counts = {
            "interactions_read": read_total,
            "interactions_kept": len(kept),
            "users": len(kept_users),
            "items": len(item_ids),
            **stats,
        }
        notes = [
            f"{counts['users']:,} users, {counts['items']:,} items and {counts['interactions_kept']:,} interactions "
            f"(of {read_total:,} read). Users dropped: {stats['users_too_few_interactions']:,} with fewer than "
            f"{options.min_interactions} interactions, {stats['users_too_short_for_protocol']:,} too short for the "
            "protocol.",
            "`items` lists the items that occur in the built sequences (the catalogue to rank), with the "
            "metadata file's title and genres.",
        ]
        if self.variant_note:
            notes.insert(0, self.variant_note)
        return BuiltDataset(
            configs={"sequences": splits, "items": {"train": items}},
            features={"sequences": Features(sequence_features), "items": Features(
                {"item_id": Value("int64"), "title": Value("string"), "genres": Sequence(Value("string"))}
            )},
            field_descriptions={
                "user_id": "the original MovieLens user id",
                "item_ids": "the model's input history, chronological, original MovieLens item (movie) ids",
                "targets": "the held-out items to predict (empty in `train`)",
                "timestamps": "Unix time of each item in `item_ids`",
                "ratings": "the 1-5 star rating of each item in `item_ids`",
                "item_id": "original MovieLens item id",
                "title": "movie title with year",
                "genres": "genres of the movie",
            },
            config_descriptions={
                "sequences": f"one row per user, protocol `{options.protocol}`",
                "items": "item metadata (split `train` only)",
            },
            splits_description=how,
            notes=notes,
            metadata={
                "protocol": options.protocol,
                "k": options.k if options.protocol == "last_k" else 1,
                "min_rating": options.min_rating if self.has_ratings else None,
                "min_interactions": options.min_interactions,
                "statistics": counts,
            },
            source_files=files,
            summary_lines=[
                f"{counts['users']:,} users, {counts['items']:,} items, {counts['interactions_kept']:,} of "
                f"{read_total:,} interactions kept; users dropped: {stats['users_too_few_interactions']:,} "
                f"(< {options.min_interactions} interactions), {stats['users_too_short_for_protocol']:,} (too short "
                "for the protocol)"
            ],
        )

    @staticmethod
    def _folder(source: Path, marker: str, subfolder: str) -> Path:
        """The folder holding `marker`: `source` itself or its `subfolder` (as the official zip unpacks)."""
        if (source / marker).is_file():
            return source
        if (source / subfolder / marker).is_file():
            return source / subfolder
        return source

    @staticmethod
    def _read_ratings(
        path: Path, separator: str, catalogue: Catalogue, log: BuildLog
    ) -> pd.DataFrame:
        users, items, ratings, times = [], [], [], []
        seen: dict[tuple[int, int], int] = {}  # (user, item) -> line
        for line, text in iter_lines(path, log, encoding="latin-1"):
            if not text.strip():
                continue
            fields = text.split(separator)
            if len(fields) != 4:
                detail = f"{len(fields)} fields, expected user, item, rating, timestamp"
                log.bad_row(path, line, "wrong column count", detail)
                continue
            try:
                user, item, rating, timestamp = (int(field) for field in fields)
            except ValueError:
                log.bad_row(path, line, "not an integer", repr(text))
                continue
            if not 1 <= rating <= 5:
                log.bad_row(path, line, "unknown label", f"rating {rating}: expected 1-5")
                continue
            if item not in catalogue.titles:
                log.bad_row(path, line, "unknown item", f"item {item} is not in {catalogue.file}")
                continue
            if (user, item) in seen:  # kept, a test target could sit in its own history
                detail = f"user {user} already rated item {item} on line {seen[(user, item)]}"
                log.bad_row(path, line, "duplicate interaction", detail)
                continue
            seen[(user, item)] = line
            users.append(user)
            items.append(item)
            ratings.append(rating)
            times.append(timestamp)
        return pd.DataFrame({"user_id": users, "item_id": items, "timestamp": times, "rating": ratings})

    @staticmethod
    def _read_movies_dat(path: Path, log: BuildLog) -> Catalogue:
        titles, genres = {}, {}
        for line, text in iter_lines(path, log, encoding="latin-1"):
            if not text.strip():
                continue
            fields = text.split("::")
            if len(fields) != 3 or not fields[0].isdigit():
                log.bad_row(path, line, "wrong column count", "expected MovieID::Title::Genres")
                continue
            movie = int(fields[0])
            if movie in titles:
                log.bad_row(path, line, "duplicate id", f"movie {movie} appears twice")
                continue
            titles[movie] = fields[1]
            genres[movie] = [genre for genre in fields[2].split("|") if genre]
        return Catalogue(titles, genres, path.name)


class MovieLens100K(_MovieLens):
    name = "movielens_100k"
    pretty_name = "MovieLens 100K (sequences for sequential recommendation)"
    description = (
        "100,000 ratings (1-5) from 943 users on 1,682 movies, September 1997 to April 1998 (GroupLens "
        "ML-100K), as one chronological item sequence per user for sequential recommendation."
    )
    source_hint = "--source must hold the ml-100k files u.data, u.item and u.genre (or an ml-100k/ folder with them)."

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        return [RemoteFile("ml-100k.zip", "ml-100k", extract=True)]

    def read(self, source: Path, log: BuildLog) -> tuple[pd.DataFrame, Catalogue, list[str]]:
        folder = self._folder(source, "u.data", "ml-100k")
        data, item, genre = self.require(folder, "u.data", "u.item", "u.genre")
        genre_names = {}
        for line, text in iter_lines(genre, log, encoding="latin-1"):
            if text.strip():
                name, _, index = text.partition("|")
                if not index.strip().isdigit():
                    raise DataFormatError(f"{genre}:{line}: expected genre|index, got {text!r}")
                genre_names[int(index)] = name
        names = [genre_names[i] for i in sorted(genre_names)]
        titles, genres = {}, {}
        for line, text in iter_lines(item, log, encoding="latin-1"):
            if not text.strip():
                continue
            fields = text.split("|")
            if len(fields) != 5 + len(names):
                log.bad_row(item, line, "wrong column count", f"{len(fields)} fields, expected {5 + len(names)}")
                continue
            if not fields[0].isdigit() or any(flag not in ("0", "1") for flag in fields[5:]):
                log.bad_row(item, line, "not an integer", "expected a numeric movie id and 0/1 genre flags")
                continue
            movie = int(fields[0])
            if movie in titles:
                log.bad_row(item, line, "duplicate id", f"movie {movie} appears twice")
                continue
            titles[movie] = fields[1]
            genres[movie] = [name for name, flag in zip(names, fields[5:]) if flag == "1"]
        catalogue = Catalogue(titles, genres, item.name)
        ratings = self._read_ratings(data, "\t", catalogue, log)
        prefix = "" if folder == source else f"{folder.name}/"
        return ratings, catalogue, [f"{prefix}u.data", f"{prefix}u.item", f"{prefix}u.genre"]


class MovieLens1M(_MovieLens):
    name = "movielens_1m"
    pretty_name = "MovieLens 1M (sequences for sequential recommendation)"
    description = (
        "1,000,209 ratings (1-5) from 6,040 users on 3,706 of 3,883 movies (GroupLens ML-1M, 2000-2003), as one "
        "chronological item sequence per user for sequential recommendation, read from the original "
        "`ratings.dat` and `movies.dat`."
    )
    source_hint = "--source must hold the ml-1m files ratings.dat and movies.dat (or an ml-1m/ folder with them)."

    def remote_files(self, options: argparse.Namespace) -> list[RemoteFile]:
        return [RemoteFile("ml-1m.zip", "ml-1m", extract=True)]

    def read(self, source: Path, log: BuildLog) -> tuple[pd.DataFrame, Catalogue, list[str]]:
        folder = self._folder(source, "ratings.dat", "ml-1m")
        ratings_path, movies_path = self.require(folder, "ratings.dat", "movies.dat")
        catalogue = self._read_movies_dat(movies_path, log)
        ratings = self._read_ratings(ratings_path, "::", catalogue, log)
        prefix = "" if folder == source else f"{folder.name}/"
        return ratings, catalogue, [f"{prefix}ratings.dat", f"{prefix}movies.dat"]


class MovieLens1MSasrec(_MovieLens):
    name = "movielens_1m_sasrec"
    pretty_name = "MovieLens 1M, SASRec version (sequences for sequential recommendation)"
    description = (
        "The SASRec version of ML-1M used by SASRec, BERT4Rec and gSASRec (6,040 users, 3,416 items with at "
        "least 5 ratings, every rating an interaction), from the gSASRec distribution, with item and user ids "
        "mapped back to the original MovieLens ids so that titles and genres join from `movies.dat`. "
        "**This is ML-1M minus each user's last two interactions.**"
    )
    has_ratings = False
    download_base_url = None
    no_download_reason = (
        "The SASRec-format files have no official download: take datasets/ml1m/train/input.txt from "
        "github.com/asash/gSASRec-pytorch (as sasrec_gsasrec/train_input.txt), sas_to_original_{items,users}.txt "
        "from github.com/asash/ml1m-sas-mapping (into sas_mapping/) and movies.dat from the official ml-1m.zip."
    )
    source_hint = (
        "--source must hold sasrec_gsasrec/train_input.txt, sas_mapping/sas_to_original_items.txt, "
        "sas_mapping/sas_to_original_users.txt and movies.dat."
    )
    variant_note = (
        "**ML-1M minus each user's last two interactions.** The sequences are the `train_input.txt` lines of the "
        "gSASRec distribution of SASRec's ML-1M, which stop before each user's last two interactions (the last "
        "one for 5,528 users, the last two for the 512 validation users of gSASRec, whose validation and test "
        "items are not used here); the held-out items above are taken from these sequences. Numbers on this "
        "split are not directly comparable with papers that use the full sequences."
    )

    def read(self, source: Path, log: BuildLog) -> tuple[pd.DataFrame, Catalogue, list[str]]:
        names = [
            "sasrec_gsasrec/train_input.txt",
            "sas_mapping/sas_to_original_items.txt",
            "sas_mapping/sas_to_original_users.txt",
            "movies.dat",
        ]
        sequences_path, items_path, users_path, movies_path = self.require(source, *names)
        catalogue = self._read_movies_dat(movies_path, log)
        item_map = self._read_mapping(items_path, log)
        user_map = self._read_mapping(users_path, log)
        unknown = sorted(original for original in item_map.values() if original not in catalogue.titles)
        if unknown:
            raise DataFormatError(f"{items_path}: maps to MovieIDs missing from {movies_path.name}: {unknown[:5]}")
        users, items = [], []
        for line, text in iter_lines(sequences_path, log):
            if not text.strip():
                continue
            if line not in user_map:
                log.bad_row(sequences_path, line, "unknown user", f"SAS user {line} is not in {users_path.name}")
                continue
            try:
                sas_items = [int(token) for token in text.split()]
            except ValueError:
                bad = next(token for token in text.split() if not token.lstrip("-").isdigit())
                log.bad_row(sequences_path, line, "not an integer", f"item {bad!r}")
                continue
            missing = [item for item in sas_items if item not in item_map]
            if missing:
                log.bad_row(sequences_path, line, "unknown item", f"SAS item {missing[0]} is not in {items_path.name}")
                continue
            users += [user_map[line]] * len(sas_items)
            items += [item_map[item] for item in sas_items]
        frame = pd.DataFrame({"user_id": users, "item_id": items})
        if frame.empty:
            raise SourceNotFoundError(f"movielens_1m_sasrec: {sequences_path} holds no sequences")
        return frame, catalogue, names

    @staticmethod
    def _read_mapping(path: Path, log: BuildLog) -> dict[int, int]:
        mapping, seen = {}, {}
        for line, text in iter_lines(path, log):
            if not text.strip():
                continue
            fields = text.split()
            if len(fields) != 2 or not all(field.isdigit() for field in fields):
                log.bad_row(path, line, "wrong column count", "expected 'sas_id original_id'")
                continue
            sas, original = int(fields[0]), int(fields[1])
            if sas in mapping or original in seen:
                log.bad_row(path, line, "duplicate id", f"{text.strip()!r}: the mapping must be one-to-one")
                continue
            mapping[sas] = original
            seen[original] = sas
        return mapping
