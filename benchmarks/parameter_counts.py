"""Print the parameter counts of the mBERT-Tiny presets against their budgets and mBERT-base.

    python benchmarks/parameter_counts.py [--vocab-size 40000] [--num-labels 6]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformers import BertConfig, BertForSequenceClassification  # noqa: E402

from modeling import DEFAULT_VOCAB_SIZE, PARAMETER_BUDGETS, PRESETS, MBertTinyConfig, MBertTinyForSequenceClassification, count_parameters  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE)
    parser.add_argument("--num-labels", type=int, default=6)
    args = parser.parse_args()

    base = count_parameters(BertForSequenceClassification(BertConfig(vocab_size=119_547, num_labels=args.num_labels)))
    print("| model | layers | hidden | heads | FFN | vocab | parameters | embeddings | budget | size vs mBERT-base |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| mBERT-base (cased) | 12 | 768 | 12 | 3072 | 119,547 | {base['total'] / 1e6:.1f}M | "
          f"{base['embeddings'] / base['total']:.0%} | - | 1.00 |")
    for name, shape in PRESETS.items():
        config = MBertTinyConfig.from_preset(name, vocab_size=args.vocab_size, num_labels=args.num_labels)
        counts = count_parameters(MBertTinyForSequenceClassification(config))
        print(f"| {name} | {shape['num_hidden_layers']} | {shape['hidden_size']} | {shape['num_attention_heads']} | "
              f"{shape['intermediate_size']} | {args.vocab_size:,} | {counts['total'] / 1e6:.2f}M | "
              f"{counts['embeddings'] / counts['total']:.0%} | {PARAMETER_BUDGETS[name] / 1e6:.1f}M | "
              f"{counts['total'] / base['total']:.3f} |")


if __name__ == "__main__":
    main()
