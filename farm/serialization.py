"""Reading and writing the files of a saved model: JSON configs checked for their shape,
safetensors checked before use and written with the process's umask, and folders replaced
atomically (a crash while writing leaves the previous folder, never a half-written one)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file, save_model
from torch import nn

from farm.errors import ModelFolderError

logger = logging.getLogger(__name__)

_JSON_TYPE_NAMES = {dict: "a JSON object", list: "a list", str: "a string", int: "an integer",
                    float: "a number", bool: "true or false", type(None): "null"}


def metric_name(metric: Any) -> Any:
    """A metric (name, function, or list of them) with functions replaced by their names,
    since JSON cannot hold code."""
    if isinstance(metric, list | tuple):
        return [metric_name(m) for m in metric]
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__)
    return metric


def _json_kind(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def read_json_file(file: Path, expected: type = dict) -> Any:
    """The content of a JSON file of a saved model, which must be of type ``expected``.

    Raises:
        ModelFolderError: The file is missing, not UTF-8 JSON, or holds another type; the
            message names the file.
    """
    if not file.is_file():
        raise ModelFolderError("not found.", file)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ModelFolderError(f"not UTF-8 text ({error.reason} at byte {error.start}); the "
                               "file is damaged: save the model again.", file) from error
    except json.JSONDecodeError as error:
        raise ModelFolderError(f"not valid JSON (line {error.lineno}, column {error.colno}: "
                               f"{error.msg}); the file is damaged or cut short: save the "
                               "model again.", file) from error
    except RecursionError as error:
        raise ModelFolderError("nested too deeply to be a FARM config.", file) from error
    if not isinstance(data, expected):
        raise ModelFolderError(f"holds {_json_kind(data)}; expected "
                               f"{_JSON_TYPE_NAMES.get(expected, expected.__name__)}.", file)
    return data


def require_fields(data: Mapping[str, Any], file: Path,
                   fields: Mapping[str, type | tuple[type, ...]]) -> None:
    """Check that ``data`` (read from ``file``) has each of ``fields`` with a value of the
    given type(s); ``int`` does not accept ``True``/``False``.

    Raises:
        ModelFolderError: Naming the file and the key that is missing or of the wrong type.
    """
    for key, types in fields.items():
        if key not in data:
            raise ModelFolderError(f"has no '{key}' key; the file is damaged or was not "
                                   "written by FARM: save the model again.", file)
        allowed = types if isinstance(types, tuple) else (types,)
        value = data[key]
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
            names = " or ".join(_JSON_TYPE_NAMES.get(t, t.__name__) for t in allowed)
            raise ModelFolderError(f"'{key}' is {_json_kind(value)} ({value!r:.60}); expected "
                                   f"{names}.", file)


def safetensors_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes of a safetensors file, read from its header (no tensor
    is loaded), after checking that the file is complete.

    Raises:
        ModelFolderError: The file is missing, truncated or not a safetensors file.
    """
    if not file.is_file():
        raise ModelFolderError("not found.", file)
    try:
        with safe_open(str(file), framework="pt") as handle:
            names = handle.keys()  # a safetensors handle, not a dict
            return {name: tuple(handle.get_slice(name).get_shape()) for name in names}
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFolderError(f"not a readable safetensors file ({error}); it is damaged or "
                               "cut short: save the model again.", file) from error


def confined_path(folder: Path, name: Any, file: Path, key: str) -> Path:
    """``folder / name`` for a relative ``name`` read from ``file`` (key ``key``) that stays
    inside ``folder`` once symbolic links are resolved.

    Raises:
        ModelFolderError: ``name`` is not a string, is absolute, or leads out of ``folder``.
    """
    if not isinstance(name, str) or not name:
        raise ModelFolderError(f"'{key}' must be a non-empty string; got {name!r:.60}.", file)
    target = folder / name
    if Path(name).is_absolute() or not target.resolve().is_relative_to(folder.resolve()):
        raise ModelFolderError(f"'{key}' is {name!r}, which leads out of {folder}; a saved "
                               "model refers only to files inside its folder.", file)
    return target


# ---- writing ---------------------------------------------------------------------------

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def apply_umask(path: Path) -> None:
    """Give ``path`` the mode a newly created file or folder gets (``0o666``/``0o777``
    less the umask). The safetensors writer and ``tempfile`` create theirs readable only by
    their owner, which keeps other users (a server's account) from loading a model."""
    base = 0o777 if path.is_dir() else 0o666
    path.chmod(base & ~_umask())


def apply_umask_to_weights(folder: Path) -> None:
    """:func:`apply_umask` on every ``*.safetensors`` file in ``folder`` (what
    ``save_pretrained`` wrote)."""
    for file in folder.glob("*.safetensors"):
        apply_umask(file)


def save_tensors(tensors: dict[str, torch.Tensor], file: Path) -> None:
    """``safetensors.torch.save_file`` with the file's mode following the umask."""
    save_file(tensors, str(file))
    apply_umask(file)


