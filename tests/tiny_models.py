"""Tiny random Hugging Face model folders for fast, offline tests.

Every folder holds a fast tokenizer trained in-process with the ``tokenizers``
library on a small built-in English corpus, and a randomly initialised base
model with a 32-dimensional hidden size. Nothing is downloaded, so the folders
can be built with ``HF_HUB_OFFLINE=1`` and loaded with ``local_files_only=True``.

Typical use::

    path = make_tiny_model_dir("bert", tmp_path / "bert")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
from tokenizers import (
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import (
    AlbertConfig,
    AlbertModel,
    AlbertTokenizer,
    BertConfig,
    BertModel,
    BertTokenizer,
    DebertaV2Config,
    DebertaV2Model,
    DebertaV2Tokenizer,
    DistilBertConfig,
    DistilBertModel,
    DistilBertTokenizer,
    ElectraConfig,
    ElectraModel,
    PreTrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    RobertaConfig,
    RobertaModel,
    RobertaTokenizer,
    XLMRobertaConfig,
    XLMRobertaModel,
    XLMRobertaTokenizer,
)

ARCHITECTURES = ["bert", "roberta", "distilbert", "albert", "electra", "xlm-roberta", "deberta-v2"]
"""Architectures accepted by :func:`make_tiny_model_dir`, named by their ``model_type``."""

HIDDEN_SIZE = 32
"""Hidden size of every tiny model."""

MODEL_MAX_LENGTH = 512
"""Maximum sequence length recorded in every tokenizer and model config."""

VOCAB_SIZE = 800
"""Target vocabulary size for tokenizer training (the trainers may stop a little short)."""

SEED = 1234
"""Seed used for the random model weights."""

UNIGRAM_COVERAGE_STEP = 1e-4
"""Score step the Unigram trainer puts between characters it adds back for coverage."""

METASPACE = "\u2581"
"""The SentencePiece word-boundary marker used by the Unigram tokenizers."""

CORPUS: tuple[str, ...] = (
    "The weather in Paris was sunny and warm this morning.",
    "Angela Merkel visited Berlin on Tuesday to meet local leaders.",
    "Google opened a new office in London last year.",
    "This movie was really good and the actors were great.",
    "What a terrible film, I want my money back.",
    "The film was bad, the plot made no sense at all.",
    "I loved this movie, the music was wonderful!",
    "The product arrived broken and the support team never answered.",
    "Great value for the price, I would buy it again.",
    "The battery lasts about 10 hours, which is good enough for me.",
    "My sister lives in Madrid and works for a small bank.",
    "We drove from Munich to Vienna in about 5 hours.",
    "Microsoft and Apple reported strong results in the third quarter.",
    "The United Nations met in New York to discuss climate change.",
    "Barack Obama gave a speech at Harvard University.",
    "Marie Curie won the Nobel Prize twice.",
    "The coffee at this cafe is terrible, but the cake is great.",
    "Honestly, the best film I have seen in years.",
    "The acting was bad and the dialogue was even worse.",
    "A good movie for the whole family, kids will love it.",
    "The camera takes sharp pictures, even at night.",
    "Shipping took 3 weeks, which is far too long.",
    "I am not sure whether I like this phone or not.",
    "The hotel near the station was clean and quiet.",
    "Our flight to Tokyo was delayed by 2 hours.",
    "Amazon sells books, music, and almost everything else.",
    "The meeting starts at 9:30 tomorrow morning.",
    "She paid 25 euros for a ticket to the concert.",
    "The river Thames flows through London.",
    "John Smith works as a teacher in Chicago.",
    "Emma Watson starred in several famous films.",
    "The new laptop is fast, light, and quiet.",
    "The keyboard stopped working after two days, very bad quality.",
    "Excellent service, friendly staff, and great food.",
    "The soup was cold and the waiter was rude.",
    "Is this the way to the train station?",
    "Please send me the report by Friday.",
    "They built a small house near the lake.",
    "The children played football in the park after school.",
    "Siemens is a large company based in Germany.",
    "The European Union has 27 member states.",
    "Rome is the capital of Italy, and Paris is the capital of France.",
    "The story is boring, and the ending is predictable.",
    "One of the most beautiful films ever made.",
    "I fell asleep halfway through the movie.",
    "The sound quality of these headphones is amazing.",
    "Do not buy this blender, it broke after one week.",
    "He scored 3 goals in the final match.",
    "The museum in Amsterdam was full of tourists.",
    "Pablo Picasso was born in Spain in 1881.",
    "Albert Einstein developed the theory of relativity.",
    "The price went up by 15 percent last month.",
    "We ordered pizza, pasta, and a green salad.",
    "The director did a great job with a small budget.",
    "The special effects looked cheap and fake.",
    "My grandmother tells wonderful stories about her childhood.",
    "Tesla announced a cheaper electric car.",
    "The weather forecast says it will rain on Sunday.",
    "A truly terrible experience, I will never come back.",
    "The staff was helpful and the room was spacious.",
    "I bought two shirts and a pair of shoes.",
    "The game was exciting until the very last minute.",
    "Facebook changed its name to Meta in 2021.",
    "The Eiffel Tower is the most famous landmark in Paris.",
    "Berlin has many museums, parks, and old buildings.",
    "He reads the newspaper every morning with his coffee.",
    "This is not a good movie, but it is not bad either.",
    "The plot twist at the end was brilliant.",
    "I would give this product five stars if I could.",
    "The instructions were confusing and badly written.",
    "The train from Hamburg arrived on time.",
    "Our team won the championship last season.",
    "The doctor told him to rest for a few days.",
    "I need to buy milk, eggs, bread, and cheese.",
    "She speaks English, French, and a little German.",
    "The concert in Dublin was sold out within minutes.",
    "Netflix released a new series about a detective.",
    "The screen is bright, but the speakers are weak.",
    "What a great film, funny and touching at the same time.",
    "The cast was excellent, especially the lead actress.",
    "The movie is too long and the jokes are not funny.",
    "We waited 40 minutes for our table.",
    "My brother moved to Sydney to study engineering.",
    "The company hired 200 new workers this year.",
    "The library closes at 8 pm on weekdays.",
    "I forgot my umbrella at the office.",
    "The garden looks lovely in the spring.",
    "The mountains in Switzerland are covered with snow.",
    "Nelson Mandela was president of South Africa.",
    "The bank raised interest rates again.",
    "This charger does not work with my phone.",
    "A solid, well made product that does what it promises.",
    "Terrible customer service, nobody answered my emails.",
    "The restaurant serves good food at fair prices.",
    "The film tells the story of a young boy in Ireland.",
    "The sequel is even better than the first movie.",
    "I cannot recommend this hotel, the beds were dirty.",
    "The app crashes every time I open it.",
    "Everything worked perfectly right out of the box.",
    "The bus to the airport leaves every 15 minutes.",
    "Mount Everest is the highest mountain in the world.",
    "Leonardo da Vinci painted the Mona Lisa.",
    "The students wrote an exam on Monday.",
    "My neighbour has a big black dog.",
    "It was a quiet evening, and the streets were empty.",
    "Samsung unveiled a new phone in Seoul.",
    "The World Health Organization is based in Geneva.",
    "Stockholm, Oslo, and Copenhagen are cities in Scandinavia.",
    "The old bridge was repaired after the flood.",
    "Why did the meeting end so early?",
    "The chocolate cake was delicious!",
    "The music in this film is great, but the story is weak.",
    "Bad lighting, bad sound, and a bad script.",
    "A good book and a cup of tea make a perfect afternoon.",
    "The conference in Brussels attracted 3000 visitors.",
    "We walked along the beach at sunset.",
    "The printer keeps running out of ink.",
    "Good quality, fast delivery, and a fair price.",
    "It is the worst movie of the year.",
    "The actors seemed bored and the camera work was shaky.",
    "Maria Garcia was elected mayor of the city.",
    "The University of Oxford is one of the oldest in Europe.",
    "Please turn off the lights when you leave.",
    "He fixed the bike with a simple tool.",
    "The cat sleeps on the sofa all day.",
    "Prices in Zurich are higher than in Milan.",
    "Volkswagen builds cars in Wolfsburg.",
    "The parcel was left at the wrong address.",
    "The headphones are comfortable, even after many hours.",
    "I was disappointed, the film did not live up to the hype.",
    "A great cast, a clever script, and a beautiful score.",
    "Our teacher, Mr. Brown, is very patient.",
    "The festival takes place every summer in Edinburgh.",
    "In 1990, Germany was reunited.",
    "The shop on Main Street sells fresh fruit.",
    "She called her mother in Toronto on Sunday.",
    "The results were published in a scientific journal.",
    "The vacuum cleaner is loud, but it works well.",
    "Not bad at all, I enjoyed most of the movie.",
    "This film is a masterpiece, simply great.",
    "The jacket is warm, but the zipper broke quickly.",
    "Thomas Mueller plays football for Bayern Munich.",
    "IBM and Intel are American technology companies.",
    "The lake is 12 kilometres long and very deep.",
    "We will meet again next Thursday at noon.",
    "Can you help me carry these boxes?",
    "The good news is that nobody was hurt.",
    "The bad news is that the road is closed.",
    "Overall, a pleasant movie with a great ending.",
    "Tickets cost $60 (about 55 euros) per person.",
    'Kate said the new phone is "pretty good" - but far too expensive.',
    "Sales grew by 16% in Q3, thanks to the X-ray scanner.",
    "Johnson & Johnson opened a lab in Boston; it employs 600 people.",
    "It's a well-known fact that kids don't like broccoli.",
    "Write to info@example.com or call 555/0196 before noon.",
)
"""Small English corpus used to train every tiny tokenizer."""

Family = Literal["wordpiece", "bpe", "unigram"]


class TinyModelFactory(Protocol):
    """Signature of the ``tiny_model_factory`` fixture from ``tests/conftest.py``."""

    def __call__(
        self, arch: str, lower_case: bool = True, *, num_labels: int | None = None
    ) -> Path:
        """Returns a cached tiny model folder; see :func:`make_tiny_model_dir`."""
        ...


@dataclass(frozen=True)
class SpecialTokens:
    """Special tokens of one architecture, in vocabulary order.

    Attributes:
        pad: Padding token.
        unk: Unknown token.
        cls: Classification token that starts every sequence.
        sep: Separator token that ends every segment.
        mask: Mask token for masked language modelling.
        order: All special tokens in the order of their ids, starting at 0.
    """

    pad: str
    unk: str
    cls: str
    sep: str
    mask: str
    order: tuple[str, ...]

    def id_of(self, token: str) -> int:
        """Returns the vocabulary id of a special token.

        Args:
            token: One of the special tokens.

        Returns:
            The token's position in :attr:`order`, which is its vocabulary id.
        """
        return self.order.index(token)


BERT_SPECIALS = SpecialTokens(
    pad="[PAD]",
    unk="[UNK]",
    cls="[CLS]",
    sep="[SEP]",
    mask="[MASK]",
    order=("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
)

ROBERTA_SPECIALS = SpecialTokens(
    pad="<pad>",
    unk="<unk>",
    cls="<s>",
    sep="</s>",
    mask="<mask>",
    order=("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
)

ALBERT_SPECIALS = SpecialTokens(
    pad="<pad>",
    unk="<unk>",
    cls="[CLS]",
    sep="[SEP]",
    mask="[MASK]",
    order=("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"),
)

DEBERTA_SPECIALS = SpecialTokens(
    pad="[PAD]",
    unk="[UNK]",
    cls="[CLS]",
    sep="[SEP]",
    mask="[MASK]",
    order=("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"),
)


@dataclass(frozen=True)
class ArchSpec:
    """How to build the tokenizer and model of one architecture.

    Attributes:
        family: Tokenizer model family (``wordpiece``, ``bpe`` or ``unigram``).
        specials: Special tokens and their ids.
        tokenizer_class: Transformers tokenizer class that wraps the trained tokenizer.
        config_class: Transformers config class.
        model_class: Transformers base model class used to save the weights.
        lowercase_capable: Whether ``lower_case`` applies; cased-only tokenizers ignore it.
    """

    family: Family
    specials: SpecialTokens
    tokenizer_class: type[PreTrainedTokenizerBase]
    config_class: type[PreTrainedConfig]
    model_class: type[PreTrainedModel]
    lowercase_capable: bool


ARCH_SPECS: dict[str, ArchSpec] = {
    "bert": ArchSpec("wordpiece", BERT_SPECIALS, BertTokenizer, BertConfig, BertModel, True),
    "distilbert": ArchSpec(
        "wordpiece", BERT_SPECIALS, DistilBertTokenizer, DistilBertConfig, DistilBertModel, True
    ),
    "electra": ArchSpec(
        "wordpiece", BERT_SPECIALS, BertTokenizer, ElectraConfig, ElectraModel, True
    ),
    "roberta": ArchSpec(
        "bpe", ROBERTA_SPECIALS, RobertaTokenizer, RobertaConfig, RobertaModel, False
    ),
    "xlm-roberta": ArchSpec(
        "unigram", ROBERTA_SPECIALS, XLMRobertaTokenizer, XLMRobertaConfig, XLMRobertaModel, False
    ),
    "albert": ArchSpec(
        "unigram", ALBERT_SPECIALS, AlbertTokenizer, AlbertConfig, AlbertModel, True
    ),
    "deberta-v2": ArchSpec(
        "unigram", DEBERTA_SPECIALS, DebertaV2Tokenizer, DebertaV2Config, DebertaV2Model, True
    ),
}
"""Build recipe for every name in :data:`ARCHITECTURES`."""


def get_arch_spec(arch: str) -> ArchSpec:
    """Looks up the build recipe of an architecture.

    Args:
        arch: One of :data:`ARCHITECTURES`.

    Returns:
        The architecture's :class:`ArchSpec`.

    Raises:
        ValueError: If ``arch`` is not supported.
    """
    if arch not in ARCH_SPECS:
        raise ValueError(f"Unknown architecture {arch!r}; expected one of {ARCHITECTURES}.")
    return ARCH_SPECS[arch]


def _bert_normalizer(lower_case: bool) -> normalizers.Normalizer:
    """Builds the BERT normalizer; as in uncased BERT, lower-casing also strips accents."""
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, lowercase=lower_case
    )


def _albert_normalizer(lower_case: bool) -> normalizers.Normalizer:
    """Builds the ALBERT normalizer (quote fixes, accent stripping, optional lower-casing)."""
    steps = [
        normalizers.Replace("``", '"'),
        normalizers.Replace("''", '"'),
        normalizers.NFKD(),
        normalizers.StripAccents(),
    ]
    if lower_case:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


def _deberta_normalizer(lower_case: bool) -> normalizers.Normalizer:
    """Builds the DeBERTa-v2 normalizer (whitespace clean-up, NFC, optional lower-casing)."""
    steps: list[normalizers.Normalizer] = [normalizers.Lowercase()] if lower_case else []
    steps += [
        normalizers.Replace(Regex(r"\s{2,}|[\n\r\t]"), " "),
        normalizers.NFC(),
        normalizers.Strip(left=False),
    ]
    return normalizers.Sequence(steps)


def _sentencepiece_pre_tokenizer(split_on_whitespace: bool) -> pre_tokenizers.PreTokenizer:
    """Builds a SentencePiece-style Metaspace pre-tokenizer.

    Args:
        split_on_whitespace: Whether to split on whitespace before adding the ``▁`` markers.

    Returns:
        The pre-tokenizer.
    """
    metaspace = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    if not split_on_whitespace:
        return pre_tokenizers.Sequence([metaspace])
    return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), metaspace])


def _bert_style_post_processor(specials: SpecialTokens) -> processors.PostProcessor:
    """Builds the ``[CLS] A [SEP] B [SEP]`` post-processor with segment ids 0 and 1."""
    cls, sep = specials.cls, specials.sep
    return processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, specials.id_of(cls)), (sep, specials.id_of(sep))],
    )


def _xlm_roberta_post_processor(specials: SpecialTokens) -> processors.PostProcessor:
    """Builds the ``<s> A </s></s> B </s>`` post-processor with all segment ids 0."""
    cls, sep = specials.cls, specials.sep
    return processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} {sep} $B {sep}",
        special_tokens=[(cls, specials.id_of(cls)), (sep, specials.id_of(sep))],
    )


def _roberta_post_processor(specials: SpecialTokens) -> processors.PostProcessor:
    """Builds RoBERTa's ``<s> A </s></s> B </s>`` post-processor with trimmed offsets."""
    sep = (specials.sep, specials.id_of(specials.sep))
    cls = (specials.cls, specials.id_of(specials.cls))
    return processors.RobertaProcessing(sep, cls, trim_offsets=True, add_prefix_space=False)


