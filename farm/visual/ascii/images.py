"""ASCII pictures under the names FARM's ``farm.visual.ascii.images`` had. Nothing in this
FARM prints them; they are plain strings."""

from __future__ import annotations

TRACTOR_SMALL = r"""
     ___
  __|[]_\___
 |  _     _ |
 '-(o)---(O)'
"""

TRACTOR_WITH_SILO_LINE = r"""
                        ___
     ___               /   \
  __|[]_\___          |     |
 |  _     _ |         |     |
 '-(o)---(O)'  _______|_____|__
"""

BARN_LINE = r"""
        /\
       /  \      ___________
      / [] \    |  fences   |
     |  __  |   |___________|
_____|_|  |_|___________________
"""

BARN_SMALL = r"""
    /\
   /[]\
  |_/\_|
"""

WELCOME_BARN = r"""
    /\        welcome to
   /  \
  / [] \      F A R M
 |  __  |
 |_|  |_|___________________
"""

GROWING_TREE = r"""
      ***
    *******
   *********
     | |
 ____|_|____
"""

TREE_1 = GROWING_TREE
TREE_1_MEDIUM = GROWING_TREE
TREE_1_SMALL = r"""
   ***
  *****
   | |
"""

FLOWERS = r"""
  @   @   @   @
  |   |   |   |
 \|/ \|/ \|/ \|/
"""

FENCE = r"""
 |--|--|--|--|--|--|--|--|
 |  |  |  |  |  |  |  |  |
"""

FENCE_SEP = " |--|--|--|--|--|--|--|--|"

BUSH_SEP = r" \|/   \|/   \|/   \|/   \|/   \|/"

SAMPLE = r"""
  +--------+
  | sample |
  +--------+
"""

ROOSTER = r"""
   >o)
   (_>
"""

PIG = r"""
  (\____/)
  ( o  o )~
   (_oo_)
"""

SMALL_PIG = r"""
 (oo)~
"""

WATERING_CAN = r"""
   ___
  /   \__/
  \___/
"""

WORKER = r"""
  o
 /|\
 / \
"""

WORKER_M = WORKER

WORKER_F = r"""
  o
 /|\
 /_\
"""

WORKER_X = r"""
  o
 \|/
 / \
"""
