"""Headline numbers of a model, read from its card's `model-index` (the card's own numbers, never re-computed)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import ModelCard, hf_hub_download

from .settings import ModelSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Headline:
    metric: str
    value: float | int | str
    dataset: str
    split: str | None = None
    config: str | None = None

    def describe(self) -> str:
        value = f"{self.value:.3f}" if isinstance(self.value, float) else str(self.value)
        where = ", ".join(part for part in (self.dataset, self.config, self.split) if part)
        return f"{self.metric} {value} ({where})"


@dataclass(frozen=True)
class CardSummary:
    headlines: list[Headline] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    license: str | None = None
    note: str | None = None  # why there are no numbers, when there are none


def read_card(source: ModelSource) -> CardSummary:
    """The card's evaluation results and languages; a CardSummary with a `note` when the card cannot be read."""
    try:
        if source.local:
            path = Path(source.name_or_path) / "README.md"
            if not path.is_file():
                return CardSummary(note="this model folder has no README.md model card")
        else:
            path = hf_hub_download(source.name_or_path, "README.md", revision=source.revision)
        card = ModelCard.load(path, ignore_metadata_errors=True)
    except Exception as error:  # a missing or unreachable card must not stop the Space
        logger.warning("Could not read the model card of %s: %s", source, error)
        return CardSummary(note="the model card could not be read")
    data = card.data
    headlines = [
        Headline(
            metric=result.metric_name or result.metric_type,
            value=result.metric_value,
            dataset=result.dataset_name or result.dataset_type,
            split=result.dataset_split,
            config=result.dataset_config,
        )
        for result in (data.eval_results or [])
    ]
    languages = data.language if isinstance(data.language, list) else [data.language] if data.language else []
    return CardSummary(
        headlines=headlines,
        languages=[str(language) for language in languages],
        license=data.license,
        note=None if headlines else "the model card lists no evaluation results",
    )