def _corpus_alphabet(normalizer: normalizers.Normalizer) -> list[str]:
    """Returns the sorted non-whitespace characters of the normalized corpus."""
    return sorted({char for text in CORPUS for char in normalizer.normalize_str(text)} - {" "})


def _wordpiece_vocab(specials: SpecialTokens, lower_case: bool) -> dict[str, int]:
    """Learns a WordPiece vocabulary from :data:`CORPUS`, reproducibly.

    ``tokenizers``' WordPiece trainer breaks ties differently from run to run, so
    a plain BPE trainer (which is reproducible) learns pieces on words marked with
    a leading ``▁``; pieces with the marker become word starts and the others
    ``##`` continuations. Every character is kept in both forms.

    Args:
        specials: Special tokens, placed first.
        lower_case: Whether the corpus is lower-cased first.

    Returns:
        The vocabulary, mapping each piece to its id.
    """
    alphabet = _corpus_alphabet(_bert_normalizer(lower_case))
    learner = Tokenizer(models.BPE())
    learner.normalizer = _bert_normalizer(lower_case)
    learner.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.BertPreTokenizer(),
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - len(specials.order) - len(alphabet),
        initial_alphabet=[METASPACE, *alphabet],
        show_progress=False,
    )
    learner.train_from_iterator(CORPUS, trainer=trainer)
    learned = sorted(learner.get_vocab().items(), key=lambda item: item[1])
    pieces = [*specials.order]
    pieces += [form for char in alphabet for form in (char, f"##{char}")]
    pieces += [_as_wordpiece(token) for token, _ in learned if token != METASPACE]
    return {piece: index for index, piece in enumerate(dict.fromkeys(pieces))}


