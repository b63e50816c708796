"""The six toy 2-D classification datasets of the course, generated from a seed.

Each point lies in the unit square (spiral: around the centre); each label is 0 or 1.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Points:
    """A toy dataset: N points `X` (each `[x0, x1]`) with labels `y` (0 or 1)."""

    N: int
    X: list[list[float]]
    y: list[int]

    def __post_init__(self) -> None:
        if len(self.X) != self.N or len(self.y) != self.N:
            raise ValueError(f"Points: N={self.N} but {len(self.X)} points and {len(self.y)} labels")


def _points(N: int, rng: random.Random) -> list[list[float]]:
    return [[rng.random(), rng.random()] for _ in range(N)]


def _labelled(N: int, seed: int, rule: Callable[[float, float], bool]) -> Points:
    rng = random.Random(seed)
    X = _points(N, rng)
    return Points(N, X, [1 if rule(x0, x1) else 0 for x0, x1 in X])


def simple(N: int, seed: int = 0) -> Points:
    """Label 1 left of the line x0 = 0.5."""
    return _labelled(N, seed, lambda x0, x1: x0 < 0.5)


def diag(N: int, seed: int = 0) -> Points:
    """Label 1 below the diagonal x0 + x1 = 0.5."""
    return _labelled(N, seed, lambda x0, x1: x0 + x1 < 0.5)


def split(N: int, seed: int = 0) -> Points:
    """Label 1 in two bands: x0 < 0.2 or x0 > 0.8."""
    return _labelled(N, seed, lambda x0, x1: x0 < 0.2 or x0 > 0.8)


def xor(N: int, seed: int = 0) -> Points:
    """Label 1 in the two off-diagonal quadrants."""
    return _labelled(N, seed, lambda x0, x1: (x0 < 0.5) != (x1 < 0.5))


def circle(N: int, seed: int = 0) -> Points:
    """Label 1 outside a circle of radius sqrt(0.1) around the centre."""
    return _labelled(N, seed, lambda x0, x1: (x0 - 0.5) ** 2 + (x1 - 0.5) ** 2 > 0.1)


def spiral(N: int, seed: int = 0) -> Points:
    """Two interleaved spirals (N // 2 points each), centred at (0.5, 0.5)."""
    rng = random.Random(seed)

    def arm(t: float, sign: float) -> list[float]:
        noise = 0.01 * (rng.random() - 0.5)
        return [0.5 + sign * t * math.cos(t * 10) / 20 + noise, 0.5 + sign * t * math.sin(t * 10) / 20 + noise]

    half = N // 2
    ts = [10.0 * (i + 1) / (half + 1) / 4 + 0.1 for i in range(half)]
    X = [arm(t, 1.0) for t in ts] + [arm(t, -1.0) for t in ts]
    y = [0] * half + [1] * half
    if N % 2:
        X.append([0.5, 0.5])
        y.append(0)
    return Points(N, X, y)


DATASETS: dict[str, Callable[..., Points]] = {
    "simple": simple,
    "diag": diag,
    "split": split,
    "xor": xor,
    "circle": circle,
    "spiral": spiral,
}
