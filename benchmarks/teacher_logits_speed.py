"""Teacher-logit precomputation for task distillation, side by side on the same texts: batches in the split's order
(each padded to its longest text) against the shortest-first batches `teacher_logits` uses. Prints texts/s for each,
their ratio and the largest logit difference between the two; asserts nothing.

    python benchmarks/teacher_logits_speed.py --teacher teachers/multilingual-e5-small --dataset data/polar \
        --config all --texts 512

The teacher is any checkpoint folder or Hub id; without a classification head one is initialised at random (timing
only, the head is one small matrix). The texts are a seeded random sample of the training split.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mbert_tiny_hub.training.distillation import teacher_logits  # noqa: E402


def in_split_order(teacher, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> list[list[float]]:
    """The earlier way: consecutive batches of the split, each padded to its own longest text."""
    rows = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer(texts[start : start + batch_size], padding=True, truncation=True,
                                max_length=max_length, return_tensors="pt")
            rows.extend(teacher(**encoded).logits.float().tolist())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--dataset", required=True, help="a dataset folder written by python -m data_scripts build")
    parser.add_argument("--config", default=None)
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    split = load_dataset(args.dataset, args.config, split="train")
    picked = random.Random(args.seed).sample(range(len(split)), min(args.texts, len(split)))
    texts = [split[i][args.text_column] for i in picked]
    tokenizer = AutoTokenizer.from_pretrained(args.teacher)
    teacher = AutoModelForSequenceClassification.from_pretrained(args.teacher).eval()
    lengths = sorted(len(ids) for ids in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"])

    timings = {}
    for name, compute in (("split order", in_split_order), ("shortest first", teacher_logits)):
        started = time.perf_counter()
        timings[name] = (compute(teacher, tokenizer, texts, args.max_length), time.perf_counter() - started)
    difference = max(
        abs(a - b) for x, y in zip(timings["split order"][0], timings["shortest first"][0]) for a, b in zip(x, y)
    )
    print(f"# {len(texts)} texts of {args.dataset} (train, seed {args.seed}), {args.teacher}, batch 64, "
          f"max_length {args.max_length}; tokens per text: median {lengths[len(lengths) // 2]}, max {lengths[-1]}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print("| batches | seconds | texts/s |")
    print("|---|---|---|")
    for name, (_, seconds) in timings.items():
        print(f"| {name} | {seconds:.1f} | {len(texts) / seconds:.1f} |")
    ratio = timings["split order"][1] / timings["shortest first"][1]
    print(f"shortest first is {ratio:.2f}x faster; largest logit difference {difference:.2e}")


if __name__ == "__main__":
    main()
