"""Offline checks of a model card's metadata against the Hub's rules, as far as they can be checked without it.

`huggingface_hub.ModelCard.validate()` asks the Hub (`/api/validate-yaml`), which an offline run cannot reach.
`card_metadata_problems` checks what can be checked here, through huggingface_hub's own classes:
- the YAML parses into a `ModelCardData` and its `model-index` into `EvalResult`s (`ignore_metadata_errors=False`);
- `language`: ISO 639 codes, the two-letter ISO 639-1 code wherever one exists (`en`, not `eng`; `langcodes`);
- `license`: one of the Hub's licence identifiers (`other` with `license_name`);
- `pipeline_tag`: one of the Hub's tasks;
- `datasets`, `base_model` and every model-index `dataset.type`: Hub repository ids (`validate_repo_id`), never a
  local path;
- `widget`: a list of `{text: ...}` entries;
- `model-index` needs `model_name`; `eval_results` values are numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import langcodes
from huggingface_hub import ModelCard
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

# The licence identifiers the Hub accepts in `license:` (hub docs, "Licenses").
HUB_LICENSES = frozenset(
    """apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
    bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0
    cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0
    cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
    cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl
    gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr
    mpl-2.0 odc-by odbl openmdw-1.0 openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
    deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3 llama4 gemma
    unknown other""".split()
)
# The Hub's tasks (`pipeline_tag`).
HUB_PIPELINE_TAGS = frozenset(
    """text-classification token-classification table-question-answering question-answering zero-shot-classification
    translation summarization feature-extraction text-generation fill-mask sentence-similarity text-to-speech
    text-to-audio automatic-speech-recognition audio-to-audio audio-classification audio-text-to-text
    voice-activity-detection depth-estimation image-classification object-detection image-segmentation text-to-image
    image-to-text image-to-image image-to-video unconditional-image-generation video-classification
    reinforcement-learning robotics tabular-classification tabular-regression tabular-to-text table-to-text
    multiple-choice text-ranking text-retrieval time-series-forecasting text-to-video image-text-to-text
    visual-question-answering document-question-answering zero-shot-image-classification graph-ml mask-generation
    zero-shot-object-detection text-to-3d image-to-3d image-feature-extraction video-text-to-text keypoint-detection
    visual-document-retrieval any-to-any video-to-video other""".split()
)


class CardValidationError(ValueError):
    """A generated card whose metadata the Hub would reject or misread; the message lists every problem."""


def hub_language_code(code: str) -> str:
    """`code` as the Hub spells it: the ISO 639-1 code where one exists (`eng` -> `en`, `kin` -> `rw`), else the
    ISO 639-3 code (`pcm`)."""
    try:
        return langcodes.standardize_tag(code)
    except (ValueError, LookupError):
        return code


def _language_problems(languages) -> list[str]:
    problems = []
    for code in [languages] if isinstance(languages, str) else list(languages or []):
        if not isinstance(code, str) or not code.isascii() or not code.isalpha() or not 2 <= len(code) <= 3:
            problems.append(f"language {code!r} is not an ISO 639 code (two or three letters, e.g. 'en', 'pcm')")
        elif not langcodes.tag_is_valid(code):
            problems.append(f"language {code!r} is not a known ISO 639 code")
        elif hub_language_code(code) != code:
            problems.append(f"language {code!r} has an ISO 639-1 code: write {hub_language_code(code)!r}")
    return problems


def _repo_id_problem(what: str, value) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{what} {value!r} is not a Hub repository id"
    # A bare name ("data", "imdb") is the folder name cards write for a local dataset and a valid Hub id; only a
    # "namespace/name" that is a folder here (e.g. "data/polar") is a local path in disguise.
    if os.path.isabs(value) or value.startswith(("./", "../", "~")) or ("/" in value and Path(value).exists()):
        return f"{what} {value!r} is a local path, not a Hub repository id"
    try:
        validate_repo_id(value)
    except HFValidationError as error:
        return f"{what} {value!r} is not a Hub repository id ({str(error).splitlines()[0]})"
    return None


def card_metadata_problems(card: ModelCard | str | os.PathLike) -> list[str]:
    """Every problem found in the card's metadata (an empty list for a valid card). `card` is a ModelCard, its
    text, or the path of a README.md."""
    if isinstance(card, (str, os.PathLike)) and Path(card).is_file():
        text = Path(card).read_text(encoding="utf-8")
    else:
        text = str(card)
    try:
        data = ModelCard(text, ignore_metadata_errors=False).data
    except ValueError as error:
        return [f"the metadata does not parse: {error}"]
    metadata = data.to_dict()
    problems = _language_problems(metadata.get("language"))
    licence = metadata.get("license")
    if licence is None:
        problems.append("license is missing")
    elif licence not in HUB_LICENSES:
        problems.append(f"license {licence!r} is not a Hub licence identifier; use 'other' with license_name")
    elif licence == "other" and not metadata.get("license_name"):
        problems.append("license 'other' needs license_name (and license_link)")
    pipeline_tag = metadata.get("pipeline_tag")
    if pipeline_tag is not None and pipeline_tag not in HUB_PIPELINE_TAGS:
        problems.append(f"pipeline_tag {pipeline_tag!r} is not a Hub task")
    for dataset in metadata.get("datasets") or []:
        problems.append(_repo_id_problem("datasets entry", dataset))
    base_models = metadata.get("base_model")
    for base in [base_models] if isinstance(base_models, str) else list(base_models or []):
        problems.append(_repo_id_problem("base_model", base))
    widget = metadata.get("widget")
    if widget is not None and (
        not isinstance(widget, list) or not all(isinstance(e, dict) and isinstance(e.get("text"), str) for e in widget)
    ):
        problems.append("widget must be a list of {text: ..., example_title: ...} entries")
    for result in data.eval_results or []:
        problems.append(_repo_id_problem(f"model-index dataset.type of {result.metric_name!r}", result.dataset_type))
        if not isinstance(result.metric_value, (int, float)) or isinstance(result.metric_value, bool):
            problems.append(f"model-index value of {result.metric_name!r} is not a number: {result.metric_value!r}")
    return sorted({problem for problem in problems if problem})


def validate_card_metadata(card: ModelCard | str | os.PathLike, where: str = "model card") -> None:
    """Raise CardValidationError listing every problem of `card_metadata_problems`."""
    problems = card_metadata_problems(card)
    if problems:
        raise CardValidationError(f"{where}: the metadata would be rejected or misread by the Hub:\n  - " + "\n  - ".join(problems))


__all__ = ["CardValidationError", "card_metadata_problems", "hub_language_code", "validate_card_metadata"]
