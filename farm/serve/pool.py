"""The workers that run one served model's inference: a fixed number of threads, a bounded
queue in front of them, a time limit per request, and the work of a request whose client has
gone (or whose time limit passed) dropped from the queue, or stopped at its next model batch
if it had started (``farm.cancel``).

The event loop that answers HTTP never runs a model: a request's inference is handed to
its model's workers and awaited, so ``/health``, ``/models`` and other models' requests are
answered while one model is busy.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from farm.cancel import cancel_on

logger = logging.getLogger(__name__)

T = TypeVar("T")


class QueueFull(Exception):
    """The model's workers are busy and its queue is full.

    Args:
        retry_after (int): Seconds after which a retry is likely to be taken.
    """

    def __init__(self, retry_after: int):
        super().__init__(f"queue full; retry after {retry_after} s")
        self.retry_after = retry_after


class TimedOut(Exception):
    """The request's time limit passed before its inference ended.

    Args:
        started (bool): Whether its inference had started (it then stops at its next model
            batch).
    """

    def __init__(self, started: bool):
        super().__init__("timed out")
        self.started = started


class ClientGone(Exception):
    """The client closed the connection before the answer was ready."""


def set_torch_threads(threads: int | None) -> None:
    """Use ``threads`` intra-op threads in torch (``None``: leave torch's setting)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


class ModelWorkers:
    """``workers`` threads that run one model's inference, and a queue of at most
    ``max_queue`` requests waiting for them.

    Args:
        name (str): The model's name (names the threads).
        workers (int): Requests of this model run at the same time.
        max_queue (int): Requests that may wait for a worker; more are refused.
        threads (int | None): torch intra-op threads, set in each worker thread (``None``:
            torch's setting is left alone).
    """

    def __init__(self, name: str, workers: int, max_queue: int, threads: int | None = None):
        if workers < 1:
            raise ValueError(f"workers must be at least 1; got {workers}.")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1 (or None: torch's default); got "
                             f"{threads}.")
        self.workers = workers
        self.capacity = workers + max_queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=f"farm-{name}",
                                            initializer=set_torch_threads, initargs=(threads,))
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not finished: running or waiting
        self._seconds = 1.0  # moving average of a request's run time, for Retry-After

    @property
    def pending(self) -> int:
        """Requests running or waiting."""
        with self._lock:
            return self._pending

    async def run(self, work: Callable[[], T], timeout: float,
                  disconnected: Callable[[], Awaitable[Any]]) -> T:
        """Run ``work`` on a worker and wait for its result.

        Args:
            work (Callable[[], T]): The inference, called in a worker thread.
            timeout (float): Seconds from now until :class:`TimedOut` is raised.
            disconnected (Callable[[], Awaitable[Any]]): Returns once the client is gone.

        Returns:
            T: What ``work`` returned (its exception is raised here).

        Raises:
            QueueFull: Every worker is busy and ``max_queue`` requests wait already.
            TimedOut: ``timeout`` passed first; work not yet started is dropped, started
                work stops at its next model batch.
            ClientGone: The client went first; likewise.
        """
        with self._lock:
            if self._pending >= self.capacity:
                waiting = self._pending - self.workers + 1
                raise QueueFull(max(1, math.ceil(self._seconds * waiting / self.workers)))
            self._pending += 1
        stop = threading.Event()
        try:
            future = self._executor.submit(self._timed, work, stop)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        result = asyncio.wrap_future(future)
        gone = asyncio.ensure_future(disconnected())
        try:
            done, _ = await asyncio.wait({result, gone}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if result in done:
            return result.result()
        started = not future.cancel()  # a waiting request is dropped here
        stop.set()  # a running one stops at its next model batch
        # Whatever the work ends with, no one awaits it now.
        result.add_done_callback(lambda f: f.cancelled() or f.exception())
        if gone in done:
            logger.info("A client left before its answer; %s.",
                        "its inference stops" if started else "dropped from the queue")
            raise ClientGone()
        raise TimedOut(started)

    def _timed(self, work: Callable[[], T], stop: threading.Event) -> T:
        began = time.perf_counter()
        try:
            with cancel_on(stop):
                return work()
        finally:
            seconds = time.perf_counter() - began
            with self._lock:
                self._seconds = 0.8 * self._seconds + 0.2 * seconds

    def _finished(self, future: Future[Any] | None) -> None:
        with self._lock:
            self._pending -= 1

    def shutdown(self) -> None:
        """Stop the threads once their work is done; waiting work is dropped."""
        self._executor.shutdown(wait=False, cancel_futures=True)
