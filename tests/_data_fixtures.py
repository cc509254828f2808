"""Small source trees in each corpus's original format, written by the tests (never copied from ../shared).

Every writer returns the folder to pass as `--source`. Texts are invented; the formats follow each corpus's
official distribution (see the builders' docstrings).
"""

from __future__ import annotations

import csv
import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
from datasets import Features


def read_split(out: Path, config: str, split: str) -> list[dict]:
    """A built split as rows, read straight from its Parquet file."""
    return pq.read_table(out / config / f"{split}-00000-of-00001.parquet").to_pylist()


def read_features(out: Path, config: str, split: str = "train") -> Features:
    schema = pq.read_schema(out / config / f"{split}-00000-of-00001.parquet")
    return Features.from_arrow_schema(schema)


def _write_csv(path: Path, header: list[str] | None, rows: list[list], delimiter: str = ",", line_end: str = "\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


# GoEmotions: TSV without header: text, comma-separated emotion ids, comment id
GOEMOTIONS_EMOTIONS = ["admiration", "anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
GOEMOTIONS_EKMAN = (
    '{"anger": ["anger"], "disgust": ["disgust"], "fear": ["fear"], '
    '"joy": ["joy", "admiration"], "sadness": ["sadness"], "surprise": ["surprise"]}'
)


def goemotions_rows(split: str) -> list[tuple[str, str, str]]:
    if split == "train":
        return [
            ("What a great goal by [NAME]!", "0,4", "t01"),
            ("This makes me so angry", "1", "t02"),
            ("Gross, who eats that", "2", "t03"),
            ("I'm scared of the dark", "3", "t04"),
            ("Best day ever", "4", "t05"),
            ("I miss my dog", "5", "t06"),
            ("Wait, what?", "6", "t07"),
            ("It is a Tuesday", "7", "t08"),
            ("It is a   Tuesday", "7", "t09"),  # repeats t08 after whitespace normalisation
            ('He said "no" and left', "1,5", "t10"),
            ("Seen in test too", "4", "t11"),  # also in test: dropped from train
            ("Nice work", "0", "t12"),
        ]
    if split == "dev":
        return [("Ok then", "7", "d01"), ("So happy for you", "4", "d02"), ("That is awful", "1,2", "d03")]
    return [("Seen in test too", "6", "s01"), ("Terrifying stuff", "3", "s02"), ("Meh", "7", "s03")]


def write_goemotions(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        lines = ["\t".join(row) for row in goemotions_rows(split)]
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "emotions.txt").write_text("\n".join(GOEMOTIONS_EMOTIONS) + "\n", encoding="utf-8")
    (root / "ekman_mapping.json").write_text(GOEMOTIONS_EKMAN, encoding="utf-8")
    return root


# BRIGHTER: track_a/train/<lang>.csv, header id,text,<emotion columns> (order and set vary per language)
BRIGHTER_COLUMNS = {
    "eng": ["anger", "fear", "joy", "sadness", "surprise"],  # no disgust
    "afr": ["anger", "disgust", "fear", "joy", "sadness"],  # no surprise
    "deu": ["joy", "anger", "disgust", "fear", "sadness", "surprise"],  # another order
}


def brighter_rows(language: str, count: int = 30) -> list[list]:
    columns = BRIGHTER_COLUMNS[language]
    rows = []
    for index in range(count):
        flags = [1 if (index + position) % (position + 2) == 0 else 0 for position in range(len(columns))]
        text = f"{language} text number {index}, with a comma"
        if index == 3:
            text = f'{language} says "quoted"\nover two lines'
        rows.append([f"{language}_train_{index:03d}", text, *flags])
    rows.append([f"{language}_train_dup", f"{language} text number 5, with a comma", *([0] * len(columns))])
    return rows


def write_brighter(root: Path, languages=("eng", "afr", "deu")) -> Path:
    folder = root / "track_a" / "train"
    for language in languages:
        _write_csv(folder / f"{language}.csv", ["id", "text", *BRIGHTER_COLUMNS[language]], brighter_rows(language))
    _write_csv(
        folder / "ron_track1_test.csv",
        ["id", "text", "Joy", "Fear", "Anger", "Sadness", "Disgust", "Surprise"],
        [["ron_1", "un text", 1, 0, 0, 0, 0, 0]],
    )
    return root


# XED: TSV without header, `sentence<TAB>1, 4`, CRLF; tr-projections2.tsv has a header row
def write_xed(root: Path) -> Path:
    gold_en = [[f"English line {i}", ", ".join(str(1 + (i + j) % 8) for j in range(1 + i % 2))] for i in range(20)]
    gold_en.append(['He said "run"\nand ran', "4, 7"])
    gold_fi = [[f"Suomen rivi {i}", str(1 + i % 8)] for i in range(15)]
    _write_csv(root / "AnnotatedData" / "en-annotated.tsv", None, gold_en, delimiter="\t", line_end="\r\n")
    _write_csv(root / "AnnotatedData" / "fi-annotated.tsv", None, gold_fi, delimiter="\t", line_end="\r\n")
    silver_de = [[f"Deutsche Zeile {i}", f"{1 + i % 8}, {1 + (i + 3) % 8}"] for i in range(12)]
    silver_de.append(["English line 0", "1"])  # the same text as a gold row: kept in the same split
    _write_csv(root / "Projections" / "de-projections.tsv", None, silver_de, delimiter="\t", line_end="\r\n")
    silver_tr = [[f"Türkçe satır {i}", str(1 + i % 8)] for i in range(10)]
    tr_path = root / "Projections" / "tr-projections2.tsv"
    _write_csv(tr_path, ["phrase", "emotion"], silver_tr, delimiter="\t", line_end="\r\n")
    neutral = "".join(f"9\tNeutral English {i}\n" for i in range(6))
    (root / "AnnotatedData" / "neu_en.txt").write_text(neutral, encoding="utf-8")
    neutral_fi = "".join(f"{i}\tNeutraali {i}\t2\t{i}\tfi/1965/1/1.xml.gz\n" for i in range(4))
    (root / "AnnotatedData" / "neu_fi.txt").write_text(neutral_fi, encoding="utf-8")
    return root


# POLAR: subtask{1,2,3}/train/<lang>.csv sharing ids
POLAR_TYPES = ["political", "racial/ethnic", "religious", "gender/sexual", "other"]
POLAR_MANIFESTATIONS = [
    "stereotype", "vilification", "dehumanization", "extreme_language", "lack_of_empathy", "invalidation",
]  # fmt: skip


def polar_rows(language: str, count: int = 24) -> list[dict]:
    rows = []
    for index in range(count):
        polarized = index % 3 != 0
        rows.append(
            {
                "id": f"{language}_{index:032x}",
                "text": f"{language} post {index}, about things" + ("\nsecond line" if index == 2 else ""),
                "polarization": int(polarized),
                "types": [int(polarized and (index + k) % 4 == 0) for k in range(5)],
                "manifestations": [int(polarized and (index + k) % 5 == 0) for k in range(6)],
            }
        )
    return rows


def write_polar(root: Path, languages=("eng", "ita"), without_subtask3=("ita",)) -> Path:
    for language in languages:
        rows = polar_rows(language)
        _write_csv(
            root / "subtask1" / "train" / f"{language}.csv",
            ["id", "text", "polarization"],
            [[r["id"], r["text"], r["polarization"]] for r in rows],
        )
        _write_csv(
            root / "subtask2" / "train" / f"{language}.csv",
            ["id", "text", *POLAR_TYPES],
            [[r["id"], r["text"], *r["types"]] for r in rows],
        )
        if language not in without_subtask3:
            _write_csv(
                root / "subtask3" / "train" / f"{language}.csv",
                ["id", "text", *POLAR_MANIFESTATIONS],
                [[r["id"], r["text"], *r["manifestations"]] for r in rows],
            )
    return root


# UMSAB: <language>/{train,val,test}_{text,labels}.txt, aligned line by line, no trailing newline
def write_umsab(root: Path, languages=("english", "italian")) -> Path:
    sizes = {"train": 12, "val": 3, "test": 6}
    for language in languages:
        for split, size in sizes.items():
            texts = [f"{language} {split} tweet {i} @user" for i in range(size)]
            if split == "train" and language == "english":
                texts[0] = f"{language} test tweet 0 @user"  # also in test: dropped from train
            labels = [str(i % 3) for i in range(size)]
            folder = root / language
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{split}_text.txt").write_text("\n".join(texts), encoding="utf-8")
            (folder / f"{split}_labels.txt").write_text("\n".join(labels), encoding="utf-8")
    return root


# IMDB: the official tree aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt, or its CSV.gz repack
def imdb_reviews() -> list[tuple[str, int, int, int, str]]:
    """(split, label, id, rating, text)."""
    reviews = []
    for split in ("train", "test"):
        for label, ratings in ((0, (1, 2, 3, 4)), (1, (7, 8, 9, 10))):
            for index in range(10):
                text = f"{split} review {index} of a {'bad' if label == 0 else 'good'} film.<br /><br />The end"
                reviews.append((split, label, index, ratings[index % 4], text))
    reviews.append(("train", 1, 99, 9, "test review 3 of a good film.<br /><br />The end"))  # repeats a test review
    return reviews


def write_imdb_tree(root: Path) -> Path:
    for split, label, index, rating, text in imdb_reviews():
        folder = root / "aclImdb" / split / ("neg" if label == 0 else "pos")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index}_{rating}.txt").write_text(text, encoding="utf-8")
    (root / "aclImdb" / "README").write_text("Large Movie Review Dataset v1.0 (test fixture)\n", encoding="utf-8")
    return root


def write_imdb_csv(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id", "rating", "label", "text"])
        for review_split, label, index, rating, text in imdb_reviews():
            if review_split == split:
                writer.writerow([index, rating, label, text])
        (root / f"{split}.csv.gz").write_bytes(gzip.compress(buffer.getvalue().encode("utf-8")))
    return root


def imdb_archive(tmp: Path) -> bytes:
    """aclImdb_v1.tar.gz of the fixture tree."""
    tree = write_imdb_tree(tmp / "tree")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(tree / "aclImdb", arcname="aclImdb")
    return buffer.getvalue()


# AG News: official CSV, no header, every field quoted: class index 1-4, title, description
def ag_news_rows(split: str) -> list[list]:
    count = 12 if split == "train" else 4
    return [[str(1 + i % 4), f"{split} title {i}", f"{split} description {i}, with a comma"] for i in range(count)]


def write_ag_news(root: Path, splits=("train", "test"), header: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split in splits:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
        if header:
            writer.writerow(["label", "title", "description"])
        writer.writerows(ag_news_rows(split))
        (root / f"{split}.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (root / "classes.txt").write_text("World\nSports\nBusiness\nSci/Tech\n", encoding="utf-8")
    return root


# MovieLens
ML_GENRES = ["unknown", "Action", "Comedy", "Drama"]
ML_TITLES = {1: "Toy Story (1995)", 2: "GoldenEye (1995)", 3: "Café au lait (1993)", 4: "Heat (1995)",
             5: "Babe (1995)", 6: "Se7en (1995)", 7: "Fargo (1996)", 8: "Casino (1995)", 9: "Clueless (1995)",
             10: "Twister (1996)", 11: "Emma (1996)", 12: "Kolya (1996)"}  # fmt: skip
ML_ITEM_GENRES = {1: ["Comedy"], 2: ["Action"], 3: ["Comedy", "Drama"], 4: ["Action", "Drama"], 5: ["Comedy"],
                  6: ["Drama"], 7: ["Drama"], 8: ["Drama"], 9: ["Comedy"], 10: ["Action"], 11: ["Drama"],
                  12: ["Comedy"]}  # fmt: skip


def movielens_ratings() -> list[tuple[int, int, int, int]]:
    """(user, item, rating, timestamp); unsorted, with ties in time."""
    ratings = [
        # user 1: 7 ratings >= 4, one tie at t=100 (items 5 and 2: order 2, 5)
        (1, 5, 5, 100), (1, 2, 4, 100), (1, 1, 5, 50), (1, 3, 4, 300), (1, 4, 5, 400), (1, 6, 4, 500),
        (1, 7, 5, 600), (1, 8, 2, 700),
        # user 2: 5 ratings >= 4
        (2, 1, 4, 10), (2, 2, 4, 20), (2, 3, 4, 30), (2, 4, 4, 40), (2, 5, 4, 50), (2, 6, 1, 60),
        # user 3: only 3 ratings >= 4 (dropped at the default threshold), 6 ratings in all
        (3, 1, 5, 1), (3, 2, 5, 2), (3, 3, 5, 3), (3, 4, 3, 4), (3, 5, 2, 5), (3, 6, 1, 6),
        # user 4: 12 ratings >= 4, each of another item (a user rates an item once)
        *[(4, 1 + i, 4 + i % 2, 1000 + i) for i in range(12)],
    ]  # fmt: skip
    return ratings


def write_movielens_100k(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in movielens_ratings()))
    items = []
    for item, title in ML_TITLES.items():
        flags = ["1" if genre in ML_ITEM_GENRES[item] else "0" for genre in ML_GENRES]
        items.append("|".join([str(item), title, "01-Jan-1995", "", "http://us.imdb.com/x", *flags]))
    (root / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    (root / "u.genre").write_text("".join(f"{genre}|{index}\n" for index, genre in enumerate(ML_GENRES)) + "\n")
    return root


def write_movielens_1m(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "ratings.dat").write_text("".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in movielens_ratings()))
    movies = "".join(f"{item}::{title}::{'|'.join(ML_ITEM_GENRES[item])}\n" for item, title in ML_TITLES.items())
    (root / "movies.dat").write_bytes(movies.encode("latin-1"))
    return root


def write_movielens_sasrec(root: Path) -> Path:
    """SAS item k = original item 9 - k; SAS user u = original user 100 + u."""
    (root / "sasrec_gsasrec").mkdir(parents=True, exist_ok=True)
    (root / "sas_mapping").mkdir(parents=True, exist_ok=True)
    sequences = ["1 2 3 4 5 6", "2 3 4 5 6", "8 7 6 5 4 3 2 1", "1 2 3"]
    (root / "sasrec_gsasrec" / "train_input.txt").write_text("\n".join(sequences) + "\n")
    (root / "sas_mapping" / "sas_to_original_items.txt").write_text("".join(f"{k} {9 - k}\n" for k in range(1, 9)))
    (root / "sas_mapping" / "sas_to_original_users.txt").write_text("".join(f"{u} {100 + u}\n" for u in range(1, 5)))
    movies = "".join(f"{item}::{title}::{'|'.join(ML_ITEM_GENRES[item])}\n" for item, title in ML_TITLES.items())
    (root / "movies.dat").write_bytes(movies.encode("latin-1"))
    return root


def zip_folder(folder: Path, arcname: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, f"{arcname}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()