def _as_wordpiece(token: str) -> str:
    """Turns a ``▁``-marked BPE piece into a WordPiece piece."""
    if token.startswith(METASPACE):
        return token.removeprefix(METASPACE)
    return f"##{token}"


def _train_wordpiece(specials: SpecialTokens, lower_case: bool) -> Tokenizer:
    """Builds a BERT-style WordPiece tokenizer trained on :data:`CORPUS`."""
    vocab = _wordpiece_vocab(specials, lower_case)
    tokenizer = Tokenizer(
        models.WordPiece(vocab=vocab, unk_token=specials.unk, continuing_subword_prefix="##")
    )
    tokenizer.normalizer = _bert_normalizer(lower_case)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    tokenizer.add_special_tokens(list(specials.order))
    return tokenizer


def _train_byte_level_bpe(specials: SpecialTokens) -> Tokenizer:
    """Builds a RoBERTa-style byte-level BPE tokenizer trained on :data:`CORPUS`."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(specials.order),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    return tokenizer


def _train_unigram(arch: str, specials: SpecialTokens, lower_case: bool) -> Tokenizer:
    """Builds a SentencePiece-style Unigram tokenizer trained on :data:`CORPUS`.

    The normalizer and pre-tokenizer mirror what the architecture's transformers
    tokenizer class rebuilds when it loads ``tokenizer.json``.
    """
    tokenizer = Tokenizer(models.Unigram())
    if arch == "albert":
        tokenizer.normalizer = _albert_normalizer(lower_case)
    elif arch == "deberta-v2":
        tokenizer.normalizer = _deberta_normalizer(lower_case)
    tokenizer.pre_tokenizer = _sentencepiece_pre_tokenizer(split_on_whitespace=arch != "deberta-v2")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(specials.order),
        unk_token=specials.unk,
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    tokenizer.model = _canonical_unigram(tokenizer, specials)
    return tokenizer


def _canonical_unigram(tokenizer: Tokenizer, specials: SpecialTokens) -> models.Unigram:
    """Rebuilds a trained Unigram model in a reproducible form.

    The Unigram trainer is not reproducible on its own: its scores differ in the
    last bits from run to run, and characters it adds back for coverage get the
    lowest score plus a small step (``1e-4``) in an arbitrary order. Scores are
    therefore rounded, those coverage characters share the lowest score, and
    pieces are sorted by score, then by text.

    Args:
        tokenizer: Tokenizer holding the freshly trained Unigram model.
        specials: Special tokens, which keep the first ids.

    Returns:
        The canonical Unigram model.
    """
    trained = json.loads(tokenizer.to_str())["model"]["vocab"]
    scores = {piece: round(score, 6) for piece, score in trained if piece not in specials.order}
    floor = min(scores.values())
    single_chars = [piece for piece in scores if len(piece) == 1]
    coverage_limit = floor + UNIGRAM_COVERAGE_STEP * (len(single_chars) + 1)
    for piece in single_chars:
        if scores[piece] < coverage_limit:
            scores[piece] = floor
    ordinary = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    vocab = [(token, 0.0) for token in specials.order] + ordinary
    return models.Unigram(vocab, unk_id=specials.id_of(specials.unk), byte_fallback=False)


def _post_processor(arch: str, specials: SpecialTokens) -> processors.PostProcessor:
    """Chooses the post-processor that adds the architecture's special tokens."""
    if arch == "roberta":
        return _roberta_post_processor(specials)
    if arch == "xlm-roberta":
        return _xlm_roberta_post_processor(specials)
    return _bert_style_post_processor(specials)


