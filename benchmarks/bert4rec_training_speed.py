"""BERT4Rec training-step speed, side by side on the same batches: logits at every position vs only at masked
positions, and random batches vs batches grouped by history length; then SASRec+ (the same encoder, causal, the next
item labelled at every position) on the same length-grouped histories. Prints a table; asserts nothing.

    python benchmarks/bert4rec_training_speed.py --dataset data/movielens_1m_sasrec --preset M --steps 5

The dataset is a folder written by `python -m data_scripts build movielens_1m_sasrec ...` (or any dataset in the
sequential-recommendation contract). Timing only: weights are random and nothing is saved.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mbert_tiny_hub.config import RecommenderConfig  # noqa: E402
from mbert_tiny_hub.recsys import ClozeCollator, NextItemCollator, build_recommender  # noqa: E402
from mbert_tiny_hub.recsys_data import (  # noqa: E402
    _item_lists,
    build_item_vocabulary,
    encode_items,
    load_recommendation_dataset,
)


def step_seconds(model, batches, all_positions: bool) -> list[float]:
    """Seconds per forward + backward + AdamW step; the first batch warms up and is not counted."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    times = []
    for batch in batches:
        started = time.perf_counter()
        if all_positions:
            logits = model(batch["input_ids"], attention_mask=batch["attention_mask"], return_all_logits=True).logits
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), batch["labels"].view(-1))
        else:
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - started)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="sequential-recommendation dataset folder or Hub id")
    parser.add_argument("--preset", default="M", choices=["S", "M", "L", "XL"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant (one more warms up)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    dataset, items = load_recommendation_dataset(args.dataset)
    vocabulary = build_item_vocabulary(dataset, items)
    histories = encode_items(_item_lists(dataset["train"], "train", "item_ids"), vocabulary, "train")
    options = RecommenderConfig.from_dict({"preset": args.preset, "config": {"attention_probs_dropout_prob": 0.0}})
    torch.manual_seed(0)
    model = build_recommender(vocabulary, options)
    collator = ClozeCollator(max_length=model.config.max_position_embeddings)

    rng = random.Random(0)
    count = (args.steps + 1) * args.batch_size
    random_rows = [histories[i] for i in rng.sample(range(len(histories)), count)]
    # Grouped: what Trainer's length-grouped sampler yields inside one mega-batch, neighbours in length order.
    grouped_rows = sorted(random_rows, key=len)
    variants = {}
    for name, rows in (("random batches", random_rows), ("length-grouped batches", grouped_rows)):
        torch.manual_seed(1)
        chunks = [rows[i : i + args.batch_size] for i in range(0, count, args.batch_size)]
        variants[name] = [collator([{"input_ids": history} for history in chunk]) for chunk in chunks]

    print(f"BERT4Rec {args.preset}: {len(vocabulary):,} items, batch {args.batch_size}, {args.threads} threads, "
          f"{args.steps} timed steps each (median seconds per step)")
    print("| batches | logits | s/step | tokens/step |")
    print("|---|---|---|---|")
    reference = None
    for name, batches in variants.items():
        tokens = statistics.mean(int(b["input_ids"].numel()) for b in batches[1:])
        for all_positions in (True, False):
            seconds = statistics.median(step_seconds(model, batches, all_positions))
            reference = reference or seconds
            label = "every position" if all_positions else "masked positions only"
            print(f"| {name} | {label} | {seconds:.2f} ({reference / seconds:.1f}x) | {tokens:,.0f} |")

    # SASRec+: same weights, causal attention, full-softmax CE on the next item at every real position.
    sasrec = build_recommender(vocabulary, dataclasses.replace(options, model="sasrec_plus"))
    sasrec.load_state_dict(model.state_dict())
    next_item = NextItemCollator(max_length=model.config.max_position_embeddings)
    chunks = [grouped_rows[i : i + args.batch_size] for i in range(0, count, args.batch_size)]
    batches = [next_item([{"input_ids": history} for history in chunk]) for chunk in chunks]
    seconds = statistics.median(step_seconds(sasrec, batches, all_positions=False))
    tokens = statistics.mean(int(b["input_ids"].numel()) for b in batches[1:])
    label = "SASRec+: next item at every position"
    print(f"| length-grouped batches | {label} | {seconds:.2f} ({reference / seconds:.1f}x) | {tokens:,.0f} |")


if __name__ == "__main__":
    main()
