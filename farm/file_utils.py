"""FARM's ``farm.file_utils``: reading FARM's JSON experiment configs (``read_config``,
``unnestConfig``), ``get_file_extension``, and fetching a data archive over HTTP(S)
(``fetch_archive_from_http``, ``http_get``). FARM's S3 helpers and its model cache are gone:
they raise a ``FarmError`` naming what to use instead.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import IO, Any

from farm.compat import removed_function
from farm.errors import FarmError

#: Where FARM cached downloads; nothing is downloaded any more (Hugging Face's cache holds
#: hub models).
FARM_CACHE = Path.home() / ".cache" / "torch" / "farm"

logger = logging.getLogger(__name__)

_NO_DOWNLOAD = "FARM's S3 helpers and its own download cache are gone"
_HUB = ("load models by hub name or local folder (LanguageModel.load, Tokenizer.load, "
        "Inferencer.load use Hugging Face's cache); fetch data archives with "
        "fetch_archive_from_http(url, output_dir)")
download_from_s3 = removed_function("download_from_s3", _NO_DOWNLOAD, _HUB)
s3_get = removed_function("s3_get", _NO_DOWNLOAD, _HUB)
load_from_cache = removed_function("load_from_cache", _NO_DOWNLOAD, _HUB)
cached_path = removed_function("cached_path", _NO_DOWNLOAD, _HUB)


class ConfigDict(dict[str, Any]):
    """A dict whose keys read as attributes too (``args.parameter.batch_size``), as FARM's
    configs (DotMaps) did; nested dicts become ``ConfigDict`` s."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for key, value in self.items():
            if isinstance(value, dict) and not isinstance(value, ConfigDict):
                self[key] = ConfigDict(value)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"The config has no key '{name}'; keys: {sorted(self)}."
                                 ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __deepcopy__(self, memo: dict[int, Any]) -> ConfigDict:
        return ConfigDict(copy.deepcopy(dict(self), memo))

    def toDict(self) -> dict[str, Any]:  # noqa: N802 - FARM's (DotMap's) name
        """A plain (nested) dict."""
        return {k: v.toDict() if isinstance(v, ConfigDict) else v for k, v in self.items()}


def read_config(path: str | Path) -> ConfigDict:
    """Read a FARM JSON experiment config: groups (``general``, ``task``, ``parameter``,
    ``logging``, ...) of entries ``{"value": ..., "default": ..., "desc": ...}``, each
    replaced by its value (its default where the value is null).

    Args:
        path (str | Path): The JSON file.

    Returns:
        ConfigDict: ``config.group.key`` → value.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FarmError(f"{path}: config file not found.") from None
    except json.JSONDecodeError as error:
        raise FarmError(f"{path}:{error.lineno}: not valid JSON ({error.msg}).") from None
    if not isinstance(raw, dict):
        raise FarmError(f"{path}: a FARM config is a JSON object of groups.")
    config = ConfigDict()
    for group, entries in raw.items():
        if not isinstance(entries, dict):
            raise FarmError(f"{path}: group '{group}' is not an object of entries.")
        values = ConfigDict()
        for key, entry in entries.items():
            if isinstance(entry, dict) and ("value" in entry or "default" in entry):
                value = entry.get("value")
                values[key] = entry.get("default") if value is None else value
            else:
                values[key] = entry
        config[group] = values
    return config


def unnestConfig(config: dict[str, Any]) -> list[ConfigDict]:  # noqa: N802 - FARM's name
    """Expand list values into a grid: one config per combination (FARM's rule: every list
    outside the ``task`` group is a grid axis, except ``layer_dims``, which is an axis only
    when it is a list of lists).

    Args:
        config (dict[str, Any]): A config from :func:`read_config`.

    Returns:
        list[ConfigDict]: The configs of the grid (one if nothing varies).
    """
    axes: list[tuple[str, str]] = []
    choices: list[list[Any]] = []
    for group, entries in config.items():
        if group == "task" or not isinstance(entries, dict):
            continue
        for key, value in entries.items():
            if not isinstance(value, list) or not value:
                continue
            if key == "layer_dims" and not isinstance(value[0], list):
                continue
            axes.append((group, key))
            choices.append(value)
    grid = []
    for combination in itertools.product(*choices):
        single = ConfigDict(copy.deepcopy(dict(config)))
        for (group, key), value in zip(axes, combination, strict=True):
            single[group][key] = value
        grid.append(single)
    return grid


def get_file_extension(path: str | Path, dot: bool = True, lower: bool = True) -> str:
    """The extension of ``path`` (``".json"``; without the dot if ``dot=False``)."""
    extension = Path(path).suffix
    extension = extension if dot else extension.lstrip(".")
    return extension.lower() if lower else extension


def http_get(url: str, temp_file: IO[bytes], proxies: dict[str, str] | None = None) -> None:
    """Download ``url`` (http or https) into the open binary file ``temp_file``.

    Args:
        url (str): The address.
        temp_file (IO[bytes]): Where the bytes go.
        proxies (dict[str, str] | None): Scheme → proxy address, as FARM took them.

    Raises:
        FarmError: Not an http(s) address, or the download failed.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise FarmError(f"http_get fetches http:// or https:// addresses; got {url!r}.")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies or {}))
    try:
        with opener.open(url, timeout=60) as response:
            shutil.copyfileobj(response, temp_file)
    except OSError as error:
        raise FarmError(f"Could not download {url}: {error}") from error


