"""Sequential-recommendation evaluation: the model and the baselines scored by the same code
(`mbert_tiny_hub.ranking.rank_recommendations`) with the same exclusion of seen items and the same sampled
negatives; CONTRIBUTING.md's results JSON (task "sequential-recommendation") and its Markdown table."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import DatasetDict
from huggingface_hub.utils import tqdm  # honours HF_HUB_DISABLE_PROGRESS_BARS

from modeling.bert4rec import NUM_SPECIAL_ITEMS, Bert4RecForSequentialRecommendation

from .hub_checks import dataset_licence
from .ranking import KS, draw_negatives, rank_recommendations
from .recsys_baselines import RECOMMENDER_BASELINES, MostPopular, fit_recommender_baselines
from .recsys_data import _check_split, _encoded_eval_split, _item_lists, encode_items
from .results import environment_summary, model_summary, results_header

# What `bert4rec.model` can build (RecommenderConfig.model), and the name each goes by in results tables.
MODELS = {"bert4rec": "BERT4Rec", "sasrec_plus": "SASRec+ (causal, full-softmax CE)"}


def _to_columns(indexes: Sequence[int]) -> list[int]:
    """Vocabulary indexes -> catalogue columns (what the ranking metrics index)."""
    return [index - NUM_SPECIAL_ITEMS for index in indexes]


def _model_scores(model: Bert4RecForSequentialRecommendation, histories: Sequence[Sequence[int]], batch_size: int):
    """Yield (scores over catalogue columns, rows) batch by batch, model in eval mode. Rows are batched by history
    length (shortest first) so that little compute goes to padding."""
    keep = model.config.max_position_embeddings - 1
    order = sorted(range(len(histories)), key=lambda row: min(len(histories[row]), keep))
    was_training = model.training
    model.eval()

    try:
        starts = range(0, len(order), batch_size)
        for start in tqdm(starts, desc=f"Scoring {len(order):,} users", unit="batch", leave=False):
            rows = order[start : start + batch_size]
            scores = model.score_histories([histories[row] for row in rows], batch_size=batch_size)
            yield scores[:, NUM_SPECIAL_ITEMS:].cpu().numpy(), rows
    finally:
        model.train(was_training)


# ---------------------------------------------------------------------------------------------------------------
# Evaluation: model + baselines, full and sampled ranking, results JSON
# ---------------------------------------------------------------------------------------------------------------


def evaluate_recommender(
    model_or_path: Bert4RecForSequentialRecommendation | str | os.PathLike,
    dataset: DatasetDict,
    split: str = "test",
    *,
    train_split: str = "train",
    ks: Sequence[int] = KS,
    num_negatives: int = 100,
    seed: int = 0,
    rare_item_threshold: int | None = 10,
    baselines: Sequence[str] = RECOMMENDER_BASELINES,
    cooccurrence: Mapping[str, Any] | None = None,
    batch_size: int = 256,
    dataset_name_or_path: str | None = None,
    command: str | None = None,
) -> dict:
    """Full-ranking and sampled (uniform and popularity, `num_negatives` each) Recall@K / NDCG@K / MRR of the model
    and the baselines on `split`, seen items excluded; one target (leave-one-out) or several (last k) per user.
    Users whose targets all have at most `rare_item_threshold` training interactions are also reported apart
    (`full_rare_targets`). Returns CONTRIBUTING.md's results JSON (task "sequential-recommendation")."""
    if isinstance(model_or_path, (str, os.PathLike)):
        name_or_path = str(model_or_path)
        model = Bert4RecForSequentialRecommendation.from_pretrained(name_or_path)
    else:
        model = model_or_path
        name_or_path = getattr(model, "name_or_path", "") or ""
    vocabulary = model.item_vocabulary
    if vocabulary is None:
        raise ValueError(f"Model {name_or_path!r} has no item vocabulary (item_vocab.json); cannot map item ids.")
    for name, needs_targets in ((train_split, False), (split, True)):
        if name not in dataset:
            raise ValueError(f"The dataset has no {name!r} split (splits: {', '.join(dataset)}).")
        _check_split(dataset[name], name, needs_targets)

    num_items = len(vocabulary)
    evaluated = _encoded_eval_split(dataset[split], split, vocabulary)
    histories = [_to_columns(row) for row in evaluated["input_ids"]]
    targets = [_to_columns(row) for row in evaluated["target_ids"]]
    train_sequences = [
        [i - NUM_SPECIAL_ITEMS for i in row]
        for row in encode_items(_item_lists(dataset[train_split], train_split, "item_ids"), vocabulary, train_split)
    ]
    fitted = fit_recommender_baselines(baselines, num_items, train_sequences, cooccurrence)
    popularity = MostPopular(num_items).fit(train_sequences).counts
    negatives = {
        "sampled_uniform": draw_negatives(targets, histories, num_items, num_negatives, "uniform", seed=seed),
        "sampled_popularity": draw_negatives(
            targets, histories, num_items, num_negatives, "popularity", popularity, seed=seed + 1
        ),
    }
    rare_rows = None
    if rare_item_threshold is not None:
        rare_rows = [
            row for row, items in enumerate(targets) if all(popularity[t] <= rare_item_threshold for t in items)
        ]

    def batches_of(scorer: Callable[[list[list[int]]], np.ndarray]):
        for start in range(0, len(histories), batch_size):
            rows = list(range(start, min(start + batch_size, len(histories))))
            yield scorer([histories[row] for row in rows]), rows

    started = time.time()
    model_batches = _model_scores(model, list(evaluated["input_ids"]), batch_size)
    report = {"model": rank_recommendations(model_batches, targets, histories, negatives, rare_rows, ks)}
    model_seconds = time.time() - started
    report["baselines"] = {
        name: rank_recommendations(batches_of(baseline.score), targets, histories, negatives, rare_rows, ks)
        for name, baseline in fitted.items()
    }
    target_counts = sorted({len(row) for row in targets})
    protocol = "leave_one_out" if target_counts == [1] else f"last_k (k = {', '.join(map(str, target_counts))})"
    summary = model_summary(model, name_or_path or None)
    summary.update(architecture="sasrec_plus" if model.config.causal else "bert4rec", preset=model.config.preset)
    return {
        **results_header("sequential-recommendation", command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])),
        "model": summary,  # architecture: a key of MODELS
        "dataset": {
            "name_or_path": dataset_name_or_path,
            "config": "sequences",
            "split": split,
            "train_split": train_split,
            "protocol": protocol,
            "num_examples": len(histories),
            "num_items": num_items,
            "history": f"the {split} split's item_ids; items in it are excluded from the ranking",
            **_dataset_licence(dataset_name_or_path),
        },
        "evaluation": {
            "ks": list(ks),
            "num_negatives": num_negatives,
            "negative_sampling": ["uniform", "popularity (training interaction counts)"],
            "seed": seed,
            "exclude_seen": True,
            "rare_item_threshold": rare_item_threshold,
            "num_rare_target_examples": len(rare_rows) if rare_rows is not None else None,
            "ties": "equal scores ordered by item index",
            "model_scoring_seconds": round(model_seconds, 1),
        },
        "results": report,
        "environment": environment_summary(model.device),
    }


