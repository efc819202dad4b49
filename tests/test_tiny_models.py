"""Tests for the tiny offline model folders built by :mod:`tests.tiny_models`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import huggingface_hub
import pytest
import torch
from tokenizers import Tokenizer
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from tests.tiny_models import (
    ARCHITECTURES,
    CORPUS,
    HIDDEN_SIZE,
    METASPACE,
    MODEL_MAX_LENGTH,
    TinyModelFactory,
    get_arch_spec,
    make_tiny_model_dir,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

EXPECTED_CLASSES = {
    "bert": ("BertTokenizer", "BertModel"),
    "roberta": ("RobertaTokenizer", "RobertaModel"),
    "distilbert": ("DistilBertTokenizer", "DistilBertModel"),
    "albert": ("AlbertTokenizer", "AlbertModel"),
    "electra": ("BertTokenizer", "ElectraModel"),
    "xlm-roberta": ("XLMRobertaTokenizer", "XLMRobertaModel"),
    "deberta-v2": ("DebertaV2Tokenizer", "DebertaV2Model"),
}
DOUBLE_SEPARATOR_ARCHS = {"roberta", "xlm-roberta"}
CASED_ONLY_ARCHS = {"roberta", "xlm-roberta"}
BYTE_LEVEL_SPACE = "\u0120"

BATCH = ["Angela Merkel visited Paris and Berlin last week.", "A great movie!"]
OFFSET_TEXTS = [
    "Angela Merkel visited Paris and Berlin last week.",
    "The film was bad, but the music was good.",
    "Google paid 25 euros for 3 terrible tickets?",
    "Unbelievably, the Zookeeper's xylophone arrived.",
]
PAIR = ("Where is the movie playing?", "It plays in London at 8 pm.")
TIME_LIMIT_S = 15.0


@pytest.fixture(params=ARCHITECTURES)
def arch(request: pytest.FixtureRequest) -> str:
    """Yields every supported architecture name in turn."""
    return request.param


@pytest.fixture
def model_dir(arch: str, tiny_model_factory: TinyModelFactory) -> Path:
    """Returns the cached lower-casing tiny folder of the current architecture."""
    return tiny_model_factory(arch)


@pytest.fixture
def tokenizer(model_dir: Path) -> PreTrainedTokenizerBase:
    """Loads the current architecture's tokenizer through ``AutoTokenizer``."""
    return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


@pytest.fixture
def model(model_dir: Path) -> PreTrainedModel:
    """Loads the current architecture's base model through ``AutoModel``."""
    return AutoModel.from_pretrained(model_dir, local_files_only=True).eval()


def _surface(token: str) -> str:
    """Strips WordPiece, SentencePiece and byte-level word markers from an ASCII token.

    A token that is only a word marker (``▁`` or ``Ġ``) has an empty surface; its
    offsets may be empty or point at a neighbouring character.
    """
    return token.removeprefix("##").replace(METASPACE, "").replace(BYTE_LEVEL_SPACE, " ").strip()


def _folder_contents(path: Path) -> dict[str, bytes]:
    """Reads every file of a folder, keyed by file name."""
    return {item.name: item.read_bytes() for item in sorted(path.iterdir())}


def test_tokenizer_is_fast_with_all_special_tokens(
    arch: str, tokenizer: PreTrainedTokenizerBase
) -> None:
    assert tokenizer.is_fast
    assert type(tokenizer).__name__ == EXPECTED_CLASSES[arch][0]
    assert tokenizer.model_max_length == MODEL_MAX_LENGTH
    assert 500 <= len(tokenizer) <= 1000
    specials = get_arch_spec(arch).specials
    for role in ("pad", "unk", "cls", "sep", "mask"):
        token = getattr(tokenizer, f"{role}_token")
        assert token == getattr(specials, role)
        assert getattr(tokenizer, f"{role}_token_id") == specials.id_of(token)


def test_model_matches_tokenizer(
    arch: str, tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel
) -> None:
    assert type(model).__name__ == EXPECTED_CLASSES[arch][1]
    assert model.config.hidden_size == HIDDEN_SIZE
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.pad_token_id == tokenizer.pad_token_id