def fetch_archive_from_http(url: str, output_dir: str | Path,
                            proxies: dict[str, str] | None = None) -> bool:
    """Download a ``.zip``, ``.tar.gz``/``.tgz`` or ``.gz`` archive and unpack it into
    ``output_dir``, unless that folder already holds files (FARM's data-set fetcher).

    Archive members that would land outside ``output_dir`` (absolute paths, ``..``, links)
    are refused.

    Args:
        url (str): The archive's http(s) address.
        output_dir (str | Path): The folder to unpack into.
        proxies (dict[str, str] | None): Scheme → proxy address.

    Returns:
        bool: True if the archive was fetched, False if ``output_dir`` already held files.

    Raises:
        FarmError: An unknown archive type, a failed download, or an unsafe member.
    """
    output = Path(output_dir)
    if output.is_dir() and any(output.iterdir()):
        logger.info("%s already holds files; not fetching %s.", output, url)
        return False
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    kinds = {".zip": "zip", ".tar.gz": "tar", ".tgz": "tar", ".tar": "tar", ".gz": "gz"}
    kind = next((k for suffix, k in kinds.items() if name.lower().endswith(suffix)), None)
    if kind is None:
        raise FarmError(f"fetch_archive_from_http unpacks .zip, .tar.gz, .tgz, .tar and .gz "
                        f"archives; {url} is none of them. Download it yourself.")
    output.mkdir(parents=True, exist_ok=True)
    logger.info("Fetching %s into %s", url, output)
    with tempfile.TemporaryFile() as archive:
        http_get(url, archive, proxies)
        archive.seek(0)
        if kind == "zip":
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    _check_member(output, member, url)
                zipped.extractall(output)
        elif kind == "tar":
            with tarfile.open(fileobj=archive) as tarred:
                try:
                    tarred.extractall(output, filter="data")
                except tarfile.FilterError as error:
                    raise FarmError(f"{url}: unsafe archive member refused: {error}") from error
        else:
            import gzip

            with gzip.open(archive) as unzipped, open(output / name[:-3], "wb") as out:
                shutil.copyfileobj(unzipped, out)
    return True


def _check_member(output: Path, member: str, url: str) -> None:
    target = (output / member).resolve()
    if not target.is_relative_to(output.resolve()):
        raise FarmError(f"{url}: archive member {member!r} would be written outside "
                        f"{output}; refused.")