def _dataset_licence(name_or_path: str | None) -> dict:
    """The dataset card's licence (`mbert_tiny_hub.hub_checks.dataset_licence`): a public push of a recommender whose item
    vocabulary (titles, genres) comes from a dataset that may not be redistributed is refused."""

    return dataset_licence(name_or_path)


def format_results_table(results: dict, ks: Sequence[int] = (10, 20), rare_targets: bool = False) -> str:
    """A Markdown table of full-ranking Recall@K / NDCG@K / MRR and sampled HR@10 / NDCG@10 (popularity negatives),
    model and baselines, with the cold-start rows when the run held items out, the rare-target rows (full ranking
    over the users whose targets have at most `rare_item_threshold` training interactions) with `rare_targets`,
    and the training time when known."""
    header = [f"Recall@{k}" for k in ks] + [f"NDCG@{k}" for k in ks]
    negatives = results.get("evaluation", {}).get("num_negatives", 100)
    header += ["MRR", f"sampled HR@10 ({negatives} popularity negatives)", f"sampled NDCG@10 ({negatives} popularity negatives)"]
    lines = ["| recommender | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    model_name = MODELS[results["model"].get("architecture", "bert4rec")]
    rows = [(model_name, results["results"]["model"])] + list(results["results"]["baselines"].items())
    rare = results["results"]["model"].get("full_rare_targets") if rare_targets else None
    if rare:
        threshold = results.get("evaluation", {}).get("rare_item_threshold")
        rows.append((f"*rare targets (full ranking; {rare['num_examples']:,} users whose targets have at most "
                     f"{threshold} training interactions)*", None))
        rows += [(f"{model_name}, rare targets", {"full": rare})]
        rows += [(f"{baseline}, rare targets", {"full": report["full_rare_targets"]})
                 for baseline, report in results["results"]["baselines"].items() if "full_rare_targets" in report]
    cold = results.get("cold_start")
    if cold:
        where = f"cold-start targets ({cold['num_held_out_items']:,} held-out items, {cold['num_examples']:,} users)"
        rows.append((f"*{where}*", None))
        rows += [(f"{model_name}, cold start", cold["results"]["model"])]
        rows += [(f"{baseline}, cold start", report) for baseline, report in cold["results"]["baselines"].items()]
    for name, report in rows:
        if report is None:
            lines.append(f"| {name} |" + " |" * len(header))
            continue
        full, sampled = report["full"], report.get("sampled_popularity", {})
        values = [full[f"recall@{k}"] for k in ks] + [full[f"ndcg@{k}"] for k in ks] + [full["mrr"]]
        values += [sampled.get("recall@10"), sampled.get("ndcg@10")]
        lines.append(f"| {name} | " + " | ".join("" if value is None else f"{value:.4f}" for value in values) + " |")
    training = results.get("training")
    if training:
        lines.append(
            f"\n{model_name}: {training['train_runtime_s']:,} s of training, {training['epochs']} epochs, "
            f"{training['global_steps']:,} steps, {training.get('threads')} threads; "
            f"{results['dataset']['num_examples']:,} test users, {results['dataset']['protocol']}."
        )
    return "\n".join(lines)


def format_comparison_table(runs: Mapping[str, dict]) -> str:
    """One line per run (its name -> its results JSON), the model only, full ranking: NDCG@10 and Recall@10 on the
    test split, NDCG@10 on the rare-target users and on the cold-start split with its MRR (blank where the run has
    none), and the training time: runs (variants, seeds) side by side."""
    lines = [
        "| run | recommender | NDCG@10 | Recall@10 | rare targets: NDCG@10 | cold start: NDCG@10 | cold start: MRR | "
        "training s | epochs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, results in runs.items():
        model = results["results"]["model"]
        cold = (results.get("cold_start") or {}).get("results", {}).get("model", {}).get("full", {})
        training = results.get("training") or {}
        values = [
            model["full"]["ndcg@10"],
            model["full"]["recall@10"],
            (model.get("full_rare_targets") or {}).get("ndcg@10"),
            cold.get("ndcg@10"),
            cold.get("mrr"),
        ]
        cells = ["" if value is None else f"{value:.4f}" for value in values]
        cells += [f"{training['train_runtime_s']:,}" if training else "", f"{training['epochs']}" if training else ""]
        lines.append(f"| {name} | {MODELS[results['model'].get('architecture', 'bert4rec')]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["MODELS", "evaluate_recommender", "format_comparison_table", "format_results_table"]
