"""`farm serve` with one torch thread per worker against torch's default (every core), one
client sending one request at a time.

    python benchmarks/serve_threads.py --data-dir ../shared/data/sst2_sentences

Saves all-MiniLM-L6-v2 with a two-label text classification head (random weights: this
measures speed only), then starts ``farm serve`` on 127.0.0.1 once per setting of
``--threads`` (``0``: torch's default). A single client sends SST-2 dev sentences over one
keep-alive connection: ``--requests`` requests of one sentence (a demo page's or a chat
application's request) and ``--batch-requests`` requests of 32 sentences. The settings take
turns over ``--rounds`` rounds. Prints requests/s and the median and 90th-percentile latency
per setting, and the machine's load average before and after, as one JSON line: on a shared
machine the figures are indicative.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_utils import SHARED_DATA, emit, minilm_path, quiet

from farm.data_handler.processor import TextClassificationProcessor
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(model_dir: Path, threads: int) -> tuple[subprocess.Popen[bytes], int]:
    """`farm serve` with ``--threads threads``, once it answers /health."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    process = subprocess.Popen(
        [sys.executable, "-m", "farm", "-q", "serve", str(model_dir), "--port", str(port),
         "--threads", str(threads), "--log-level", "warning"], env=env)
    for _ in range(600):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("farm serve did not start within 60 s")


def latencies(port: int, bodies: list[bytes]) -> tuple[float, list[float]]:
    """Seconds for all ``bodies`` sent one after the other, and each request's seconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    times = []
    began = time.perf_counter()
    for body in bodies:
        start = time.perf_counter()
        connection.request("POST", "/models/1/inference", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        times.append(time.perf_counter() - start)
    connection.close()
    return time.perf_counter() - began, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA / "sst2_sentences")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 0],
                        help="settings of --threads (0: torch's default, every core)")
    parser.add_argument("--requests", type=int, default=200, help="one-sentence requests")
    parser.add_argument("--batch-requests", type=int, default=10,
                        help="requests of 32 sentences")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    quiet()
    started = time.perf_counter()
    set_all_seeds(42)
    lines = (args.data_dir / "stsa.binary.dev").read_text(encoding="utf-8").splitlines()
    texts = [line.partition(" ")[2] for line in lines]
    single = [json.dumps({"input": [{"text": texts[i % len(texts)]}]}).encode()
              for i in range(args.requests)]
    batched = [json.dumps({"input": [{"text": texts[(32 * i + j) % len(texts)]}
                                     for j in range(32)]}).encode()
               for i in range(args.batch_requests)]

    model_name = minilm_path()
    work = Path(tempfile.mkdtemp(prefix="farm-serve-threads-"))
    processor = TextClassificationProcessor(
        Tokenizer.load(model_name), 128, data_dir=None, label_list=["0", "1"], metric="acc",
        train_filename=None, test_filename=None, dev_split=0.0)
    model = AdaptiveModel(LanguageModel.load(model_name), [TextClassificationHead(num_labels=2)],
                          embeds_dropout_prob=0.1)
    model.save(work / "minilm")
    processor.save(work / "minilm")

    load_before = os.getloadavg()
    measured: dict[int, dict[str, list[float]]] = {
        t: {"single": [], "single_s": [], "batch": [], "batch_s": []} for t in args.threads}
    for _ in range(args.rounds):
        for threads in args.threads:
            process, port = start_server(work / "minilm", threads)
            try:
                latencies(port, single[:20])  # warm-up
                for name, bodies in (("single", single), ("batch", batched)):
                    seconds, times = latencies(port, bodies)
                    measured[threads][name].append(len(bodies) / seconds)
                    measured[threads][name + "_s"] += times
            finally:
                process.terminate()
                process.wait(30)
    load_after = os.getloadavg()

    def summary(values: dict[str, list[float]], name: str) -> dict[str, float]:
        times = sorted(values[name + "_s"])
        return {"requests_per_s": round(statistics.median(values[name]), 1),
                "p50_ms": round(1000 * statistics.median(times), 1),
                "p90_ms": round(1000 * times[int(0.9 * (len(times) - 1))], 1)}

    emit({
        "benchmark": "serve_threads", "model": "all-MiniLM-L6-v2 + TextClassificationHead",
        "cores": os.cpu_count(), "rounds": args.rounds,
        "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "settings": {
            ("torch default" if t == 0 else f"{t} thread{'s' * (t > 1)}"): {
                "one_sentence": summary(measured[t], "single"),
                "32_sentences": summary(measured[t], "batch")}
            for t in args.threads},
    }, started)


if __name__ == "__main__":
    main()
