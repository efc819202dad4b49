"""StreamingDataSilo: shards, workers, processes, bounded preprocessing, training."""

from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path

import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import (
    PassageRankingProcessor,
    Processor,
    TextClassificationProcessor,
)
from farm.data_handler.streaming import StreamingDataset, StreamingDataSilo
from farm.errors import DataFileError, FarmError
from farm.modeling.tokenization import Tokenizer
from tests.dpr_helpers import dpr_records, write_dpr_file
from tests.farm_helpers import (
    make_model,
    make_processor,
    make_trainer,
    separable_rows,
    write_tsv,
)
from tests.lm_helpers import make_lm_processor, pattern_documents, write_corpus
from tests.ner_helpers import make_ner_processor, ner_sentences, write_conll
from tests.qa_helpers import make_qa_processor, squad_articles, write_squad


def write_shards(folder: Path, n_shards: int = 3, rows_per_shard: int = 17) -> list[str]:
    """Shard TSVs with distinct texts; returns all texts."""
    folder.mkdir(parents=True)
    texts = []
    for shard in range(n_shards):
        rows = [(f"{text} number {shard}-{i}", label)
                for i, (text, label) in enumerate(separable_rows(rows_per_shard, seed=shard))]
        write_tsv(folder / f"part-{shard:03d}.tsv", rows)
        texts += [t for t, _ in rows]
    return texts


def rows_of(batches: list[dict[str, torch.Tensor]]) -> Counter[tuple[int, ...]]:
    """Each sample's token ids (without padding), counted."""
    seen: Counter[tuple[int, ...]] = Counter()
    for batch in batches:
        for ids, mask in zip(batch["input_ids"], batch["padding_mask"], strict=True):
            seen[tuple(ids[mask.bool()].tolist())] += 1
    return seen


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    write_shards(tmp_path / "train_shards")
    write_tsv(tmp_path / "dev.tsv", separable_rows(8, seed=9))
    write_tsv(tmp_path / "test.tsv", separable_rows(8, seed=10))
    return tmp_path


