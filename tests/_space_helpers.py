"""Small models for the Space tests, trained in the test: a WordPiece tokenizer, mBERT-Tiny classifiers and a BERT4Rec.

The sentences are written for these tests (none comes from a corpus). The classifiers are saved as this project
saves them (mBERT-Tiny checkpoints: model_type "bert", remote code beside the weights, a model card with a
model-index), so the Space meets the same folders it meets in production.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SPACE_DIR = REPO_ROOT / "spaces" / "multilingual-emotion-polarization"
MAX_LENGTH = 48
STEPS = 80  # short on purpose: a few hundred characters already get truncated

EMOTIONS = ["anger", "fear", "joy", "sadness"]
POLARIZATION = ["not_polarized", "polarized"]
POLARIZATION_TYPES = ["political", "racial/ethnic", "religious"]
# (text, emotion labels, polarized, polarization types)
SENTENCES = [
    ("I am so happy today, what a wonderful day!", ["joy"], 0, []),
    ("This makes me furious, they lied to us again.", ["anger"], 1, ["political"]),
    ("I am scared of what will happen tomorrow.", ["fear"], 0, []),
    ("My grandmother died and I miss her so much.", ["sadness"], 0, []),
    ("Those people from the other party are traitors and liars.", ["anger"], 1, ["political"]),
    ("They hate our religion and want to destroy our faith.", ["anger", "fear"], 1, ["religious"]),
    ("¡Qué alegría verte de nuevo, amigo!", ["joy"], 0, []),
    ("Estoy furioso con el gobierno, son unos ladrones.", ["anger"], 1, ["political"]),
    ("Tengo miedo de salir a la calle por la noche.", ["fear"], 0, []),
    ("Me siento muy triste y solo desde que te fuiste.", ["sadness"], 0, []),
    ("Ich freue mich so sehr auf den Urlaub!", ["joy"], 0, []),
    ("Diese Ausländer nehmen uns alles weg, raus mit ihnen.", ["anger"], 1, ["racial/ethnic"]),
    ("أنا سعيد جدا بهذا الخبر الجميل", ["joy"], 0, []),
    ("هؤلاء السياسيون كاذبون ويسرقون الشعب", ["anger"], 1, ["political"]),
    ("أشعر بالحزن الشديد على ما حدث", ["sadness"], 0, []),
    ("Я очень рад тебя видеть!", ["joy"], 0, []),
    ("Эти политики предатели и воры.", ["anger"], 1, ["political"]),
    ("Мне страшно за своих детей.", ["fear"], 0, []),
    ("今天我非常开心，谢谢你们！", ["joy"], 0, []),
    ("那些人都是叛徒，应该滚出去！", ["anger"], 1, ["racial/ethnic"]),
    ("我很害怕明天的考试。", ["fear"], 0, []),
    ("听到这个消息我很难过。", ["sadness"], 0, []),
]
# Card languages (ISO 639-1 as the Hub writes them): German and Russian are missing on purpose (zero-shot note).
CARD_LANGUAGES = ["en", "es", "ar", "zh"]


def load_space_package():
    """The Space's own package, imported from its folder without putting the folder (and its app.py) on sys.path."""
    if "emotion_polarization" not in sys.modules:
        folder = SPACE_DIR / "emotion_polarization"
        spec = importlib.util.spec_from_file_location(
            "emotion_polarization", folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["emotion_polarization"] = package
        spec.loader.exec_module(package)
    return sys.modules["emotion_polarization"]


def build_tokenizer(folder: Path):
    """A cased WordPiece tokenizer over the test sentences, saved to `folder` and returned."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, handle_chinese_chars=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(
        [text for text, *_ in SENTENCES], trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials)
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[(token, tokenizer.token_to_id(token)) for token in ("[CLS]", "[SEP]")],
    )
    # PreTrainedTokenizerFast, not BertTokenizerFast: the latter would save do_lower_case=True (ENVIRONMENT.md).
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
        model_max_length=MAX_LENGTH,
    )
    wrapped.save_pretrained(folder)
    return wrapped


def train_classifier(folder: Path, tokenizer, task: str, seed: int = 0):
    """A 2-layer mBERT-Tiny trained for a few steps on SENTENCES for `task`, saved with its card, in eval mode."""
    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForSequenceClassification

    if task == "emotion":
        names, multi_label = EMOTIONS, True
        targets = [[float(name in labels) for name in names] for _, labels, _, _ in SENTENCES]
    elif task == "polarization":
        names, multi_label = POLARIZATION, False
        targets = [polarized for _, _, polarized, _ in SENTENCES]
    else:
        names, multi_label = POLARIZATION_TYPES, True
        targets = [[float(name in types) for name in names] for *_, types in SENTENCES]

    torch.manual_seed(seed)
    config = MBertTinyConfig(
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LENGTH,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={name: index for index, name in enumerate(names)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    model = MBertTinyForSequenceClassification(config)
    batch = tokenizer([text for text, *_ in SENTENCES], padding=True, truncation=True, return_tensors="pt")
    labels = torch.tensor(targets, dtype=torch.float if multi_label else torch.long)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model on a shared 2-core machine: more threads only wait on each other
    try:
        model.train()
        for _ in range(STEPS):
            loss = model(**batch, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    write_card(folder, task, names)
    return model


def write_card(folder: Path, task: str, names: list[str]) -> None:
    """A model card with a model-index, through huggingface_hub's own classes (as the publishing code writes it)."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    results = [
        EvalResult(
            task_type="text-classification", dataset_type="local/space-test", dataset_name="Space test sentences",
            dataset_split="test", metric_type=metric, metric_name=name, metric_value=value,
        )
        for metric, name, value in (("f1", "macro F1", 0.8125), ("accuracy", "accuracy", 0.75))
    ]
    data = ModelCardData(
        model_name=f"space-test-{task}", language=CARD_LANGUAGES, license="apache-2.0",
        eval_results=results, pipeline_tag="text-classification", tags=["test"],
    )
    description = f"A tiny {task} model trained inside a test ({', '.join(names)})."
    card = ModelCard.from_template(data, model_description=description)
    card.save(folder / "README.md")


