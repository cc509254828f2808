"""TF-IDF + linear model and majority-class baselines, fitted for real with scikit-learn on small corpora."""

import random

import numpy as np
import pytest

from mbert_tiny_hub.baselines import BASELINES, fit_baselines, make_baseline, predict_baseline
from mbert_tiny_hub.metrics import classification_report

CUES = {0: ["awful", "terrible", "horrible"], 1: ["okay", "fine", "average"], 2: ["wonderful", "great", "lovely"]}
FILLER = ["the", "film", "was", "really", "quite", "today", "and", "plot", "actors", "music"]


def corpus(num_rows, seed, class_weights=(1, 1, 1)):
    rng = random.Random(seed)
    labels = rng.choices([0, 1, 2], weights=class_weights, k=num_rows)
    texts = [" ".join(rng.sample(FILLER, 4) + [rng.choice(CUES[label])]) for label in labels]
    return texts, np.array(labels)


def test_tfidf_baselines_learn_word_cues_and_majority_predicts_the_most_frequent_class():
    texts, labels = corpus(150, seed=0, class_weights=(1, 1, 3))
    test_texts, test_labels = corpus(60, seed=1)
    fitted = fit_baselines(texts, labels)
    assert list(fitted) == list(BASELINES)
    for name in ("tfidf_logreg", "tfidf_svm"):
        report = classification_report(test_labels, predict_baseline(fitted[name], test_texts), ["neg", "neu", "pos"])
        assert report["macro_f1"] > 0.9, name
    majority = predict_baseline(fitted["majority"], test_texts)
    most_frequent = np.bincount(labels).argmax()
    assert most_frequent == 2 and set(majority.tolist()) == {2}


def test_character_ngrams_learn_from_text_written_without_spaces():
    # Unsegmented "sentences": each is a single word-token, so only character n-grams can generalise.
    rng = random.Random(0)
    syllables = ["ka", "lo", "mi", "tu", "re", "sa", "no", "pe"]
    cues = {0: "zhang", 1: "qiuyi"}

    def sample(n):
        labels = [rng.randint(0, 1) for _ in range(n)]
        texts = ["".join(rng.sample(syllables, 3)) + cues[y] + "".join(rng.sample(syllables, 2)) for y in labels]
        return texts, np.array(labels)

    texts, labels = sample(80)
    test_texts, test_labels = sample(40)
    fitted = fit_baselines(texts, labels, names=["tfidf_svm"])
    predictions = predict_baseline(fitted["tfidf_svm"], test_texts)
    assert (predictions == test_labels).mean() > 0.9


def test_multi_label_baselines_predict_a_zero_one_matrix_one_classifier_per_label():
    rng = random.Random(3)
    label_sets = [sorted(rng.sample(range(3), rng.choice([1, 1, 2]))) for _ in range(120)]
    texts = [" ".join(rng.sample(FILLER, 4) + [rng.choice(CUES[i]) for i in labels]) for labels in label_sets]
    matrix = np.zeros((120, 4), dtype=int)  # a 4th label that never occurs: a constant predictor, not a crash
    for row, labels in enumerate(label_sets):
        matrix[row, labels] = 1
    fitted = fit_baselines(texts[:90], matrix[:90], multi_label=True)
    for name, estimator in fitted.items():
        predictions = predict_baseline(estimator, texts[90:])
        assert predictions.shape == (30, 4), name
        assert set(np.unique(predictions)) <= {0, 1}
        assert not predictions[:, 3].any()
    predictions = predict_baseline(fitted["tfidf_svm"], texts[90:])
    report = classification_report(matrix[90:], predictions, list("abcd"), multi_label=True)
    assert report["micro_f1"] > 0.8
    # Per-label majority: a label carried by under half of the rows is never predicted.
    share = matrix[:90].mean(axis=0)
    assert predict_baseline(fitted["majority"], texts[90:])[0].tolist() == (share > 0.5).astype(int).tolist()


def test_bad_baseline_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="Unknown baseline 'bm25'"):
        make_baseline("bm25")
    with pytest.raises(ValueError, match="empty training set"):
        fit_baselines([], np.array([]))
    with pytest.raises(ValueError, match="3 training texts but 2 labels"):
        fit_baselines(["a", "b", "c"], np.array([0, 1]))
