"""Movie recommendations from a BERT4Rec checkpoint of this project.

BERT4Rec is not a model type `transformers` knows, so it runs the code shipped with the checkpoint
(`trust_remote_code=True`). The Space does that only for checkpoints its owner listed under `trust_remote_code`
in space_config.yaml; any other recommender is refused before anything is downloaded or run.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import AutoModelForMaskedLM

from .settings import ModelSource


class RemoteCodeNotAllowed(RuntimeError):
    """The model needs its own code and is not on the Space's allow-list."""


class MovieRecommender:
    def __init__(self, source: ModelSource, may_run_remote_code: bool):
        if not may_run_remote_code:
            raise RemoteCodeNotAllowed(
                f"{source} runs its own model code (BERT4Rec). Add it under 'trust_remote_code' in "
                "space_config.yaml, after reading that code, to serve it."
            )
        self.source = source
        self.model = AutoModelForMaskedLM.from_pretrained(
            source.name_or_path, revision=source.revision, trust_remote_code=True
        ).eval()
        self.vocabulary = getattr(self.model, "item_vocabulary", None)
        if self.vocabulary is None or not hasattr(self.model, "recommend"):
            raise ValueError(f"{source} is not a BERT4Rec checkpoint with an item_vocab.json; it cannot recommend.")

    def choices(self) -> list[tuple[str, int]]:
        """(title, item id) for every item, sorted by title, for a picker."""
        pairs = [
            (title or f"item {item_id}", item_id)
            for item_id, title in zip(self.vocabulary.item_ids, self.vocabulary.titles)
        ]
        return sorted(pairs, key=lambda pair: pair[0].casefold())

    def recommend(self, liked: Sequence[int], k: int) -> list[dict]:
        """Top-`k` items for a history of liked item ids (in the order picked), each with title, genres and score."""
        result = self.model.recommend([int(item) for item in liked], k=int(k))
        genres = dict(zip(self.vocabulary.item_ids, self.vocabulary.genres))
        rows = zip(result["item_ids"], result["titles"], result["scores"])
        return [
            {"rank": rank, "title": title or f"item {item_id}", "genres": ", ".join(genres.get(item_id, [])),
             "item_id": item_id, "score": round(score, 4)}
            for rank, (item_id, title, score) in enumerate(rows, 1)
        ]