def train_tokenizer(arch: str, *, lower_case: bool = True) -> Tokenizer:
    """Trains a ``tokenizers`` tokenizer for an architecture on :data:`CORPUS`.

    Args:
        arch: One of :data:`ARCHITECTURES`.
        lower_case: Whether to lower-case input; ignored by the cased-only
            ``roberta`` and ``xlm-roberta`` tokenizers.

    Returns:
        The trained tokenizer, including its post-processor.
    """
    spec = get_arch_spec(arch)
    lower_case = lower_case and spec.lowercase_capable
    if spec.family == "wordpiece":
        tokenizer = _train_wordpiece(spec.specials, lower_case)
    elif spec.family == "bpe":
        tokenizer = _train_byte_level_bpe(spec.specials)
    else:
        tokenizer = _train_unigram(arch, spec.specials, lower_case)
    tokenizer.post_processor = _post_processor(arch, spec.specials)
    return tokenizer


def _check_special_ids(tokenizer: Tokenizer, specials: SpecialTokens) -> None:
    """Makes sure training kept the special tokens at their intended ids.

    Raises:
        RuntimeError: If a special token ended up with another id.
    """
    for expected_id, token in enumerate(specials.order):
        if tokenizer.token_to_id(token) != expected_id:
            raise RuntimeError(
                f"Special token {token!r} got id {tokenizer.token_to_id(token)}, not {expected_id}."
            )


