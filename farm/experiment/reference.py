"""The config reference of ``docs/cli.md``, generated from the schema
(``farm.experiment.schema``), so the documented keys and defaults are the code's.

``python -m farm.experiment.reference`` prints it; ``python -m farm.experiment.reference
--write docs/cli.md`` replaces the part of the page between :data:`START` and :data:`END`.
``tests/test_experiment_config.py`` checks that the page holds exactly this text.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from farm.experiment.schema import EARLY_STOPPING, REQUIRED, SECTIONS, Key, describe

START = ("<!-- config reference: generated from farm/experiment/schema.py by "
         "`python -m farm.experiment.reference --write docs/cli.md`; do not edit by hand -->")
END = "<!-- end of the generated config reference -->"


def config_reference() -> str:
    """Markdown tables of every fixed config section: key, default, valid values, meaning."""
    parts = []
    for section, keys in SECTIONS.items():
        parts.append(f"**`{section}`**\n\n{_table(keys)}")
        if section == "trainer":
            parts.append(f"**`trainer.early_stopping`**\n\n{_table(EARLY_STOPPING)}")
    return "\n\n".join(parts)


def _table(keys: dict[str, Key]) -> str:
    rows = ["| key | default | value | meaning |", "|---|---|---|---|"]
    for name, key in keys.items():
        rows.append(f"| `{name}` | {_default(key.default)} | {_values(key)} | {key.help} |")
    return "\n".join(rows)


def _default(value: Any) -> str:
    return "required" if value is REQUIRED else f"`{json.dumps(value)}`"


def _values(key: Key) -> str:
    if key.choices:
        return " \\| ".join(f"`{choice}`" for choice in key.choices)
    if key.path:
        return describe(key.type).replace("a string", "a path relative to the config file")
    text = describe(key.type)
    return f"{text}, at least {key.minimum:g}" if key.minimum is not None else text


def write(page: Path) -> bool:
    """Replace the generated part of ``page``; returns whether it changed."""
    text = page.read_text(encoding="utf-8")
    begin, end = text.index(START) + len(START), text.index(END)
    updated = f"{text[:begin]}\n\n{config_reference()}\n\n{text[end:]}"
    if updated != text:
        page.write_text(updated, encoding="utf-8")
    return updated != text


def generated_part(page: Path) -> str:
    """The text between the markers of ``page``, without the blank lines around it."""
    text = page.read_text(encoding="utf-8")
    return text[text.index(START) + len(START):text.index(END)].strip("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, metavar="PAGE",
                        help="replace the generated part of this Markdown page")
    args = parser.parse_args()
    if args.write is None:
        print(config_reference())
    else:
        print(f"{args.write}: {'updated' if write(args.write) else 'up to date'}")


if __name__ == "__main__":
    main()
