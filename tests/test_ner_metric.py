"""seq_f1 and the entity reading of tags, against seqeval (the independent reference)."""

from __future__ import annotations

import random
import warnings

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities as seqeval_entities

from farm.evaluation.metrics import compute_metrics
from farm.evaluation.seq_metrics import seq_f1, seq_report
from farm.tagging import count_iob2_begins, get_entities, repair_tags
from tests.ner_helpers import conll_tags, ner_sentences, to_iob1

IOB2 = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
IOB1 = ["O", "O", "I-PER", "I-LOC", "I-MISC", "B-LOC", "B-PER"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-LOC", "B-ORG", "E-ORG"]
# Tags seqeval reads in its own way: a bare role, a type with a dash, odd placeholders.
ODD = ["B", "I", "I-", "B-A-B", "X", "[PAD]", ".", "E-PER", "S-PER"]


def random_pairs(tags: list[str], n: int, seed: int) -> list[tuple[list[list[str]], ...]]:
    """``n`` random (true, predicted) corpora of one to six sentences over ``tags``."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        true = [[rng.choice(tags) for _ in range(rng.randint(0, 9))]
                for _ in range(rng.randint(1, 6))]
        pred = [[rng.choice(tags) for _ in sentence] for sentence in true]
        pairs.append((true, pred))
    return pairs


@pytest.mark.parametrize("tags", [IOB2, IOB1, BIOES, IOB2 + ODD], ids=["iob2", "iob1", "bioes",
                                                                         "odd"])
def test_seq_f1_equals_seqeval_on_random_sequences(tags: list[str]) -> None:
    """F1, precision and recall equal seqeval's default (conlleval) mode exactly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about undefined scores and odd tags
        for true, pred in random_pairs(tags, n=400, seed=len(tags)):
            ours = seq_f1(pred, true)
            assert ours["seq_f1"] == pytest.approx(f1_score(true, pred), abs=1e-12)
            assert ours["seq_precision"] == pytest.approx(precision_score(true, pred), abs=1e-12)
            assert ours["seq_recall"] == pytest.approx(recall_score(true, pred), abs=1e-12)


def test_entities_equal_seqeval_entities() -> None:
    """Entity extraction agrees with seqeval for single sentences and for corpora."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for true, pred in random_pairs(IOB2 + IOB1 + BIOES + ODD, n=300, seed=7):
            assert get_entities(true) == seqeval_entities(true)
            for sentence in pred:
                assert get_entities(sentence) == seqeval_entities(sentence)


def test_report_has_seqevals_numbers_per_entity_type() -> None:
    """The per-type report is seqeval's classification report, digit for digit."""
    true = conll_tags(ner_sentences(30, seed=3))
    rng = random.Random(0)
    pred = [[t if rng.random() < 0.8 else rng.choice(IOB2) for t in s] for s in true]
    report = seq_report(pred, true)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a type only predicted has no defined recall
        assert report == classification_report(true, pred, digits=4)
    assert {"PER", "LOC", "ORG"} <= {line.split()[0] for line in report.splitlines() if line}


def test_known_values() -> None:
    """Worked example: one of two predicted entities is right, one of three true ones found."""
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-LOC", "O"]]
    result = seq_f1(pred, true)
    assert result["seq_precision"] == 0.5
    assert result["seq_recall"] == pytest.approx(1 / 3)
    assert result["seq_f1"] == pytest.approx(0.4)


def test_seq_f1_is_registered() -> None:
    """The metric is usable by name, as processors and EarlyStopping name it."""
    true = [["B-PER", "O"], ["B-LOC"]]
    assert compute_metrics("seq_f1", true, true)["seq_f1"] == 1.0


def test_mismatched_lengths_raise() -> None:
    """A sentence with fewer predicted than true tags is an error, not a silent zip."""
    with pytest.raises(ValueError, match="sentence 1 has 1 predicted tags but 2 true tags"):
        seq_f1([["O"], ["O"]], [["O"], ["O", "O"]])
    with pytest.raises(ValueError, match="one list of tags per sentence"):
        seq_f1(["O", "B-PER"], ["O", "B-PER"])


def test_repair_keeps_the_entities_seqeval_reads() -> None:
    """Turning I- tags that begin an entity into B- changes no entity."""
    rng = random.Random(5)
    for _ in range(500):
        tags = [rng.choice(IOB2 + IOB1 + BIOES) for _ in range(rng.randint(0, 10))]
        repaired, changed = repair_tags(tags)
        assert seqeval_entities(repaired) == seqeval_entities(tags)
        assert all(tags[i].startswith("I-") and repaired[i] == "B-" + tags[i][2:]
                   for i in changed)
        assert all(repaired[i] == tags[i] for i in range(len(tags)) if i not in changed)


def test_iob1_converts_to_iob2() -> None:
    """IOB1 tags of the template sentences become exactly their IOB2 tags."""
    for tags in conll_tags(ner_sentences(20)):
        iob1 = to_iob1(tags)
        assert repair_tags(iob1)[0] == tags
        assert count_iob2_begins(iob1) == 0
        assert count_iob2_begins(tags) == sum(t.startswith("B-") for t in tags)
    assert count_iob2_begins(["O", "B-PER", "I-PER", "B-PER", "S-LOC", "O", "B-LOC"]) == 3
    adjacent = ["I-PER", "B-PER", "O", "I-LOC"]  # IOB1's B-: a second entity right after one
    assert repair_tags(adjacent) == (["B-PER", "B-PER", "O", "B-LOC"], [0, 3])