def build_tokenizer(arch: str, *, lower_case: bool = True) -> PreTrainedTokenizerBase:
    """Trains a tokenizer and wraps it in the architecture's transformers class.

    Args:
        arch: One of :data:`ARCHITECTURES`.
        lower_case: Whether to lower-case input (see :func:`train_tokenizer`).

    Returns:
        A fast transformers tokenizer with all special tokens and ``model_max_length`` set.
    """
    spec = get_arch_spec(arch)
    specials = spec.specials
    backend = train_tokenizer(arch, lower_case=lower_case)
    _check_special_ids(backend, specials)
    options: dict[str, Any] = {}
    if spec.lowercase_capable:
        options["do_lower_case"] = lower_case
    if arch in {"roberta", "xlm-roberta", "albert", "deberta-v2"}:
        options["bos_token"] = specials.cls
        options["eos_token"] = specials.sep
    if arch == "deberta-v2":
        options["unk_id"] = specials.id_of(specials.unk)
    return spec.tokenizer_class(
        tokenizer_object=backend,
        pad_token=specials.pad,
        unk_token=specials.unk,
        cls_token=specials.cls,
        sep_token=specials.sep,
        mask_token=specials.mask,
        model_max_length=MODEL_MAX_LENGTH,
        **options,
    )


def _common_sizes(vocab_size: int, pad_token_id: int) -> dict[str, int]:
    """Returns the tiny sizes shared by the BERT-like configs."""
    return {
        "vocab_size": vocab_size,
        "hidden_size": HIDDEN_SIZE,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "max_position_embeddings": MODEL_MAX_LENGTH,
        "pad_token_id": pad_token_id,
    }


