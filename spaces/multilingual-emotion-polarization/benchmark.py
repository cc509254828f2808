"""How fast the Space classifies on this machine: milliseconds per text, one at a time and in batches.

    python benchmark.py MODEL [--texts 1000] [--batch-sizes 1 16] [--threads 1]

MODEL is a Hub id or folder, loaded as the Space loads it. The texts are the Space's examples, repeated.
"""

from __future__ import annotations

import argparse
import time

import torch

from emotion_polarization.classifier import TextClassifier
from emotion_polarization.examples import EXAMPLES
from emotion_polarization.settings import ModelSource


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="Hub id or folder of a text classifier")
    parser.add_argument("--texts", type=int, default=1000, help="how many texts to classify per batch size")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    classifier = TextClassifier(ModelSource.parse(args.model, "MODEL"))
    texts = [text for _, text in EXAMPLES] * (args.texts // len(EXAMPLES) + 1)
    texts = texts[: args.texts]
    classifier.predict(texts[:32], batch_size=16)  # warm-up
    print(f"model: {args.model} ({classifier.num_parameters / 1e6:.1f}M parameters), threads: {args.threads}")
    for batch_size in args.batch_sizes:
        start = time.perf_counter()
        classifier.predict(texts, batch_size=batch_size)
        elapsed = time.perf_counter() - start
        print(f"batch size {batch_size:>3}: {len(texts)} texts in {elapsed:.2f} s, {1000 * elapsed / len(texts):.2f} ms/text")


if __name__ == "__main__":
    main()
