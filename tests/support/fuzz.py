"""Random JSON-like bodies for fuzz tests: repeatable from the generator's seed."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

Leaf = Callable[[random.Random], Any]


def garbage(
    rng: random.Random,
    leaves: Sequence[Leaf],
    keys: Sequence[str],
    max_depth: int,
    width: int,
    depth: int = 0,
) -> Any:
    """A value drawn from ``leaves``, or (above ``max_depth`` only leaves) a list of up to two
    such values, or an object of up to ``width - 1`` members named from ``keys``."""

    def deeper() -> Any:
        return garbage(rng, leaves, keys, max_depth, width, depth + 1)

    choice = rng.randrange(len(leaves) + 3 if depth < max_depth else len(leaves))
    if choice < len(leaves):
        return leaves[choice](rng)
    if choice == len(leaves):
        return [deeper() for _ in range(rng.randrange(3))]
    return {rng.choice(keys): deeper() for _ in range(rng.randrange(width))}