def _bert_config_kwargs(vocab_size: int, specials: SpecialTokens) -> dict[str, Any]:
    """Config arguments for BERT."""
    return {**_common_sizes(vocab_size, specials.id_of(specials.pad)), "type_vocab_size": 2}


def _electra_config_kwargs(vocab_size: int, specials: SpecialTokens) -> dict[str, Any]:
    """Config arguments for ELECTRA, whose embeddings are projected up to the hidden size."""
    return {**_bert_config_kwargs(vocab_size, specials), "embedding_size": 16}


def _distilbert_config_kwargs(vocab_size: int, specials: SpecialTokens) -> dict[str, Any]:
    """Config arguments for DistilBERT, which uses its own size names."""
    return {
        "vocab_size": vocab_size,
        "dim": HIDDEN_SIZE,
        "n_layers": 2,
        "n_heads": 2,
        "hidden_dim": 37,
        "max_position_embeddings": MODEL_MAX_LENGTH,
        "pad_token_id": specials.id_of(specials.pad),
    }


def _roberta_config_kwargs(vocab_size: int, specials: SpecialTokens) -> dict[str, Any]:
    """Config arguments for RoBERTa and XLM-R.

    Position ids start after ``padding_idx``, so two extra positions keep
    ``MODEL_MAX_LENGTH`` tokens usable.
    """
    pad_id = specials.id_of(specials.pad)
    return {
        **_common_sizes(vocab_size, pad_id),
        "max_position_embeddings": MODEL_MAX_LENGTH + pad_id + 1,
        "type_vocab_size": 1,
        "bos_token_id": specials.id_of(specials.cls),
        "eos_token_id": specials.id_of(specials.sep),
    }


