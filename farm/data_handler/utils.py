"""FARM's file helpers (``farm.data_handler.utils``): readers returning FARM's dict shapes,
built on this package's readers (their errors name the file and line), plus
``write_squad_predictions``, ``split_file`` and ``grouper``.

Data sets are never downloaded: a missing file is an error naming it (FARM fetched some
from deepset's S3 bucket, which is gone). ``proxies`` is accepted and has no effect.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from farm.compat import FeatureRemovedError, removed_function, removed_message, warn_once
from farm.data_handler.conll import read_conll
from farm.data_handler.dpr_records import read_dpr_record
from farm.data_handler.json_stream import iter_json_objects
from farm.data_handler.readers import read_delimited, read_text
from farm.errors import DataFileError

NO_DOWNLOADS = ("downloading data sets from deepset's S3 bucket (DOWNSTREAM_TASK_MAP) is "
                "gone with the bucket")
GET_DATA = ("download the data set yourself and point data_dir / the file name at it")


def _no_proxies(function: str, proxies: Any) -> None:
    if proxies is not None:
        warn_once(f"{function}(proxies=...)", "files are read locally, never downloaded")


def read_tsv(
    filename: str | Path,
    rename_columns: Mapping[str | int, str],
    quotechar: str | None = '"',
    delimiter: str = "\t",
    skiprows: int | None = None,
    header: int | None = 0,
    proxies: Any = None,
    max_samples: int | None = None,
    encoding: str = "utf-8-sig",
) -> list[dict[str, str]]:
    """Read the columns ``rename_columns`` names of a delimited file, renamed.

    Args:
        filename (str | Path): The file.
        rename_columns (Mapping[str | int, str]): Column in the file → key in the dicts, e.g.
            ``{"sentence": "text", "label": "text_classification_label"}``; other columns
            are not read.
        quotechar (str | None): Quote character (``None``: no quoting).
        delimiter (str): Field separator.
        skiprows (int | None): Lines to skip before the header.
        header (int | None): Row of the column names; ``None``: columns are positions.
        proxies (Any): Accepted for FARM compatibility (no downloads).
        max_samples (int | None): Read the first this many rows (FARM sampled them at random).
        encoding (str): Text encoding.

    Returns:
        list[dict[str, str]]: One dict per row.

    Example:
        >>> rows = read_tsv("train.tsv", {"text": "text", "label": "text_classification_label"})
    """
    _no_proxies("read_tsv", proxies)
    table = read_delimited(filename, delimiter, quotechar, skiprows, header, max_samples,
                           encoding)
    columns = {table.column_index(name, "rename_columns"): key
               for name, key in rename_columns.items()}
    return [{key: row[i] for i, key in columns.items()} for row in table.rows]


def read_tsv_sentence_pair(
    filename: str | Path,
    rename_columns: Mapping[str | int, str],
    delimiter: str = "\t",
    skiprows: int | None = None,
    header: int | None = 0,
    proxies: Any = None,
    max_samples: int | None = None,
    encoding: str = "utf-8-sig",
) -> list[dict[str, str]]:
    """Like :func:`read_tsv` for text pairs: the columns ``text`` and ``text_b`` are read
    too. Quoting is off, as in FARM."""
    columns: dict[str | int, str] = {"text": "text", "text_b": "text_b", **rename_columns}
    return read_tsv(filename, columns, None, delimiter, skiprows, header, proxies, max_samples,
                    encoding)


def read_jsonl(file: str | Path, proxies: Any = None, encoding: str = "utf-8-sig"
               ) -> list[dict[str, Any]]:
    """The objects of a JSON Lines file (a JSON array of objects works too)."""
    _no_proxies("read_jsonl", proxies)
    return [record.value for record in iter_json_objects(file, encoding=encoding)]


def read_ner_file(filename: str | Path, sep: str = "\t", proxies: Any = None,
                  encoding: str = "utf-8-sig") -> list[dict[str, Any]]:
    """A CoNLL file as FARM's NER dicts: ``{"text": "words joined by spaces", "ner_label":
    [tag per word]}`` (the first column holds the word, the last its tag)."""
    _no_proxies("read_ner_file", proxies)
    conll = read_conll(filename, delimiter=sep, encoding=encoding)
    return [{"text": " ".join(s.column(0)), "ner_label": s.column(-1)} for s in conll.sentences]


def read_squad_file(filename: str | Path, proxies: Any = None, encoding: str = "utf-8-sig"
                    ) -> list[dict[str, Any]]:
    """The articles of a SQuAD JSON file (its ``"data"`` list)."""
    _no_proxies("read_squad_file", proxies)
    path = Path(filename)
    try:
        data = json.loads(read_text(path, encoding))
    except json.JSONDecodeError as error:
        raise DataFileError(f"not valid JSON ({error.msg}, column {error.colno}).", file=path,
                            line=error.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DataFileError('expected a SQuAD object {"data": [articles]}.', file=path)
    return data["data"]


def read_dpr_json(
    file: str | Path,
    max_samples: int | None = None,
    proxies: Any = None,
    num_hard_negatives: int = 1,
    num_positives: int = 1,
    shuffle_negatives: bool = True,
    shuffle_positives: bool = False,
    encoding: str = "utf-8-sig",
) -> list[dict[str, Any]]:
    """A DPR file as FARM's dicts ``{"query", "passages": [{"title", "text", "label",
    "external_id"}]}``, labels ``"positive"`` and ``"hard_negative"``.

    Args:
        file (str | Path): A JSON array or JSON Lines file of DPR records.
        max_samples (int | None): Read at most this many records.
        proxies (Any): Accepted for FARM compatibility (no downloads).
        num_hard_negatives (int): Hard negatives per query, at most.
        num_positives (int): Positives per query, at most.
        shuffle_negatives (bool): Pick the hard negatives at random (else the first ones).
        shuffle_positives (bool): Pick the positives at random (else the first ones).
        encoding (str): Text encoding.

    Returns:
        list[dict[str, Any]]: One dict per record (records without positive are skipped).
    """
    _no_proxies("read_dpr_json", proxies)
    dicts: list[dict[str, Any]] = []
    for record in iter_json_objects(file, encoding=encoding):
        if max_samples is not None and len(dicts) >= max_samples:
            break
        dpr = read_dpr_record(record.value, f"record {record.index}", Path(file), record.line)
        if not dpr.positives:
            continue
        positives, negatives = list(dpr.positives), list(dpr.hard_negatives)
        if shuffle_positives:
            random.shuffle(positives)
        if shuffle_negatives:
            random.shuffle(negatives)
        passages = ([{**p, "label": "positive"} for p in positives[:num_positives]]
                    + [{**p, "label": "hard_negative"} for p in negatives[:num_hard_negatives]])
        dicts.append({"query": dpr.question, "passages": passages})
    return dicts


def read_docs_from_txt(
    filename: str | Path,
    delimiter: str = "",
    encoding: str = "utf-8",
    max_docs: int | None = None,
    proxies: Any = None,
    disable_tqdm: bool = True,
) -> Iterator[dict[str, list[str]]]:
    """The documents of a text file with one sentence per line, as ``{"doc": [sentence,
    ...]}``; a line equal to ``delimiter`` (default: an empty line) ends a document.

    Raises:
        DataFileError: The file holds fewer than two documents (as FARM: next-sentence
            prediction needs two).
    """
    _no_proxies("read_docs_from_txt", proxies)
    path = Path(filename)
    n_docs = 0
    doc: list[str] = []
    for line in read_text(path, encoding).splitlines():
        if max_docs is not None and n_docs >= max_docs:
            break
        text = line.strip()
        if text == delimiter:
            if doc:
                yield {"doc": doc}
                n_docs, doc = n_docs + 1, []
        else:
            doc.append(text)
    if doc and (max_docs is None or n_docs < max_docs):
        yield {"doc": doc}
        n_docs += 1
    if n_docs < 2:
        raise DataFileError(
            f"found {n_docs} document(s); at least two are needed. Put one sentence per line "
            f"and a line {delimiter!r} between documents.", file=path)


def write_squad_predictions(predictions: Iterable[Any], out_filename: str | Path,
                            predictions_filename: str | Path | None = None) -> None:
    """Write question-answering results as the SQuAD evaluation script reads them:
    ``{question id: answer text}``, ``""`` for no answer.

    Args:
        predictions (Iterable[Any]): What ``QAInferencer.inference_from_dicts`` returned
            (result dicts, or objects with ``to_json()``).
        out_filename (str | Path): The JSON file to write.
        predictions_filename (str | Path | None): A SQuAD file whose questions missing
            from ``predictions`` are written with ``""`` (FARM's name for the gold file).
    """
    answers: dict[str, str] = {}
    for result in predictions:
        if hasattr(result, "to_json"):
            result = result.to_json()
        for prediction in result["predictions"]:
            qid = prediction.get("question_id", prediction.get("id"))
            best = (prediction.get("answers") or [{}])[0].get("answer")
            answers[str(qid)] = "" if best in (None, "no_answer") else str(best)
    if predictions_filename is not None:
        for article in read_squad_file(predictions_filename):
            for paragraph in article.get("paragraphs", []):
                for question in paragraph.get("qas", []):
                    answers.setdefault(str(question["id"]), "")
    Path(out_filename).write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")


def split_file(filepath: str | Path, output_dir: str | Path, docs_per_file: int = 1_000,
               delimiter: str = "", encoding: str = "utf-8") -> list[Path]:
    """Split a text corpus (documents separated by a ``delimiter`` line) into shard files of
    ``docs_per_file`` documents, ``part_00001``, ``part_00002``, ... in ``output_dir``: a
    folder ``StreamingDataSilo`` streams from.

    Returns:
        list[Path]: The shard files, in order.
    """
    if docs_per_file < 1:
        raise ValueError(f"docs_per_file must be at least 1; got {docs_per_file}.")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    shards: list[Path] = []
    lines: list[str] = []
    n_docs = 0

    def flush() -> None:
        shards.append(out / f"part_{len(shards) + 1:05d}")
        shards[-1].write_text("".join(lines), encoding=encoding)
        lines.clear()

    with Path(filepath).open(encoding=encoding) as handle:
        for line in handle:
            lines.append(line if line.endswith("\n") else line + "\n")
            if line.strip() == delimiter:
                n_docs += 1
                if n_docs % docs_per_file == 0:
                    flush()
    if any(line.strip() for line in lines):
        flush()
    return shards


def grouper(iterable: Iterable[Any], n: int, worker_id: int = 0, total_workers: int = 1
            ) -> Iterator[list[tuple[int, Any]]]:
    """Chunks of ``n`` ``(index, item)`` pairs; worker ``worker_id`` of ``total_workers``
    gets every ``total_workers``-th chunk, starting with chunk ``worker_id``.

    Example:
        >>> list(grouper("ABCDE", 2))
        [[(0, 'A'), (1, 'B')], [(2, 'C'), (3, 'D')], [(4, 'E')]]
    """
    chunk: list[tuple[int, Any]] = []
    number = 0
    for index, item in enumerate(iterable):
        chunk.append((index, item))
        if len(chunk) == n:
            if number % total_workers == worker_id:
                yield chunk
            chunk, number = [], number + 1
    if chunk and number % total_workers == worker_id:
        yield chunk


class _NoDownloads(Mapping[str, str]):
    """FARM's ``DOWNSTREAM_TASK_MAP``: empty; looking a data set up says how to get it."""

    def __getitem__(self, name: str) -> str:
        raise FeatureRemovedError(removed_message(f"DOWNSTREAM_TASK_MAP[{name!r}]",
                                                  NO_DOWNLOADS, GET_DATA))

    def __contains__(self, name: object) -> bool:
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


DOWNSTREAM_TASK_MAP: Mapping[str, str] = _NoDownloads()

_LM_HELPER = "BertStyleLMProcessor makes next-sentence pairs and masks (whole words) itself"
get_sentence_pair = removed_function("get_sentence_pair", "FARM's slow LM path is gone",
                                     _LM_HELPER)
get_sequence_pair = removed_function("get_sequence_pair", "FARM's slow LM path is gone",
                                     _LM_HELPER)
join_sentences = removed_function("join_sentences", "FARM's slow LM path is gone", _LM_HELPER)
mask_random_words = removed_function("mask_random_words", "FARM's slow LM path is gone",
                                     _LM_HELPER)
