"""Deriving mBERT-Tiny students from BERT teachers built (randomly initialised) in the tests."""

import pytest
import torch
from transformers import (
    AutoModel,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    GPT2Config,
    GPT2LMHeadModel,
)

from modeling import (
    MBertTinyForMaskedLM,
    MBertTinyForSequenceClassification,
    derive_student,
    prune_vocabulary,
    select_layers,
)


def _teacher(cls=BertForMaskedLM, vocab_size=400, **overrides):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=6, num_attention_heads=4,
                        intermediate_size=160, **overrides)
    return cls(config).eval()


def _remap(input_ids, kept_ids):
    new_id = {old: new for new, old in enumerate(kept_ids)}
    return input_ids.clone().apply_(lambda old: new_id[old])


def _batch_inside(kept_ids, seed=0):
    generator = torch.Generator().manual_seed(seed)
    choices = torch.tensor(kept_ids[5:])
    input_ids = choices[torch.randint(len(choices), (3, 10), generator=generator)]
    attention_mask = torch.ones_like(input_ids)
    attention_mask[2, 6:] = 0
    return input_ids, attention_mask


def test_uniform_layer_selection_spreads_layers_and_ends_at_the_top():
    assert select_layers(12, 4) == [2, 5, 8, 11]
    assert select_layers(12, 6) == [1, 3, 5, 7, 9, 11]
    assert select_layers(12, 2) == [5, 11]
    assert select_layers(6, 6) == list(range(6))
    assert select_layers(12, 3, "bottom") == [0, 1, 2]
    assert select_layers(12, 2, [0, 7]) == [0, 7]


@pytest.mark.parametrize("layers, message", [([0, 12], "outside"), ([1, 2, 3], "lists 3 teacher layers"),
                                             ("every-other", "Unknown layer selection")])
def test_bad_layer_selections_are_rejected(layers, message):
    with pytest.raises(ValueError, match=message):
        select_layers(12, 2, layers)


def test_full_width_student_with_all_layers_reproduces_the_teacher_inside_the_kept_vocabulary():
    teacher = _teacher()
    kept_ids = sorted(set(range(0, 400, 3)) | {0, 100, 101, 102, 103})
    student = derive_student(teacher, kept_token_ids=kept_ids, layers=list(range(6))).eval()
    input_ids, attention_mask = _batch_inside(kept_ids)
    with torch.no_grad():
        expected = teacher(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        actual = student(input_ids=_remap(input_ids, kept_ids), attention_mask=attention_mask,
                         output_hidden_states=True, return_all_logits=True)
    assert isinstance(student, MBertTinyForMaskedLM)
    assert student.config.vocab_size == len(kept_ids)
    torch.testing.assert_close(actual.logits, expected.logits[..., kept_ids])
    for ours, theirs in zip(actual.hidden_states, expected.hidden_states):
        torch.testing.assert_close(ours, theirs)


def test_student_of_a_classifier_keeps_its_head_when_labels_match():
    teacher = _teacher(BertForSequenceClassification, num_labels=3)
    kept_ids = list(range(0, 400, 2))
    student = derive_student(teacher, kept_token_ids=kept_ids, layers=list(range(6)), head="sequence_classification",
                             num_labels=3, id2label=teacher.config.id2label, label2id=teacher.config.label2id).eval()
    input_ids, attention_mask = _batch_inside(kept_ids)
    with torch.no_grad():
        expected = teacher(input_ids=input_ids, attention_mask=attention_mask).logits
        actual = student(input_ids=_remap(input_ids, kept_ids), attention_mask=attention_mask).logits
    assert isinstance(student, MBertTinyForSequenceClassification)
    torch.testing.assert_close(actual, expected)


def test_narrow_student_starts_from_the_teachers_most_important_weights():
    teacher = _teacher()
    student = derive_student(teacher, num_hidden_layers=2, hidden_size=32, num_attention_heads=2,
                             intermediate_size=80)
    assert student.config.teacher_layers == [2, 5]
    teacher_state = teacher.state_dict()
    word = teacher_state["bert.embeddings.word_embeddings.weight"]
    dims = torch.sort(torch.topk(word.norm(dim=0), 32).indices).values
    torch.testing.assert_close(student.bert.embeddings.word_embeddings.weight, word[:, dims])
    # Every student weight matrix is a sub-matrix of its teacher layer's: each row appears in the teacher.
    teacher_query = teacher_state["bert.encoder.layer.5.attention.self.query.weight"][:, dims]
    student_query = student.bert.encoder.layer[1].attention.self.query.weight
    assert all(any(torch.equal(row, candidate) for candidate in teacher_query) for row in student_query)
    assert student.config.teacher_name_or_path is not None or student.config.teacher_layers


def test_student_of_a_bare_encoder_gets_a_fresh_mlm_head():
    teacher = _teacher(BertModel)
    student = derive_student(teacher, num_hidden_layers=3)
    assert student.config.teacher_layers == [1, 3, 5]
    assert student.cls.predictions.decoder.weight is student.bert.embeddings.word_embeddings.weight


def test_presets_set_the_student_shape():
    teacher = BertModel(BertConfig(vocab_size=300, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                   intermediate_size=3072))
    student = derive_student(teacher, preset="tiny2", kept_token_ids=list(range(200)))
    assert (student.config.num_hidden_layers, student.config.hidden_size, student.config.preset) == (2, 128, "tiny2")
    assert student.config.teacher_layers == [5, 11]
    assert student.config.vocab_size == 200


def test_teacher_that_is_not_bert_like_is_rejected():
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100))
    with pytest.raises(ValueError, match="not BERT-like"):
        derive_student(gpt2, num_hidden_layers=1)
    with pytest.raises(TypeError, match="PreTrainedModel"):
        derive_student(torch.nn.Linear(3, 3))


