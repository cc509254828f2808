"""The latency code runs every runtime on tiny models and returns sane, complete rows. No speed claims here:
timings live in benchmarks/latency.py and `evaluate.py --latency`."""

import itertools

import numpy as np
import pytest
import torch

from mbert_tiny_hub.latency import (
    MBERT_BASE_NAME,
    add_ratios,
    compare_with_compression_study,
    format_latency_table,
    make_runner,
    measure_latency,
)
from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForSequenceClassification, MBertTinyModel

QUICK = {"warmup": 1, "min_iterations": 3, "min_seconds": 0.0}


def tiny_model(layers=2, hidden=32, classifier=True):
    torch.manual_seed(layers)
    config = MBertTinyConfig(
        vocab_size=300, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, max_position_embeddings=64, num_labels=3,
    )
    return (MBertTinyForSequenceClassification if classifier else MBertTinyModel)(config).eval()


def check_rows(rows, models, runtimes, batch_sizes, seq_lens):
    expected = set(itertools.product(models, runtimes, batch_sizes, seq_lens))
    got = [(r["model"], r["runtime"], r["batch_size"], r["seq_len"]) for r in rows]
    assert sorted(got) == sorted(expected)  # every requested row, once
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p95_ms"], row
        assert row["threads"] >= 1 and row["device"] == "cpu" and row["iterations"] >= QUICK["min_iterations"]


def test_every_cpu_runtime_returns_one_sane_row_per_model_batch_and_length():
    runtimes = ("eager", "int8", "onnxruntime", "onnxruntime_int8")
    models = {"tiny-2": tiny_model(2), "tiny-1": tiny_model(1, classifier=False)}
    rows = measure_latency(models, runtimes, batch_sizes=(1, 2), seq_lens=(8, 16), threads=1,
                           compare_to_mbert_base=False, **QUICK)
    check_rows(rows, models, runtimes, (1, 2), (8, 16))
    assert {row["threads"] for row in rows} == {1}
    table = format_latency_table(rows)
    assert table.count("\n") == len(rows) + 1 and "onnxruntime_int8" in table


def test_ratios_pair_rows_of_the_same_runtime_batch_and_length_only():
    rows = [
        {"model": MBERT_BASE_NAME, "runtime": "eager", "device": "cpu", "batch_size": 1, "seq_len": 128,
         "p50_ms": 150.0},
        {"model": "tiny2", "runtime": "eager", "device": "cpu", "batch_size": 1, "seq_len": 128, "p50_ms": 6.0},
        {"model": "tiny2", "runtime": "int8", "device": "cpu", "batch_size": 1, "seq_len": 128, "p50_ms": 5.0},
    ]
    ratios = [row["ratio_to_mbert_base"] for row in add_ratios(rows)]
    assert ratios == [1.0, 25.0, None]
    for row in rows:
        row["threads"], row["p95_ms"] = 2, row["p50_ms"]
    study = compare_with_compression_study(add_ratios(rows))
    assert "| tiny2 | eager | 6.00 | 25.0x | 6.12 | 24.5x |" in study


def test_onnx_export_computes_the_same_outputs_as_the_pytorch_model(tmp_path):
    model = tiny_model()
    input_ids = torch.randint(1, 300, (2, 12), generator=torch.Generator().manual_seed(0))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 8:] = 0  # padded positions go through the exported graph too
    eager = make_runner(model, "eager")(input_ids, attention_mask).numpy()
    onnx = make_runner(model, "onnxruntime", threads=1, workdir=tmp_path)(input_ids, attention_mask)[0]
    np.testing.assert_allclose(onnx, eager, atol=1e-4)
    int8 = make_runner(model, "int8")(input_ids, attention_mask).numpy()
    assert int8.shape == eager.shape and np.isfinite(int8).all()


def test_bad_latency_requests_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="Unknown runtime.*'tensorrt'"):
        measure_latency({"tiny": tiny_model()}, ("tensorrt",), compare_to_mbert_base=False)
    with pytest.raises(ValueError, match="at most 64 positions; sequence length 128"):
        measure_latency({"tiny": tiny_model()}, ("eager",), seq_lens=(128,), compare_to_mbert_base=False)
    with pytest.raises(ValueError, match="needs a workdir"):
        make_runner(tiny_model(), "onnxruntime")


@pytest.mark.slow
def test_torch_compile_runtime_returns_sane_rows():
    # One shape: compiling costs tens of seconds per shape on a small CPU.
    rows = measure_latency({"tiny": tiny_model()}, ("compile",), batch_sizes=(1,), seq_lens=(8,),
                           compare_to_mbert_base=False, **QUICK)
    check_rows(rows, ["tiny"], ["compile"], [1], [8])


@pytest.mark.parametrize("causal", [False, True], ids=["bert4rec", "sasrec_plus"])
def test_recommend_through_onnx_runtime_gives_pytorchs_top_10_for_a_50_item_history(causal):
    from mbert_tiny_hub.latency import measure_recommend_latency
    from modeling.bert4rec import Bert4RecConfig, Bert4RecForSequentialRecommendation, ItemVocabulary

    torch.manual_seed(0)
    config = Bert4RecConfig(
        num_items=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=50, causal=causal,
    )
    model = Bert4RecForSequentialRecommendation(config).eval()
    model.set_item_vocabulary(ItemVocabulary(list(range(1000, 1300)), [f"Item {i}" for i in range(300)]))
    rows = measure_recommend_latency({"tiny": model}, history_length=50, k=10, threads=1, warmup=1,
                                     min_iterations=3, min_seconds=0.0)
    assert [row["runtime"] for row in rows] == ["eager", "onnxruntime"]
    assert all(row["top_k_agrees"] and row["history_length"] == 50 for row in rows)
    assert all(0 < row["p50_ms"] <= row["p90_ms"] and row["ratio_to_eager"] > 0 for row in rows)
