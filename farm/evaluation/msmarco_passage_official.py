"""MS MARCO passage ranking evaluation from files: MRR@10 (the interface of the official
script that FARM 0.8 shipped).

Reference file (qrels): one relevant passage per line, ``qid<TAB>0<TAB>pid<TAB>1`` or
``qid<TAB>pid``. Candidate file: ``qid<TAB>pid<TAB>rank`` (rank 1 is best).

Example:
    >>> compute_metrics_from_files("qrels.dev.small.tsv", "run.tsv")["MRR @10"]
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from farm.errors import DataFileError

MAX_MRR_RANK = 10


def _rows(path: str | Path) -> list[tuple[int, list[str]]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DataFileError(f"cannot read the file ({error}).", file=path) from error
    return [(n, line.split()) for n, line in enumerate(lines, start=1) if line.strip()]


def load_reference(path_to_reference: str | Path) -> dict[int, list[int]]:
    """Query id → relevant passage ids, from a qrels file."""
    relevant: dict[int, list[int]] = defaultdict(list)
    for line, fields in _rows(path_to_reference):
        if len(fields) not in (2, 4):
            raise DataFileError(f"expected 'qid pid' or 'qid 0 pid 1', got {fields}.",
                                file=path_to_reference, line=line)
        relevant[int(fields[0])].append(int(fields[2] if len(fields) == 4 else fields[1]))
    return dict(relevant)


def load_candidate(path_to_candidate: str | Path) -> dict[int, list[int]]:
    """Query id → passage ids in rank order (best first), from a run file."""
    ranked: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for line, fields in _rows(path_to_candidate):
        if len(fields) < 3:
            raise DataFileError(f"expected 'qid pid rank', got {fields}.",
                                file=path_to_candidate, line=line)
        ranked[int(fields[0])].append((int(fields[2]), int(fields[1])))
    return {qid: [pid for _, pid in sorted(pairs)] for qid, pairs in ranked.items()}


def compute_metrics(qids_to_relevant_passageids: dict[int, list[int]],
                    qids_to_ranked_candidate_passages: dict[int, list[int]]) -> dict[str, float]:
    """``{"MRR @10", "QueriesRanked"}``: the mean reciprocal rank of the first relevant
    passage among the top 10, over all queries of the reference that were ranked."""
    total, ranked = 0.0, 0
    for qid, candidates in qids_to_ranked_candidate_passages.items():
        if qid not in qids_to_relevant_passageids:
            continue
        ranked += 1
        relevant = set(qids_to_relevant_passageids[qid])
        for rank, pid in enumerate(candidates[:MAX_MRR_RANK], start=1):
            if pid in relevant:
                total += 1.0 / rank
                break
    if ranked == 0:
        raise ValueError("No query of the candidate file is in the reference file.")
    return {"MRR @10": total / len(qids_to_relevant_passageids),
            "QueriesRanked": float(ranked)}


def compute_metrics_from_files(path_to_reference: str | Path, path_to_candidate: str | Path,
                               perform_checks: bool = True) -> dict[str, float]:
    """MRR@10 of a run file against a qrels file.

    Args:
        path_to_reference (str | Path): The qrels file.
        path_to_candidate (str | Path): The run file.
        perform_checks (bool): Refuse a run that ranks a passage twice for one query.
    """
    reference = load_reference(path_to_reference)
    candidates = load_candidate(path_to_candidate)
    if perform_checks:
        for qid, pids in candidates.items():
            if len(set(pids)) != len(pids):
                raise DataFileError(f"query {qid} ranks a passage more than once.",
                                    file=path_to_candidate)
    return compute_metrics(reference, candidates)