def expected_prediction(model, tokenizer, text: str, threshold: float = 0.5) -> tuple[dict[str, float], list[str]]:
    """The model's own probabilities and predicted labels for `text`, computed in the test process."""
    encoded = tokenizer(text, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**encoded).logits[0]
    names = [model.config.id2label[index] for index in range(model.config.num_labels)]
    if model.config.problem_type == "multi_label_classification":
        probabilities = torch.sigmoid(logits).tolist()
        predicted = [name for name, p in zip(names, probabilities) if p >= threshold]
    else:
        probabilities = torch.softmax(logits, -1).tolist()
        predicted = [names[int(torch.argmax(logits))]]
    return dict(zip(names, probabilities)), predicted


MOVIES = [
    (1, "Toy Story (1995)", ["Animation", "Children's", "Comedy"]),
    (2, "Jumanji (1995)", ["Adventure", "Children's", "Fantasy"]),
    (260, "Star Wars: Episode IV - A New Hope (1977)", ["Action", "Adventure", "Sci-Fi"]),
    (1196, "Star Wars: Episode V - The Empire Strikes Back (1980)", ["Action", "Adventure", "Sci-Fi"]),
    (1198, "Raiders of the Lost Ark (1981)", ["Action", "Adventure"]),
    (318, "Shawshank Redemption, The (1994)", ["Drama"]),
    (593, "Silence of the Lambs, The (1991)", ["Drama", "Thriller"]),
    (2571, "Matrix, The (1999)", ["Action", "Sci-Fi", "Thriller"]),
    (1270, "Back to the Future (1985)", ["Comedy", "Sci-Fi"]),
    (480, "Jurassic Park (1993)", ["Action", "Adventure", "Sci-Fi"]),
    (589, "Terminator 2: Judgment Day (1991)", ["Action", "Sci-Fi", "Thriller"]),
    (2028, "Saving Private Ryan (1998)", ["Action", "Drama", "War"]),
]


def build_recommender(folder: Path, seed: int = 0):
    """A random one-layer BERT4Rec over MOVIES, saved as the project saves it (remote code, item vocabulary)."""
    from modeling.bert4rec import Bert4RecConfig, Bert4RecForSequentialRecommendation, ItemVocabulary

    torch.manual_seed(seed)
    config = Bert4RecConfig(
        num_items=len(MOVIES), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=20,
    )
    model = Bert4RecForSequentialRecommendation(config).eval()
    model.set_item_vocabulary(ItemVocabulary(*map(list, zip(*MOVIES))))
    model.save_pretrained(folder)
    return model