def streaming_silo(model_dir: Path, data_dir: Path, **kwargs: object) -> StreamingDataSilo:
    processor = make_processor(model_dir, data_dir, train_filename="train_shards",
                               dev_filename="dev.tsv", test_filename="test.tsv")
    return StreamingDataSilo(processor, batch_size=4, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("workers", [0, 2])
def test_every_input_once_per_epoch(tiny_bert_dir: Path, data_dir: Path, workers: int) -> None:
    silo = streaming_silo(tiny_bert_dir, data_dir, dataloader_workers=workers,
                          shuffle_buffer=10)
    loader = silo.get_data_loader("train")
    # 51 inputs, batches of 4; with two workers each worker's last batch may be partial
    n_batches = 13 if workers == 0 else 7 + 7
    assert silo.counts["train"] == 51 and len(loader) == n_batches
    epoch0 = list(loader)
    assert len(epoch0) == n_batches
    assert sum(rows_of(epoch0).values()) == 51 and max(rows_of(epoch0).values()) == 1
    silo.train_stream.set_epoch(1)
    epoch1 = list(loader)
    assert rows_of(epoch1) == rows_of(epoch0)
    assert [b["input_ids"].tolist() for b in epoch1] != [b["input_ids"].tolist() for b in epoch0]


def test_same_features_as_the_in_memory_silo(tiny_bert_dir: Path, data_dir: Path) -> None:
    texts = [line.split("\t")[0] for shard in sorted((data_dir / "train_shards").iterdir())
             for line in shard.read_text().splitlines()[1:]]
    write_tsv(data_dir / "all.tsv", [(t, "positive") for t in texts])
    memory = DataSilo(make_processor(tiny_bert_dir, data_dir, dev_split=0.0,
                                     train_filename="all.tsv", test_filename=None),
                      batch_size=4)
    expected = rows_of(list(memory.get_data_loader("train")))
    streamed = rows_of(list(streaming_silo(tiny_bert_dir, data_dir).get_data_loader("train")))
    assert streamed == expected


def test_preprocessing_is_bounded_by_the_shuffle_buffer(tiny_bert_dir: Path,
                                                        data_dir: Path) -> None:
    silo = streaming_silo(tiny_bert_dir, data_dir, dataloader_workers=0, shuffle_buffer=8)
    sizes: list[int] = []
    featurize = silo.processor.dataset_from_dicts

    def recording(dicts, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(len(dicts))
        return featurize(dicts, **kwargs)

    silo.processor.dataset_from_dicts = recording  # type: ignore[method-assign]
    batches = list(silo.get_data_loader("train"))
    assert max(sizes) == 8 and sum(sizes) == 51 and len(batches) == 13


def test_processes_share_the_stream_without_overlap(tiny_bert_dir: Path, data_dir: Path
                                                    ) -> None:
    silo = streaming_silo(tiny_bert_dir, data_dir, dataloader_workers=0)
    stream = silo.train_stream
    shares = []
    for rank in (0, 1):
        part = StreamingDataset(stream.processor, stream.files, 4, stream.shard_sizes, seed=3)
        part.replicas, part.rank = 2, rank
        batches = list(part)
        assert len(batches) == len(part) == 7  # 26 and 25 inputs: equal step counts
        shares.append(rows_of(batches))
    assert not set(shares[0]) & set(shares[1])
    assert sum(shares[0].values()) + sum(shares[1].values()) == 51


def test_training_on_a_stream(tiny_bert_dir: Path, data_dir: Path) -> None:
    silo = streaming_silo(tiny_bert_dir, data_dir, dataloader_workers=0)
    trainer = make_trainer(make_model(tiny_bert_dir), silo, epochs=2, evaluate_every=5)
    trainer.train()
    assert trainer.global_step == 2 * len(silo.get_data_loader("train"))
    assert trainer.test_result is not None and trainer.test_result[0]["acc"] >= 0.0


def test_missing_training_folder_content_is_an_error(tiny_bert_dir: Path, tmp_path: Path
                                                     ) -> None:
    (tmp_path / "train_shards").mkdir()
    with pytest.raises(DataFileError, match="no files"):
        streaming_silo(tiny_bert_dir, tmp_path)


# ---- processors whose inputs yield several samples --------------------------------------

def multi_sample_processor(kind: str, model_dir: Path, data_dir: Path) -> Processor:
    """A processor of ``kind`` with training data in ``data_dir`` whose inputs yield several
    samples each (LM documents, long QA documents, NER sentences longer than a window,
    queries with candidate passages)."""
    if kind.startswith("lm"):
        write_corpus(data_dir / "train.txt", pattern_documents(30, seed=1, per_doc=8))
        style = kind.split(":")[1] if ":" in kind else None
        return make_lm_processor(model_dir, data_dir, test_filename=None, max_seq_len=24,
                                 next_sent_pred=style is not None,
                                 next_sent_pred_style=style or "bert-style")
    if kind == "qa":
        write_squad(data_dir / "train.json", squad_articles(12, seed=1, fillers=(6, 12)))
        return make_qa_processor(model_dir, data_dir, dev_filename=None, test_filename=None,
                                 max_seq_len=48, doc_stride=12)
    if kind == "ner":
        write_conll(data_dir / "train.txt", ner_sentences(24, seed=1))
        return make_ner_processor(model_dir, data_dir, max_seq_len=10, test_filename=None)
    assert kind == "ranking"
    write_dpr_file(data_dir / "train.json", dpr_records(12, seed=1))
    return PassageRankingProcessor(Tokenizer.load(model_dir), max_seq_len=48,
                                   data_dir=data_dir, train_filename="train.json",
                                   test_filename=None, dev_split=0.0)


MULTI_SAMPLE = ["lm", "lm:bert-style", "lm:sentence", "qa", "ner", "ranking"]


@pytest.mark.parametrize("kind", MULTI_SAMPLE)
def test_a_streamed_epoch_has_every_sample_of_the_in_memory_silo(
    kind: str, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    processor = multi_sample_processor(kind, tiny_bert_dir, tmp_path)
    memory = DataSilo(processor, batch_size=4, max_processes=1)
    n_samples = len(memory.data["train"])  # type: ignore[arg-type]
    n_inputs = len(processor.file_to_dicts(processor.train_filename))  # type: ignore[arg-type]
    assert n_samples > 1.5 * n_inputs  # the case at stake: several samples per input
    expected = rows_of(list(memory.get_data_loader("train")))  # type: ignore[arg-type]
    for workers, buffer in ((0, 10_000), (2, 5)):
        silo = StreamingDataSilo(processor, batch_size=4, dataloader_workers=workers,
                                 shuffle_buffer=buffer)
        loader = silo.get_data_loader("train")
        assert loader is not None
        batches = list(loader)
        assert silo.counts["train"] == n_samples
        assert len(batches) == len(loader)
        assert sum(len(b["input_ids"]) for b in batches) == n_samples
        if kind != "lm:bert-style" and kind != "lm:sentence":
            assert rows_of(batches) == expected  # the very samples of the in-memory silo
        silo.train_stream.set_epoch(1)
        assert sum(len(b["input_ids"]) for b in loader) == n_samples


def test_processes_share_a_multi_sample_stream_with_equal_steps(tiny_bert_dir: Path,
                                                                tmp_path: Path) -> None:
    processor = multi_sample_processor("qa", tiny_bert_dir, tmp_path)
    stream = StreamingDataSilo(processor, batch_size=4, dataloader_workers=0).train_stream
    counts = stream.sample_counts
    assert counts is not None and len(counts) == 12 and counts.min() >= 1
    seen = []
    for rank in (0, 1):
        part = StreamingDataset(processor, stream.files, 4, stream.shard_sizes, counts, seed=3)
        part.replicas, part.rank = 2, rank
        batches = list(part)
        shares = [int(counts[r::2].sum()) for r in (0, 1)]
        assert len(part) == min(math.ceil(s / 4) for s in shares)
        assert len(batches) == len(part)
        seen.append(rows_of(batches))
    assert not set(seen[0]) & set(seen[1])


def test_the_stream_makes_up_for_inputs_that_give_fewer_samples_than_counted(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    processor = multi_sample_processor("qa", tiny_bert_dir, tmp_path)
    stream = StreamingDataSilo(processor, batch_size=4, dataloader_workers=0).train_stream
    assert stream.sample_counts is not None
    inflated = stream.sample_counts + 2  # as if a file had changed since it was counted
    part = StreamingDataset(processor, stream.files, 4, stream.shard_sizes, inflated)
    with caplog.at_level(logging.WARNING):
        batches = list(part)
    assert len(batches) == len(part) == math.ceil(int(inflated.sum()) / 4)
    assert "batches counted for this epoch" in caplog.text


class SkippingProcessor(TextClassificationProcessor):
    """Inputs whose text says "skip" give no sample (as problematic DPR dicts do)."""

    def dataset_from_dicts(self, dicts: list[dict], indices: list[int] | None = None,
                           return_baskets: bool = False, log_sample: bool = True) -> tuple:
        kept = [d for d in dicts if "skip" not in d["text"]]
        if not kept:
            return self.empty_result(return_baskets, set(range(len(dicts))))
        return super().dataset_from_dicts(kept, return_baskets=return_baskets,
                                          log_sample=log_sample)

    def samples_per_input(self, dicts: list[dict]) -> list[int]:
        return [0 if "skip" in d["text"] else 1 for d in dicts]


def test_a_buffer_without_samples_keeps_the_waiting_ones(tiny_bert_dir: Path, tmp_path: Path
                                                        ) -> None:
    rows = [(f"good film {i}", "positive") for i in range(4)]
    rows += [(f"skip this {i}", "negative") for i in range(4)]
    rows += [(f"bad film {i}", "negative") for i in range(2)]
    write_tsv(tmp_path / "train.tsv", rows)
    processor = SkippingProcessor(Tokenizer.load(tiny_bert_dir), 32, tmp_path,
                                  label_list=["negative", "positive"], metric="acc",
                                  test_filename=None, dev_split=0.0)
    silo = StreamingDataSilo(processor, batch_size=3, dataloader_workers=0, shuffle_buffer=4)
    batches = list(silo.get_data_loader("train"))  # type: ignore[arg-type]
    assert silo.counts["train"] == 6 and len(batches) == 2
    assert sum(len(b["input_ids"]) for b in batches) == 6


def test_default_sample_count_reads_the_baskets(tiny_bert_dir: Path) -> None:
    """A processor written from ``Processor`` is counted through its baskets."""
    from farm.data_handler.samples import Sample, SampleBasket

    class Doubling(Processor):
        def dataset_from_dicts(self, dicts, indices=None, return_baskets=False,  # type: ignore[no-untyped-def]
                               log_sample=True):
            baskets = [SampleBasket(i, d, samples=[Sample(f"{i}-{k}", d) for k in
                                                   range(d["n"])]) for i, d in enumerate(dicts)]
            drop = sum(d.get("drop", 0) for d in dicts)
            return None, [], set(), baskets[: len(baskets) - drop]

    processor = Doubling(Tokenizer.load(tiny_bert_dir), 16, None, None, None, 0.0, None)
    assert processor.samples_per_input([{"n": 2}, {"n": 0}, {"n": 3}]) == [2, 0, 3]
    with pytest.raises(FarmError, match="override samples_per_input"):
        processor.samples_per_input([{"n": 1}, {"n": 1, "drop": 1}])
