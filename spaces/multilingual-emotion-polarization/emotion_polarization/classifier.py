"""A text classifier from a Hub id or folder, loaded with the stock Auto classes and never with remote code.

Multi-label models (`config.problem_type == "multi_label_classification"`) give one sigmoid probability per label
and predict every label at or above the threshold; single-label models give softmax probabilities and predict the
most probable label. Texts are classified in batches and cut to the model's maximum length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from .settings import ModelSource


@dataclass(frozen=True)
class Prediction:
    probabilities: dict[str, float]  # label -> probability, in the model's label order
    predicted: list[str]  # most probable first
    num_tokens: int  # length of the text in tokens, special tokens included, before truncation
    truncated: bool


class TextClassifier:
    def __init__(self, source: ModelSource, default_threshold: float = 0.5):
        self.source = source
        options = {"revision": source.revision, "trust_remote_code": False}
        self.tokenizer = AutoTokenizer.from_pretrained(source.name_or_path, **options)
        self.model = AutoModelForSequenceClassification.from_pretrained(source.name_or_path, **options).eval()
        config = self.model.config
        self.labels = [str(config.id2label[index]) for index in range(config.num_labels)]
        self.multi_label = config.problem_type == "multi_label_classification"
        threshold = getattr(config, "multi_label_threshold", None) or getattr(config, "threshold", None)
        self.threshold = float(threshold) if isinstance(threshold, (int, float)) else default_threshold
        limits = [getattr(config, "max_position_embeddings", None), self.tokenizer.model_max_length]
        # Tokenizers without a saved limit report a huge model_max_length; the position table is the real one.
        self.max_length = min(limit for limit in limits if limit and limit < 1_000_000)

    @property
    def num_parameters(self) -> int:
        return self.model.num_parameters()

    def predict(
        self,
        texts: Sequence[str],
        batch_size: int = 16,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> list[Prediction]:
        """Predictions for `texts` in order; `on_batch(done, total)` is called after each batch."""
        lengths = [len(ids) for ids in self.tokenizer(list(texts), truncation=False)["input_ids"]]
        # Similar lengths in one batch waste less compute on padding.
        order = sorted(range(len(texts)), key=lambda index: lengths[index])
        predictions: list[Prediction | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encoded = self.tokenizer(
                [texts[index] for index in chunk],
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
            with torch.inference_mode():
                logits = self.model(**encoded).logits.float()
            probabilities = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
            for index, row in zip(chunk, probabilities.tolist()):
                predictions[index] = self._prediction(row, lengths[index])
            if on_batch is not None:
                on_batch(min(start + batch_size, len(order)), len(order))
        return predictions

    def _prediction(self, row: list[float], num_tokens: int) -> Prediction:
        probabilities = dict(zip(self.labels, row))
        ranked = sorted(probabilities, key=probabilities.get, reverse=True)
        if self.multi_label:
            predicted = [label for label in ranked if probabilities[label] >= self.threshold]
        else:
            predicted = ranked[:1]
        return Prediction(probabilities, predicted, num_tokens, num_tokens > self.max_length)
