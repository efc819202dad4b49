"""Shared pytest configuration and fixtures for the test suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.tiny_models import TinyModelFactory, make_tiny_model_dir

SLOW_MARKER = "slow: long-running test, deselect with -m 'not slow'"


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``slow`` marker unless the project configuration already does.

    Args:
        config: The pytest configuration.
    """
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    if "slow" not in registered:
        config.addinivalue_line("markers", SLOW_MARKER)


@pytest.fixture(scope="session")
def tiny_model_factory(tmp_path_factory: pytest.TempPathFactory) -> TinyModelFactory:
    """Provides a builder of tiny offline model folders, cached for the whole session.

    Each combination of architecture and options is built once; later calls
    return the same folder, so tests must treat it as read-only.

    Args:
        tmp_path_factory: Pytest's session temporary directory factory.

    Returns:
        A function ``(arch, lower_case=True, *, num_labels=None) -> Path``.
    """
    cache: dict[tuple[str, bool, int | None], Path] = {}

    def build(arch: str, lower_case: bool = True, *, num_labels: int | None = None) -> Path:
        key = (arch, lower_case, num_labels)
        if key not in cache:
            casing = "uncased" if lower_case else "cased"
            labels = "" if num_labels is None else f"-{num_labels}labels"
            folder = tmp_path_factory.mktemp(f"tiny-{arch}-{casing}{labels}")
            cache[key] = make_tiny_model_dir(
                arch, folder, lower_case=lower_case, num_labels=num_labels
            )
        return cache[key]

    return build


@pytest.fixture(scope="session")
def tiny_bert_dir(tiny_model_factory: TinyModelFactory) -> Path:
    """Provides a cached, lower-casing tiny BERT folder.

    Args:
        tiny_model_factory: The session's tiny model builder.

    Returns:
        Path of the folder holding the tokenizer and model.
    """
    return tiny_model_factory("bert")


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """Run the suite on one torch thread: tiny models spend most of a multi-threaded step
    synchronising threads, which on a busy two-core machine makes them many times slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
