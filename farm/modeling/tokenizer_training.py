"""Train a new WordPiece or byte-level BPE tokenizer on your own corpus.

The result is a transformers fast tokenizer: ``save_pretrained`` writes ``tokenizer.json``
and its config, which ``AutoTokenizer.from_pretrained`` (and ``Tokenizer.load``) read
anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tokenizers import Tokenizer as BackendTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from farm.errors import DataFileError, check_choice

logger = logging.getLogger(__name__)

ALGORITHMS = ("wordpiece", "bpe")
# Special tokens in id order (ids 0..4), as BERT and RoBERTa number them.
WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BPE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
_MARK = "\u2581"  # marks the beginning of a word while WordPiece pieces are learned


def train_tokenizer(
    files: str | Path | Sequence[str | Path] | None = None,
    vocab_size: int = 30_000,
    algorithm: str = "wordpiece",
    texts: Iterable[str] | None = None,
    lower_case: bool = True,
    min_frequency: int = 2,
    model_max_length: int = 512,
    encoding: str = "utf-8",
) -> PreTrainedTokenizerBase:
    """Learn a vocabulary from plain-text files (or texts) and return a fast tokenizer.

    ``"wordpiece"`` makes a BERT-style tokenizer (``[CLS] A [SEP] B [SEP]``, segment ids 0/1,
    ``##`` continuation pieces, BERT's normalizer with optional lower-casing), for BERT,
    DistilBERT, ELECTRA and other WordPiece architectures. ``"bpe"`` makes a RoBERTa-style
    byte-level BPE tokenizer (``<s> A </s></s> B </s>``; every string can be encoded, nothing
    becomes unknown), for RoBERTa-like architectures; it keeps case unless ``lower_case``.

    Args:
        files (str | Path | Sequence[str | Path] | None): Text files; every non-empty line
            is a training text.
        vocab_size (int): Size of the vocabulary, special tokens included.
        algorithm (str): ``"wordpiece"`` or ``"bpe"``.
        texts (Iterable[str] | None): Texts to learn from instead of (or besides) files.
        lower_case (bool): Lower-case the input (WordPiece also strips accents then).
        min_frequency (int): Pieces must occur this often to enter the vocabulary.
        model_max_length (int): Maximum sequence length recorded in the tokenizer.
        encoding (str): Text encoding of the files.

    Returns:
        PreTrainedTokenizerBase: The trained tokenizer; ``len(tokenizer)`` is its vocabulary
        size (at most ``vocab_size``: a small corpus may have fewer pieces).

    Example:
        >>> tokenizer = train_tokenizer("data/corpus.txt", vocab_size=8000)
        >>> tokenizer.save_pretrained("my_model")
    """
    check_choice(algorithm, ALGORITHMS, "algorithm")
    paths = [Path(files)] if isinstance(files, str | Path) else [Path(f) for f in files or []]
    if not paths and texts is None:
        raise ValueError("train_tokenizer needs files= or texts= to learn the vocabulary from.")
    for path in paths:
        if not path.is_file():
            raise DataFileError("file not found.", file=path)
    specials = WORDPIECE_SPECIALS if algorithm == "wordpiece" else BPE_SPECIALS
    if vocab_size <= len(specials):
        raise ValueError(f"vocab_size={vocab_size} leaves no room besides the "
                         f"{len(specials)} special tokens.")
    corpus = _texts(paths, texts, encoding)
    if algorithm == "wordpiece":
        backend = _wordpiece(corpus, vocab_size, lower_case, min_frequency)
        wrapped: PreTrainedTokenizerBase = BertTokenizer(
            tokenizer_object=backend, do_lower_case=lower_case, unk_token="[UNK]",
            sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
            model_max_length=model_max_length,
        )
    else:
        backend = _byte_level_bpe(corpus, vocab_size, lower_case, min_frequency)
        # The generic class keeps tokenizer.json as it is (RobertaTokenizer would rebuild
        # it on loading, without a lower-casing normalizer).
        wrapped = PreTrainedTokenizerFast(
            tokenizer_object=backend, bos_token="<s>", eos_token="</s>", sep_token="</s>",
            cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
            model_max_length=model_max_length, model_input_names=["input_ids", "attention_mask"],
        )
    if backend.get_vocab_size() == len(specials):
        raise DataFileError("the training texts are empty: no vocabulary was learned.",
                            file=paths[0] if paths else None)
    logger.info("Trained a %s tokenizer with %d tokens.", algorithm, len(wrapped))
    return wrapped


def _texts(paths: list[Path], texts: Iterable[str] | None, encoding: str) -> Iterator[str]:
    """The non-empty lines of the files, then the non-empty texts."""
    for path in paths:
        with path.open(encoding=encoding) as handle:
            for line in handle:
                if line.strip():
                    yield line
    for text in texts or []:
        if text.strip():
            yield text


def _wordpiece(
    corpus: Iterable[str], vocab_size: int, lower_case: bool, min_frequency: int
) -> BackendTokenizer:
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lower_case
    )
    texts = list(corpus)
    alphabet = sorted({c for t in texts for c in normalizer.normalize_str(t)} - set(" \t\n"))
    # The pieces are learned by BPE on words marked with a leading "▁": marked pieces
    # begin words, the others become "##" continuations. This is how WordPiece vocabularies
    # are learned, but reproducible: tokenizers' WordPieceTrainer (and BPE with a
    # continuation prefix) break ties between equally frequent pairs differently from run
    # to run.
    learner = BackendTokenizer(models.BPE())
    learner.normalizer = normalizer
    learner.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.BertPreTokenizer(),
        pre_tokenizers.Metaspace(replacement=_MARK, prepend_scheme="always", split=False),
    ])
    trainer = trainers.BpeTrainer(
        # Room for as many merges as there can be pieces; the list is cut to vocab_size
        # below, dropping the latest merges (word-start pieces of single characters come
        # twice, so fewer merges would leave the vocabulary short).
        vocab_size=max(vocab_size - len(WORDPIECE_SPECIALS), 1),
        min_frequency=min_frequency, initial_alphabet=[_MARK, *alphabet], show_progress=False,
    )
    learner.train_from_iterator(texts, trainer=trainer)
    learned = sorted(learner.get_vocab().items(), key=lambda item: item[1])
    pieces = [form for char in alphabet for form in (char, f"##{char}")]  # no unknown chars
    pieces += [p.removeprefix(_MARK) if p.startswith(_MARK) else f"##{p}"
               for p, _ in learned if p != _MARK]
    pieces = list(dict.fromkeys(WORDPIECE_SPECIALS + pieces))[:vocab_size]
    vocab = {piece: i for i, piece in enumerate(pieces)}
    backend = BackendTokenizer(models.WordPiece(
        vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##"
    ))
    backend.normalizer = normalizer
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return backend


def _byte_level_bpe(
    corpus: Iterable[str], vocab_size: int, lower_case: bool, min_frequency: int
) -> BackendTokenizer:
    backend = BackendTokenizer(models.BPE())
    if lower_case:
        backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=BPE_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    # The special tokens were added first, so they have ids 0 to 4.
    backend.post_processor = processors.RobertaProcessing(
        ("</s>", BPE_SPECIALS.index("</s>")), ("<s>", BPE_SPECIALS.index("<s>")),
        trim_offsets=True, add_prefix_space=False,
    )
    return backend