def test_forward_pass_on_padded_batch(
    tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel
) -> None:
    batch = tokenizer(BATCH, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any()
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert hidden.shape == (2, batch["input_ids"].shape[1], HIDDEN_SIZE)
    assert torch.isfinite(hidden).all()


def test_forward_pass_at_model_max_length(
    tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel
) -> None:
    batch = tokenizer(" ".join(CORPUS), truncation=True, return_tensors="pt")
    assert batch["input_ids"].shape[1] == MODEL_MAX_LENGTH
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert hidden.shape == (1, MODEL_MAX_LENGTH, HIDDEN_SIZE)


@pytest.mark.parametrize("text", OFFSET_TEXTS)
def test_offsets_map_back_into_text(tokenizer: PreTrainedTokenizerBase, text: str) -> None:
    encoding = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    rows = zip(tokens, encoding["offset_mapping"], encoding["special_tokens_mask"], strict=True)
    checked = 0
    for token, (start, end), is_special in rows:
        surface = _surface(token)
        assert 0 <= start <= end <= len(text), token
        if is_special or not surface or token == tokenizer.unk_token:
            continue
        assert text[start:end].strip().lower() == surface.lower(), token
        checked += 1
    assert checked >= len(text.split())


def test_single_text_gets_special_tokens(tokenizer: PreTrainedTokenizerBase) -> None:
    text = PAIR[0]
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
    assert tokens == [tokenizer.cls_token, *tokenizer.tokenize(text), tokenizer.sep_token]


def test_pair_gets_special_tokens_and_segments(
    arch: str, tokenizer: PreTrainedTokenizerBase
) -> None:
    first, second = PAIR
    encoding = tokenizer(first, second, return_token_type_ids=True)
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    first_tokens, second_tokens = tokenizer.tokenize(first), tokenizer.tokenize(second)
    cls, sep = tokenizer.cls_token, tokenizer.sep_token
    middle = [sep, sep] if arch in DOUBLE_SEPARATOR_ARCHS else [sep]
    assert tokens == [cls, *first_tokens, *middle, *second_tokens, sep]
    if arch in DOUBLE_SEPARATOR_ARCHS:
        expected_types = [0] * len(tokens)
    else:
        expected_types = [0] * (len(first_tokens) + 2) + [1] * (len(second_tokens) + 1)
    assert encoding["token_type_ids"] == expected_types


def test_unknown_characters(arch: str, tokenizer: PreTrainedTokenizerBase) -> None:
    ids = tokenizer("Omega \u03a9 sign")["input_ids"]
    if arch == "roberta":
        assert tokenizer.unk_token_id not in ids
    else:
        assert tokenizer.unk_token_id in ids


def test_tokenizer_json_agrees_with_transformers(
    model_dir: Path, tokenizer: PreTrainedTokenizerBase
) -> None:
    backend = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    texts = [*OFFSET_TEXTS, "  Extra   spaces\tand\nbreaks  ", "Caf\u00e9 in Z\u00fcrich"]
    for text in texts:
        for pair in (None, PAIR[1]):
            expected = backend.encode(text, pair)
            actual = tokenizer(text, pair, return_offsets_mapping=True)
            assert actual["input_ids"] == expected.ids
            assert [tuple(offset) for offset in actual["offset_mapping"]] == expected.offsets


@pytest.mark.parametrize("lower_case", [True, False])
def test_lower_case_option(
    arch: str, lower_case: bool, tiny_model_factory: TinyModelFactory
) -> None:
    folder = tiny_model_factory(arch, lower_case)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    pieces = "".join(_surface(token) for token in tokenizer.tokenize("Paris"))
    lowers = lower_case and arch not in CASED_ONLY_ARCHS
    assert pieces == ("paris" if lowers else "Paris")
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config.get("do_lower_case", False) == lowers


def test_tiny_bert_dir_is_cached(tiny_bert_dir: Path, tiny_model_factory: TinyModelFactory) -> None:
    assert tiny_model_factory("bert") == tiny_bert_dir
    assert (tiny_bert_dir / "model.safetensors").is_file()


def test_num_labels_recorded(tmp_path: Path) -> None:
    folder = make_tiny_model_dir("distilbert", tmp_path / "labels", num_labels=3)
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    assert config.num_labels == 3
    assert config.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    classifier = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
    with torch.no_grad():
        logits = classifier(**tokenizer(BATCH, padding=True, return_tensors="pt")).logits
    assert logits.shape == (2, 3)


def test_unknown_architecture_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown architecture"):
        make_tiny_model_dir("gpt2", tmp_path / "gpt2")


def test_building_all_is_fast_and_deterministic(
    tmp_path: Path, tiny_model_factory: TinyModelFactory
) -> None:
    start = time.perf_counter()
    built = {arch: make_tiny_model_dir(arch, tmp_path / arch) for arch in ARCHITECTURES}
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT_S
    for arch, folder in built.items():
        assert _folder_contents(folder) == _folder_contents(tiny_model_factory(arch)), arch


def test_works_in_hub_offline_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert huggingface_hub.constants.is_offline_mode()
    for arch in ARCHITECTURES:
        folder = make_tiny_model_dir(arch, tmp_path / arch)
        assert AutoTokenizer.from_pretrained(folder).is_fast
        assert AutoModel.from_pretrained(folder).config.hidden_size == HIDDEN_SIZE


@pytest.mark.slow
def test_works_with_hub_offline_environment(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from transformers import AutoModel, AutoTokenizer\n"
        "from tests.tiny_models import ARCHITECTURES, make_tiny_model_dir\n"
        "for arch in ARCHITECTURES:\n"
        "    folder = make_tiny_model_dir(arch, Path(sys.argv[1]) / arch)\n"
        "    assert AutoTokenizer.from_pretrained(folder).is_fast\n"
        "    AutoModel.from_pretrained(folder)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
