"""General (task-agnostic) distillation: a student learns the teacher's sentence embeddings on raw multilingual text.

    python train.py --config configs/general_distill_e5_tiny6.yaml

1. The corpus (`data.corpus`, as for MLM) is sampled per language (`distillation.texts_per_language`, seeded).
2. The teacher's sentence embeddings of the sample are computed once and cached
   (`mbert_tiny_hub.teacher.teacher_embeddings`, keyed by teacher, texts and settings; resumable).
3. The student is derived from the teacher (`model.preset` + `model.derive_from`: pruned vocabulary, chosen layers,
   narrower width) or built from any tokenizer (`model.preset` + `model.tokenizer`, e.g. a pruned mBERT WordPiece
   vocabulary): the sentence-embedding objective needs no shared tokenizer.
4. `SentenceEmbeddingDistillationTrainer` trains it (plus hidden-state matching where the student was derived from
   this teacher and `distillation.hidden_weight > 0`); the held-out texts measure the cosine to the teacher before
   and after. The output folder is an ordinary checkpoint that classification configs start from
   (`model.name_or_path`).
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict

from transformers import DataCollatorWithPadding, set_seed

from modeling.trainers import TEACHER_EMBEDDING, SentenceEmbeddingDistillationTrainer

from ..config import ConfigError, ExperimentConfig
from ..results import environment_summary, model_summary, results_header
from ..teacher import teacher_embeddings, teacher_hub_id
from ..tokenizer_classes import standard_tokenizer
from .arguments import RunTotals, make_training_arguments, training_summary
from .data import load_corpus, load_tokenizer
from .lifecycle import Run, command_line, hub_repo_id, start_training, write_final_folder
from .models import build_model, describe_parameters, load_bert_like, resolve_configured_teacher

logger = logging.getLogger(__name__)

GENERAL_DISTILLATION_TRAINING_DEFAULTS = {
    "eval_strategy": "steps",
    "eval_steps": 200,
    "save_strategy": "steps",
    "save_steps": 200,
    "prediction_loss_only": True,
    "learning_rate": 1e-4,
    "per_device_train_batch_size": 32,
    "num_train_epochs": 1,
    "warmup_steps": 0.05,
    "remove_unused_columns": False,
    "label_names": [TEACHER_EMBEDDING],  # the target the evaluation loss is computed against
}


def sample_per_language(languages: list[str], limit: int | None, seed: int) -> list[int]:
    """Row indices: at most `limit` rows of each language, drawn with `seed` (all rows when limit is None)."""
    by_language: dict[str, list[int]] = defaultdict(list)
    for index, language in enumerate(languages):
        by_language[language].append(index)
    rng = random.Random(seed)
    chosen = []
    for language in sorted(by_language):
        rows = by_language[language]
        chosen.extend(rows if limit is None or len(rows) <= limit else rng.sample(rows, limit))
    return sorted(chosen)


def run_general_distillation(config: ExperimentConfig, run: Run) -> dict:
    distillation, source = config.distillation, config.source
    args = make_training_arguments(config, run.output_dir, GENERAL_DISTILLATION_TRAINING_DEFAULTS)
    set_seed(args.seed)
    if not (distillation.teacher or config.model.derive_from):
        raise ConfigError(f"{source}: general_distillation needs distillation.teacher or model.derive_from.")
    if config.model.derive_from:
        config.model.derive_from = resolve_configured_teacher(config.model.derive_from, source)
    teacher_name = resolve_configured_teacher(distillation.teacher or config.model.derive_from, source)
    with args.main_process_first(desc="loading the corpus"):
        full_corpus = load_corpus(config, with_language=True)
    rows = sample_per_language(full_corpus["language"], distillation.texts_per_language, args.seed)
    corpus = full_corpus.select(rows)
    counts: dict[str, int] = defaultdict(int)
    for language in corpus["language"]:
        counts[language] += 1
    logger.info("General distillation corpus: %d texts in %d languages (at most %s each)", len(corpus), len(counts),
                distillation.texts_per_language)
    if len(corpus) <= distillation.validation_texts:
        raise ConfigError(
            f"{source}: the sampled corpus has {len(corpus)} texts, not more than distillation.validation_texts="
            f"{distillation.validation_texts}; add text or lower validation_texts."
        )

    teacher = load_bert_like(teacher_name, source)
    teacher_tokenizer, _ = load_tokenizer([teacher_name])
    with args.main_process_first(desc="the teacher pass"):
        cached = teacher_embeddings(
            teacher_name, corpus["text"], distillation.teacher_cache_dir, prefix=distillation.text_prefix,
            max_length=config.model.max_length, model=teacher, tokenizer=teacher_tokenizer,
        )
    same_teacher = teacher if config.model.derive_from == teacher_name else None
    # The vocabulary is pruned on the whole corpus, not only the distillation sample: more pieces of every language.
    model, tokenizer, provenance = build_model(config, "masked_lm", None, lambda: full_corpus["text"], same_teacher)
    describe_parameters(model)
    prefix = distillation.text_prefix

    def tokenize(batch):
        encoded = tokenizer([prefix + text for text in batch["text"]], truncation=True,
                            max_length=config.model.max_length)
        return {**encoded, TEACHER_EMBEDDING: batch["embedding"]}

    with args.main_process_first(desc="tokenizing"):
        data = cached.map(tokenize, batched=True, remove_columns=cached.column_names, desc="Tokenizing")
    tokenizer = standard_tokenizer(tokenizer)  # saved as its family's class, no truncation baked in
    split = data.train_test_split(test_size=distillation.validation_texts, seed=args.seed)
    trainer = SentenceEmbeddingDistillationTrainer(
        model=model,
        args=args,
        train_dataset=split["train"],
        eval_dataset=split["test"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        callbacks=[RunTotals(), *run.options.callbacks],
        teacher_hidden_size=teacher.config.hidden_size,
        embedding_weight=distillation.embedding_weight,
        hidden_weight=distillation.hidden_weight,
        teacher_model=same_teacher if distillation.hidden_weight > 0 else None,
        hidden_layers=distillation.hidden_layers,
        teacher_token_ids=provenance.get("kept_token_ids"),
    )
    if distillation.hidden_weight > 0 and same_teacher is None:
        raise ConfigError(
            f"{source}: distillation.hidden_weight > 0 needs a student derived from the teacher (model.derive_from = "
            "the teacher): only then do the token sequences line up. Use the sentence-embedding term alone."
        )
    before = trainer.evaluate(metric_key_prefix="eval") if run.resume_from is None else {}
    start_training(run, args)
    train_output = trainer.train(resume_from_checkpoint=run.resume_from)
    after = trainer.evaluate(metric_key_prefix="eval")
    trainer.remove_projection()
    results = {
        **results_header("feature-extraction", command_line(run.options)),
        "model": {
            **model_summary(
                trainer.accelerator.unwrap_model(trainer.model),
                hub_repo_id(config, run.options) or str(run.output_dir),
                measure_size=False,
            ),
            "teacher": teacher_hub_id(teacher_name),
            "teacher_layers": getattr(model.config, "teacher_layers", None),
            "vocabulary": provenance.get("vocabulary"),
        },
        "dataset": {
            "corpus": [entry.get("dataset") or "file" for entry in (config.data.corpus or [])],
            "num_texts": len(corpus),
            "texts_per_language": distillation.texts_per_language,
            "languages": dict(sorted(counts.items())),
            "held_out_texts": len(split["test"]),
        },
        "results": {
            "model": {
                "eval_loss_before": before.get("eval_loss"),
                "eval_loss": after["eval_loss"],
                # with embedding_weight 1 and no hidden term, eval_loss = 1 - mean cosine to the teacher
                "objective": {"embedding_weight": distillation.embedding_weight,
                              "hidden_weight": distillation.hidden_weight},
            }
        },
        "training": training_summary(trainer, train_output),
        "environment": environment_summary(num_processes=args.world_size),
    }
    logger.info("Held-out distillation loss %.4f -> %.4f", before.get("eval_loss", float("nan")), after["eval_loss"])
    write_final_folder(trainer, run, results)
    return results