def _albert_config_kwargs(vocab_size: int, specials: SpecialTokens) -> dict[str, Any]:
    """Config arguments for ALBERT, with factorised 16-dimensional embeddings."""
    return {
        **_common_sizes(vocab_size, specials.id_of(specials.pad)),
        "embedding_size": 16,
        "num_hidden_groups": 1,
        "inner_group_num": 1,
        "type_vocab_size": 2,
        "bos_token_id": specials.id_of(specials.cls),
        "eos_token_id": specials.id_of(specials.sep),
    }


def _deberta_v2_config_kwargs(vocab_size: int, specials: SpecialTokens) -> dict[str, Any]:
    """Config arguments for DeBERTa-v2 in the DeBERTa-v3 style (disentangled relative attention)."""
    return {
        **_common_sizes(vocab_size, specials.id_of(specials.pad)),
        "type_vocab_size": 0,
        "relative_attention": True,
        "position_buckets": 64,
        "max_relative_positions": -1,
        "pos_att_type": ["p2c", "c2p"],
        "norm_rel_ebd": "layer_norm",
        "share_att_key": True,
        "position_biased_input": False,
    }


CONFIG_KWARGS: dict[str, Callable[[int, SpecialTokens], dict[str, Any]]] = {
    "bert": _bert_config_kwargs,
    "distilbert": _distilbert_config_kwargs,
    "electra": _electra_config_kwargs,
    "roberta": _roberta_config_kwargs,
    "xlm-roberta": _roberta_config_kwargs,
    "albert": _albert_config_kwargs,
    "deberta-v2": _deberta_v2_config_kwargs,
}
"""Functions returning tiny config arguments per architecture."""