def test_teacher_checkpoint_of_another_architecture_is_rejected_by_name(tmp_path):
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100)).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"'gpt2' model; derive_student needs a BERT-like checkpoint"):
        derive_student(str(tmp_path))


def test_student_wider_than_the_teacher_is_rejected():
    with pytest.raises(ValueError, match="must not be wider"):
        derive_student(_teacher(), hidden_size=128, num_attention_heads=2)
    with pytest.raises(ValueError, match="only 6"):
        derive_student(_teacher(), num_hidden_layers=8)


def test_student_from_a_checkpoint_path_loads_with_stock_transformers(tmp_path):
    _teacher(BertForMaskedLM).save_pretrained(tmp_path / "teacher")
    student = derive_student(str(tmp_path / "teacher"), num_hidden_layers=2, head="base")
    assert student.config.teacher_name_or_path == str(tmp_path / "teacher")
    student.save_pretrained(tmp_path / "student")
    stock = AutoModel.from_pretrained(tmp_path / "student")
    assert type(stock).__name__ == "BertModel"


@pytest.mark.shared_data
def test_pruned_real_vocabulary_student_matches_a_full_vocabulary_teacher(mbert_tokenizer):
    torch.manual_seed(0)
    teacher = BertForMaskedLM(BertConfig(vocab_size=mbert_tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=64)).eval()
    corpus = ["Das ist ein kleiner Test.", "Esto es una prueba pequeña.", "Это небольшой тест.", "这是一个小测试。"]
    pruned = prune_vocabulary(mbert_tokenizer, corpus, vocab_size=20_100)
    student = derive_student(teacher, kept_token_ids=pruned.kept_ids, layers=[0, 1]).eval()
    text = "Esto es una prueba. Это тест."
    teacher_inputs = mbert_tokenizer(text, return_tensors="pt")
    student_inputs = pruned.tokenizer(text, return_tensors="pt")
    assert mbert_tokenizer.convert_ids_to_tokens(teacher_inputs.input_ids[0]) == pruned.tokenizer.convert_ids_to_tokens(
        student_inputs.input_ids[0])
    with torch.no_grad():
        expected = teacher(**teacher_inputs).logits[..., pruned.kept_ids]
        actual = student(**student_inputs, return_all_logits=True).logits
    torch.testing.assert_close(actual, expected)
    assert student.config.vocab_size == len(pruned) <= 20_100


def _e5_like_teacher(vocab_size=600):
    """The shape of multilingual-e5-small (heads of 32, XLM-R's <pad> at id 1), smaller and random."""
    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=384, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=1536, pad_token_id=1)
    return BertModel(config, add_pooling_layer=False).eval()


def test_derived_students_keep_whole_teacher_heads():
    teacher = _e5_like_teacher()
    shapes = {}
    for preset in ("tiny6", "tiny4", "tiny2"):
        config = derive_student(teacher, preset, head="base").config
        shapes[preset] = (config.hidden_size, config.num_attention_heads, config.hidden_size // config.num_attention_heads)
    assert shapes == {"tiny6": (384, 12, 32), "tiny4": (256, 8, 32), "tiny2": (128, 4, 32)}
    # mBERT's heads are 64 wide: the presets' own head counts.
    mbert_like = BertModel(BertConfig(vocab_size=300, hidden_size=768, num_hidden_layers=4, num_attention_heads=12,
                                      intermediate_size=3072), add_pooling_layer=False)
    assert derive_student(mbert_like, "tiny4", head="base").config.num_attention_heads == 4


def test_tiny6_from_every_other_e5_layer_computes_the_teachers_layers_exactly():
    teacher = _e5_like_teacher()
    student = derive_student(teacher, "tiny6", layers=[0, 2, 4, 6, 8, 10], head="base").eval()
    input_ids = torch.randint(5, 600, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        teacher_hidden = teacher(input_ids, output_hidden_states=True).hidden_states
        student_hidden = student(input_ids, output_hidden_states=True).hidden_states
    # Student layer 0 is teacher layer 0 on the same embeddings: identical outputs.
    torch.testing.assert_close(student_hidden[1], teacher_hidden[1], atol=1e-5, rtol=1e-5)


def test_the_padding_row_moves_with_the_pruned_vocabulary():
    teacher = _e5_like_teacher()
    kept = [0, 3, 1, 7, 9]  # not sorted on purpose: <pad> (1) becomes id 2
    student = derive_student(teacher, "tiny2", kept_token_ids=kept, head="base")
    assert student.config.pad_token_id == 2
    no_pad = derive_student(teacher, "tiny2", kept_token_ids=[0, 3, 7], head="base")
    assert no_pad.config.pad_token_id is None


@pytest.mark.parametrize("preset,budget", [("tiny2", 6_200_000), ("tiny4", 15_000_000), ("tiny6", 28_400_000)])
def test_e5_students_at_the_default_vocabulary_fit_the_parameter_budgets(preset, budget):
    from modeling.mbert_tiny import DEFAULT_VOCAB_SIZE, count_parameters

    teacher = _e5_like_teacher(vocab_size=DEFAULT_VOCAB_SIZE + 10)
    kept = list(range(DEFAULT_VOCAB_SIZE))
    for head in ("base", "masked_lm"):
        student = derive_student(teacher, preset, kept_token_ids=kept, head=head)
        assert count_parameters(student)["total"] <= budget, (preset, head)
