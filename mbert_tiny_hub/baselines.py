"""The baselines every table puts the model next to: TF-IDF n-grams with a linear model, and the majority class.

TF-IDF features are word 1-2-grams plus character 2-5-grams inside word boundaries (`char_wb`), so scripts
written without spaces (Chinese, Khmer, Burmese) still get useful features. Multi-label problems use one binary
classifier per label (one-vs-rest). Predictions have the same shape as the model's, so the same metric code
(`mbert_tiny_hub.metrics.classification_report`) scores both.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

BASELINES = ("tfidf_logreg", "tfidf_svm", "majority")


def tfidf_features(max_features: int | None = 300_000) -> FeatureUnion:
    """Word 1-2-grams + character 2-5-grams (`char_wb`), sublinear TF, each capped at `max_features`."""
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, max_features=max_features),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, max_features=max_features
                ),
            ),
        ]
    )


def make_baseline(name: str, multi_label: bool = False, seed: int = 0) -> Pipeline | DummyClassifier:
    """An unfitted scikit-learn estimator for baseline `name` (one of `BASELINES`).

    `majority` predicts the most frequent class (single-label) or, per label, whether most training rows
    carry it (multi-label): it scores what a classifier that ignores the text gets.
    """
    if name == "majority":
        return DummyClassifier(strategy="most_frequent")
    if name == "tfidf_logreg":
        classifier = LogisticRegression(max_iter=2000, random_state=seed)
    elif name == "tfidf_svm":
        classifier = LinearSVC(random_state=seed)
    else:
        raise ValueError(f"Unknown baseline {name!r}: choose from {', '.join(BASELINES)}.")
    if multi_label:
        classifier = OneVsRestClassifier(classifier)
    return Pipeline([("tfidf", tfidf_features()), ("classifier", classifier)])


def fit_baselines(
    texts: Sequence[str],
    labels: np.ndarray,
    multi_label: bool = False,
    names: Sequence[str] = BASELINES,
    seed: int = 0,
) -> dict:
    """Fit each baseline on `texts` and `labels` (class ids, or a 0/1 matrix for multi-label)."""
    texts, labels = list(texts), np.asarray(labels)
    if len(texts) == 0:
        raise ValueError("Cannot fit baselines on an empty training set.")
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} training texts but {len(labels)} labels.")
    fitted = {}
    for name in names:
        estimator = make_baseline(name, multi_label, seed)
        with warnings.catch_warnings():
            # A label absent from the training rows gets a constant predictor; a slow solver still gives a
            # usable baseline. Neither should drown the evaluation's output.
            warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(texts if name != "majority" else np.zeros((len(texts), 1)), labels)
        fitted[name] = estimator
    return fitted


def predict_baseline(estimator, texts: Sequence[str]) -> np.ndarray:
    """Class ids (single-label) or a 0/1 matrix (multi-label), like the model's predictions."""
    texts = list(texts)
    if isinstance(estimator, DummyClassifier):
        return np.asarray(estimator.predict(np.zeros((len(texts), 1)))).astype(np.int64)
    return np.asarray(estimator.predict(texts)).astype(np.int64)
