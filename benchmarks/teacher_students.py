"""The teacher and the mBERT-Tiny students derived from it, before and after general distillation.

    nice -n 10 python benchmarks/teacher_students.py [--teacher teachers/multilingual-e5-small]
        [--distilled tiny6=outputs/general_distill_e5_tiny6 ...] [--threads 1] [--output teacher_students.json]

For the teacher, each preset derived from it with no training (vocabulary pruned on the translation sentences'
languages plus every single character of their scripts; `--vocab-corpus` prunes on a bigger text file instead) and
each distilled student given with --distilled: parameters, translation retrieval on the held-out sentence pairs of
benchmarks/data/translation_pairs.json (11 languages matched to English), and CPU latency (batch 1, 128 tokens,
eager PyTorch, p50) as ratios to the teacher and to the mBERT-base shape, all timed side by side in one loop.
The same architecture with random weights is the floor retrieval should be far above.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel  # noqa: E402

from mbert_tiny_hub.latency import MBERT_BASE_NAME, measure_latency  # noqa: E402
from mbert_tiny_hub.teacher import (  # noqa: E402
    DEFAULT_TEACHER_DIR,
    load_translation_pairs,
    resolve_teacher,
    translation_retrieval,
)
from modeling.derivation import derive_student  # noqa: E402
from modeling.mbert_tiny import count_parameters  # noqa: E402
from modeling.vocab_pruning import prune_vocabulary  # noqa: E402

PAIRS = Path(__file__).parent / "data" / "translation_pairs.json"
LAYERS = {"tiny6": [0, 2, 4, 6, 8, 10], "tiny4": [0, 3, 6, 9], "tiny2": [0, 6]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=DEFAULT_TEACHER_DIR)
    parser.add_argument("--distilled", action="append", default=[], help="PRESET=FOLDER of a distilled student")
    parser.add_argument("--vocab-corpus", default=None, help="a text file (one text a line) to prune on")
    parser.add_argument("--vocab-size", type=int, default=40_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    pairs = load_translation_pairs(PAIRS)
    teacher_name = resolve_teacher(args.teacher)
    teacher = AutoModel.from_pretrained(teacher_name).eval()
    tokenizer = AutoTokenizer.from_pretrained(teacher_name)
    corpus = [line for line in Path(args.vocab_corpus).read_text().splitlines()] if args.vocab_corpus else [
        sentence for sentences in pairs.values() for sentence in sentences
    ]
    pruned = prune_vocabulary(tokenizer, corpus, args.vocab_size)

    entries = {"teacher (multilingual-e5-small)": (teacher, tokenizer)}
    random_teacher = BertModel(BertConfig(**{k: v for k, v in teacher.config.to_dict().items()
                                             if k in BertConfig().to_dict()}), add_pooling_layer=False).eval()
    entries["teacher shape, random weights"] = (random_teacher, tokenizer)
    distilled = dict(item.split("=", 1) for item in args.distilled)
    teacher_vocab = tokenizer.get_vocab()
    for preset in ("tiny6", "tiny4", "tiny2"):
        kept_ids, student_tokenizer = pruned.kept_ids, pruned.tokenizer
        if preset in distilled:  # the distilled student's own vocabulary, so before and after differ only in training
            student_tokenizer = AutoTokenizer.from_pretrained(distilled[preset])
            pieces = student_tokenizer.convert_ids_to_tokens(list(range(len(student_tokenizer))))
            kept_ids = [teacher_vocab[piece] for piece in pieces]
        student = derive_student(teacher, preset, kept_token_ids=kept_ids, layers=LAYERS[preset], head="base")
        entries[f"{preset} derived, no training"] = (student.eval(), student_tokenizer)
        if preset in distilled:
            entries[f"{preset} after general distillation"] = (
                AutoModel.from_pretrained(distilled[preset]).eval(), student_tokenizer)

    rows = []
    with torch.no_grad():
        for name, (model, tok) in entries.items():
            retrieval = translation_retrieval(model, tok, pairs)
            rows.append({"model": name, "parameters": count_parameters(model)["total"],
                         "retrieval_accuracy": retrieval["accuracy"], "retrieval_gap": retrieval["gap"],
                         "per_language": retrieval["per_language"]})
            print(f"{name}: retrieval {retrieval['accuracy']:.3f} (gap {retrieval['gap']:.3f})", flush=True)
    timed = {name: model for name, (model, _tok) in entries.items() if "random" not in name}
    latency = measure_latency(timed, runtimes=("eager",), batch_sizes=(1,), seq_lens=(128,), threads=args.threads,
                              min_seconds=args.min_seconds)
    p50 = {row["model"]: row["p50_ms"] for row in latency}
    teacher_p50 = p50["teacher (multilingual-e5-small)"]
    print(f"\n| model | parameters | translation retrieval ({len(pairs) - 1} languages) | gap | p50 ms (batch 1, 128) |"
          " speed-up vs teacher | vs mBERT-base shape |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        ms = p50.get(row["model"])
        row.update({"p50_ms": ms, "speedup_vs_teacher": teacher_p50 / ms if ms else None,
                    "speedup_vs_mbert_base": p50[MBERT_BASE_NAME] / ms if ms else None})
        timing = f"{ms:.1f} | {teacher_p50 / ms:.1f}x | {p50[MBERT_BASE_NAME] / ms:.1f}x" if ms else "- | - | -"
        print(f"| {row['model']} | {row['parameters'] / 1e6:.1f}M | {row['retrieval_accuracy']:.3f} | "
              f"{row['retrieval_gap']:.3f} | {timing} |")
    print(f"| {MBERT_BASE_NAME} (random weights) | 177.9M | - | - | {p50[MBERT_BASE_NAME]:.1f} | "
          f"{teacher_p50 / p50[MBERT_BASE_NAME]:.2f}x | 1.0x |")
    if args.output:
        Path(args.output).write_text(json.dumps({"rows": rows, "latency": latency}, indent=2))


if __name__ == "__main__":
    main()