def _label_kwargs(num_labels: int | None) -> dict[str, Any]:
    """Returns ``id2label``/``label2id`` config arguments for ``num_labels`` generic labels."""
    if num_labels is None:
        return {}
    id2label = {index: f"LABEL_{index}" for index in range(num_labels)}
    return {"id2label": id2label, "label2id": {label: index for index, label in id2label.items()}}


def build_config(arch: str, vocab_size: int, *, num_labels: int | None = None) -> PreTrainedConfig:
    """Creates a tiny model config for an architecture.

    Args:
        arch: One of :data:`ARCHITECTURES`.
        vocab_size: Size of the tokenizer vocabulary, including special tokens.
        num_labels: Number of labels to record in the config, if any.

    Returns:
        The config, with ``hidden_size`` 32, two layers and two attention heads.
    """
    spec = get_arch_spec(arch)
    kwargs = CONFIG_KWARGS[arch](vocab_size, spec.specials)
    return spec.config_class(**kwargs, **_label_kwargs(num_labels))


def build_model(
    arch: str, vocab_size: int, *, num_labels: int | None = None, seed: int = SEED
) -> PreTrainedModel:
    """Creates a tiny, deterministically initialised base model.

    The global torch random state is left untouched.

    Args:
        arch: One of :data:`ARCHITECTURES`.
        vocab_size: Size of the tokenizer vocabulary.
        num_labels: Number of labels to record in the config, if any.
        seed: Seed for the random weights.

    Returns:
        The base model (for example ``BertModel``) in evaluation mode.
    """
    config = build_config(arch, vocab_size, num_labels=num_labels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = get_arch_spec(arch).model_class(config)
    return model.eval()


def make_tiny_model_dir(
    arch: str, path: Path, *, lower_case: bool = True, num_labels: int | None = None
) -> Path:
    """Builds a tiny tokenizer and random model and saves them into a folder.

    The folder can be loaded offline with ``AutoTokenizer.from_pretrained`` (a
    fast tokenizer of the architecture's family) and ``AutoModel.from_pretrained``.

    Args:
        arch: One of :data:`ARCHITECTURES`.
        path: Folder to write; created if missing.
        lower_case: Whether the tokenizer lower-cases input. Only the BERT family,
            ALBERT and DeBERTa-v2 honour it; RoBERTa and XLM-R are always cased.
        num_labels: If given, the config records this many labels.

    Returns:
        ``path``, for convenience.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(arch, lower_case=lower_case)
    model = build_model(arch, len(tokenizer), num_labels=num_labels)
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return path
