"""Print the latency table: the mBERT-Tiny presets against the mBERT-base shape, under every runtime.

    nice -n 10 python benchmarks/latency.py [--presets tiny2,tiny4,tiny6]
        [--runtimes eager,compile,int8,onnxruntime,onnxruntime_int8] [--batch-sizes 1,8] [--seq-lens 64,128]
        [--threads N] [--device cpu|cuda] [--output latency.json]

Every model is built with random weights (timing does not depend on them): the presets at the default pruned
vocabulary (`modeling.mbert_tiny.DEFAULT_VOCAB_SIZE`), mBERT-base as `BertModel(BertConfig(vocab_size=119547))`.
Models are timed one after the other inside each cell (runtime x batch x length), so a busy machine slows them
alike and the ratios hold better than the absolute numbers. The last table sets our speed-ups beside the
compression study's (150 ms mBERT, 6.12 ms Tiny2, 25.95 ms Tiny6 on its CPU: 24.5x and 5.8x).

    python benchmarks/latency.py --recommenders outputs/loo_bert4rec,outputs/loo_sasrec [--history-length 50]
        [--threads 1]

times `recommend()` instead: batch 1, one history of `--history-length` items, top 10, PyTorch eager against
ONNX Runtime (the model's ONNX export, same pre- and post-processing), p50 / p90 and the ratio, with a check that
both give the same top 10. Recommender folders are those train.py writes (BERT4Rec or SASRec+).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mbert_tiny_hub.latency import (  # noqa: E402
    MBERT_BASE_NAME,
    RUNTIMES,
    compare_with_compression_study,
    format_latency_table,
    format_recommend_latency_table,
    mbert_base_shape,
    measure_latency,
    measure_recommend_latency,
)
from modeling.mbert_tiny import (  # noqa: E402
    DEFAULT_VOCAB_SIZE,
    PRESETS,
    MBertTinyConfig,
    MBertTinyModel,
    count_parameters,
)


def _names(value):
    return [part.strip() for part in value.split(",") if part.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", type=_names, default=list(PRESETS))
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE)
    parser.add_argument("--runtimes", type=_names, default=list(RUNTIMES))
    parser.add_argument("--batch-sizes", type=lambda v: [int(x) for x in _names(v)], default=[1, 8])
    parser.add_argument("--seq-lens", type=lambda v: [int(x) for x in _names(v)], default=[64, 128])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--min-iterations", type=int, default=10)
    parser.add_argument("--min-seconds", type=float, default=2.0, help="keep timing a cell (up to 200 runs) this long")
    parser.add_argument("--output", type=Path, help="also write the rows as JSON (the results JSON's `latency` list)")
    parser.add_argument("--recommenders", type=_names, help="time recommend() of these recommender folders instead")
    parser.add_argument("--history-length", type=int, default=50, help="items in the history recommend() reads")
    args = parser.parse_args()
    if args.recommenders:
        recommend_latency(args)
        return
    unknown = [preset for preset in args.presets if preset not in PRESETS]
    if unknown:
        parser.error(f"unknown preset(s) {unknown}: choose from {', '.join(PRESETS)}")

    torch.manual_seed(0)
    models = {preset: MBertTinyModel(MBertTinyConfig.from_preset(preset, vocab_size=args.vocab_size)).eval()
              for preset in args.presets}
    models[MBERT_BASE_NAME] = mbert_base_shape()
    print(f"# Latency, {args.device}, {args.threads} threads, torch {torch.__version__}; p50/p95 over at least "
          f"{args.min_iterations} runs (or {args.min_seconds} s) after {args.warmup} warm-up runs", flush=True)
    print("| model | parameters |\n|---|---|")
    for name, model in models.items():
        print(f"| {name} | {count_parameters(model)['total'] / 1e6:.1f}M |")
    print(flush=True)

    started = time.perf_counter()

    def progress(row):
        print(f"  [{time.perf_counter() - started:6.0f} s] {row['runtime']:>16} batch {row['batch_size']} seq "
              f"{row['seq_len']:>3} {row['model']:>16}: p50 {row['p50_ms']:9.2f} ms  p95 {row['p95_ms']:9.2f} ms",
              file=sys.stderr, flush=True)

    rows = measure_latency(
        models, args.runtimes, args.batch_sizes, args.seq_lens, device=args.device, threads=args.threads,
        warmup=args.warmup, min_iterations=args.min_iterations, min_seconds=args.min_seconds, progress=progress,
    )
    rows.sort(key=lambda row: (row["runtime"] != "eager", row["runtime"], row["batch_size"], row["seq_len"],
                               row["model"] != MBERT_BASE_NAME, row["model"]))
    print(format_latency_table(rows))
    if 1 in args.batch_sizes:  # the study timed single inputs
        for seq_len in args.seq_lens:
            print(f"\n## Against the compression study (batch 1, seq {seq_len})")
            print(compare_with_compression_study(rows, 1, seq_len))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.output:
        args.output.write_text(json.dumps(rows, indent=2) + "\n")


def recommend_latency(args):
    from modeling.bert4rec import Bert4RecForSequentialRecommendation

    started = time.perf_counter()
    models = {folder: Bert4RecForSequentialRecommendation.from_pretrained(folder) for folder in args.recommenders}
    print(f"# recommend() latency, cpu, {args.threads} threads, torch {torch.__version__}, batch 1, a "
          f"{args.history_length}-item history, top 10; p50/p90 over at least 50 runs (or {args.min_seconds} s)",
          flush=True)
    rows = measure_recommend_latency(models, history_length=args.history_length, threads=args.threads,
                                     min_seconds=args.min_seconds)
    print(format_recommend_latency_table(rows))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.output:
        args.output.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