def save_module(module: nn.Module, file: Path) -> None:
    """``safetensors.torch.save_model`` with the file's mode following the umask."""
    save_model(module, str(file))
    apply_umask(file)


# Where atomic_directory writes and what it moves aside: ``.tmp-<name>-<8 chars>`` and
# ``.old-<name>-<8 chars>`` beside the final folder ``<name>``.
_STALE = re.compile(r"^\.(tmp|old)-(.+)-[a-z0-9_]{8}$")


@contextmanager
def atomic_directory(final: Path, carry_over: Callable[[str], bool] | None = None
                     ) -> Iterator[Path]:
    """Yield a temporary folder beside ``final`` that replaces ``final`` once the block ends
    without error, so a crash while writing never leaves a half-written ``final``.

    Entries of the old ``final`` for which ``carry_over(name)`` is true (files that are not
    part of what is written, such as checkpoints kept in a model's folder) are moved into
    the new folder before the swap, and moved back if the block fails. The old ``final`` is
    moved aside, the new one renamed into place, and the old one removed; a crash at any
    moment leaves ``.tmp-<name>-*`` / ``.old-<name>-*`` folders from which
    :func:`sweep_stale_writes` restores a whole ``final``.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{final.name}-"))
    carried: list[str] = []
    old: Path | None = None
    try:
        yield tmp
        apply_umask(tmp)  # mkdtemp makes it private
        if final.exists():
            for entry in sorted(final.iterdir()):
                if carry_over is not None and carry_over(entry.name) and not (
                        tmp / entry.name).exists():
                    os.replace(entry, tmp / entry.name)
                    carried.append(entry.name)
            old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".old-{final.name}-"))
            old.rmdir()
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():  # the block or the swap failed: put everything back
            if old is not None and old.exists() and not final.exists():
                os.replace(old, final)
            for name in carried:
                os.replace(tmp / name, final / name)
            shutil.rmtree(tmp)


def sweep_stale_writes(parent: Path, name_pattern: str,
                       carry_over: Callable[[str], bool] | None = None) -> list[str]:
    """Finish or undo what :func:`atomic_directory` left when the process was killed, for
    final folders in ``parent`` whose names match ``name_pattern`` (a regular expression),
    and log each action.

    A temporary folder is removed (entries carried into it from the final folder are moved
    back first), unless the final folder was already moved aside: then the temporary one is
    complete and takes its place. A folder moved aside whose replacement never arrived is
    put back.

    Returns:
        list[str]: What was done, one line per entry.
    """
    if not parent.is_dir():
        return []
    stale: dict[str, list[Path]] = {"tmp": [], "old": []}
    for path in sorted(parent.iterdir()):
        if (match := _STALE.match(path.name)) and re.fullmatch(name_pattern, match.group(2)):
            stale[match.group(1)].append(path)
    done = []
    for path in stale["tmp"]:
        final = parent / _STALE.match(path.name).group(2)  # type: ignore[union-attr]
        moved_aside = any(_STALE.match(old.name).group(2) == final.name  # type: ignore[union-attr]
                          for old in stale["old"])
        if not final.exists() and moved_aside:
            os.replace(path, final)
            done.append(f"completed {final} from {path.name} (its replacement was interrupted)")
            continue
        if final.is_dir() and carry_over is not None:
            for entry in path.iterdir():
                if carry_over(entry.name) and not (final / entry.name).exists():
                    os.replace(entry, final / entry.name)
        shutil.rmtree(path, ignore_errors=True)
        done.append(f"removed {path} (left by an interrupted write)")
    for path in stale["old"]:
        final = parent / _STALE.match(path.name).group(2)  # type: ignore[union-attr]
        if final.exists():
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {path} (left by an interrupted replacement)")
        else:
            os.replace(path, final)
            done.append(f"restored {final} from {path.name} (its replacement was interrupted)")
    for line in done:
        logger.warning("Cleaning up: %s", line)
    return done


def check_writable(folder: Path, what: str, needed_bytes: int = 0) -> None:
    """Create ``folder`` if needed and write and remove a small file in it, so a folder that
    cannot be written is found before the work that would write there.

    Args:
        folder (Path): The folder.
        what (str): What it is for, for the message (e.g. ``"checkpoint_root_dir"``).
        needed_bytes (int): Fail if the disk has less free space than this.

    Raises:
        ModelFolderError: The folder cannot be created or written, or the disk is too full.
    """
    if folder.exists() and not folder.is_dir():
        raise ModelFolderError(f"the {what} is a file, not a folder; choose a folder.", folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".farm-write-test-") as probe:
            probe.write(b"x" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise ModelFolderError(f"cannot write to the {what} ({error.strerror or error}); "
                               "choose a folder you can write to, or free some disk space.",
                               folder) from error
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise ModelFolderError(
            f"the disk of the {what} has {free / 1e6:.0f} MB free, but one save needs about "
            f"{needed_bytes / 1e6:.0f} MB; free some space or choose another folder.", folder)
