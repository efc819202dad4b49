"""StreamingDataSilo: shards, workers, processes, bounded preprocessing, training."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.streaming import StreamingDataset, StreamingDataSilo
from farm.errors import DataFileError
from tests.farm_helpers import (
    make_model,
    make_processor,
    make_trainer,
    separable_rows,
    write_tsv,
)


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
        part = StreamingDataset(stream.processor, stream.files, 4, stream.n_samples, seed=3)
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
