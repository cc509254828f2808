"""Task distillation into a student derived from its teacher, side by side on the same batches: the teacher run live
at every training step (its logits for the student's pieces) against the logits computed once, up front, and read
with each batch (what `train.py` does when only logits are distilled). Prints seconds per step for each (forward,
backward and optimizer step of the student), their ratio, the one-off teacher pass per text, and the largest
difference between the live and the precomputed logits; asserts nothing.

    python benchmarks/distill_logits_cache_speed.py --config configs/polar_distill_e5_tiny6_derived.yaml \
        --set distillation.teacher=outputs/polar_e5_teacher --steps 20 --threads 1

The config is any `task: distillation` config whose student is derived from its teacher (model.preset, no
name_or_path); the student is derived exactly as train.py derives it (layers, pruned vocabulary over the training
text). The batches are a seeded random sample of the training split.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mbert_tiny_hub.config import load_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from transformers import DataCollatorWithPadding, TrainingArguments
    from transformers.utils import logging as hf_logging

    from modeling.trainers import TEACHER_LOGITS, DistillationTrainer
    from mbert_tiny_hub.training.classification import build_hybrid_loss
    from mbert_tiny_hub.training.data import load_classification_data
    from mbert_tiny_hub.training.distillation import prepare_teacher, teacher_logits
    from mbert_tiny_hub.training.models import build_model

    hf_logging.set_verbosity_error()
    config = load_config(args.config, args.overrides)
    if config.task != "distillation" or config.model.name_or_path:
        sys.exit(f"{args.config}: needs task: distillation with a student derived from its teacher (model.preset).")
    config.model.derive_from = config.model.derive_from or config.distillation.teacher
    dataset, labels, _ = load_classification_data(config, args.seed)
    train = dataset[config.data.train_split]
    teacher, kwargs = prepare_teacher(config, labels)
    same = teacher if config.model.derive_from == config.distillation.teacher else None
    started = time.perf_counter()
    student, tokenizer, provenance = build_model(
        config, "sequence_classification", labels, lambda: train[config.data.text_column], same
    )
    derive_seconds = time.perf_counter() - started
    kept = torch.as_tensor(provenance["kept_token_ids"]).long()
    batch_size = config.training.get("per_device_train_batch_size", 32)
    picked = random.Random(args.seed).sample(range(len(train)), args.steps * batch_size)
    rows = train.select(picked)
    texts, targets = list(rows[config.data.text_column]), list(rows[labels.column])

    teacher.eval()
    started = time.perf_counter()
    precomputed = teacher_logits(teacher, tokenizer, texts, config.model.max_length, token_ids=kept)
    pass_seconds = time.perf_counter() - started

    collator = DataCollatorWithPadding(tokenizer)
    encoded = tokenizer(texts, truncation=True, max_length=config.model.max_length)
    batches = []
    for step in range(args.steps):
        span = range(step * batch_size, (step + 1) * batch_size)
        batch = collator([{"input_ids": encoded["input_ids"][i], "attention_mask": encoded["attention_mask"][i]}
                          for i in span])
        batch["labels"] = torch.tensor([targets[i] for i in span])
        batches.append((batch, torch.tensor([precomputed[i] for i in span])))

    trainer = DistillationTrainer(
        model=student, args=TrainingArguments("/tmp/distill_logits_cache_speed", report_to="none", use_cpu=True),
        teacher_model=teacher, teacher_token_ids=kept, loss=build_hybrid_loss(config, labels, train), **kwargs,
    )
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-5)
    student.train()
    largest = 0.0
    with torch.no_grad():  # the logits the live teacher reads for these batches, against the precomputed ones
        for batch, logits in batches[:3]:
            live = trainer._teacher_outputs(dict(batch), output_hidden_states=False)["logits"]
            largest = max(largest, (live - logits).abs().max().item())

    def step(batch: dict) -> None:
        loss = trainer.compute_loss(student, dict(batch))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    timings = {}
    for name in ("teacher live", "logits precomputed"):
        step({**batches[0][0], **({TEACHER_LOGITS: batches[0][1]} if name != "teacher live" else {})})  # warm-up
        started = time.perf_counter()
        for batch, logits in batches:
            step({**batch, **({TEACHER_LOGITS: logits} if name != "teacher live" else {})})
        timings[name] = (time.perf_counter() - started) / len(batches)

    lengths = sorted(len(ids) for ids in encoded["input_ids"])
    print(f"# {args.config} ({' '.join(args.overrides) or 'as written'}): student derived in {derive_seconds:.0f} s, "
          f"{sum(p.numel() for p in student.parameters()):,} parameters, teacher "
          f"{sum(p.numel() for p in teacher.parameters()):,}; {args.steps} batches of {batch_size} training texts "
          f"(seed {args.seed}), pieces per text: median {lengths[len(lengths) // 2]}, max {lengths[-1]}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print("| teacher's logits | seconds per step | steps/s |")
    print("|---|---|---|")
    for name, seconds in timings.items():
        print(f"| {name} | {seconds:.3f} | {1 / seconds:.2f} |")
    ratio = timings["teacher live"] / timings["logits precomputed"]
    per_text = pass_seconds / len(texts)
    print(f"precomputed logits make a step {ratio:.2f}x faster; the one-off pass costs {per_text * 1000:.1f} ms per "
          f"text ({len(texts) / pass_seconds:.1f} texts/s, shortest-first batches of 64); largest logit difference "
          f"live - precomputed {largest:.2e}")
    saved = (timings["teacher live"] - timings["logits precomputed"]) / batch_size
    print(f"per text and epoch the live teacher costs {saved * 1000:.1f} ms more: the pass pays for itself after "
          f"{per_text / saved:.2f} epochs, counting every epoch of every run that reads the same cache")


if __name__ == "__main__":
    main()
