"""Counter-based random numbers: value i of stream s under seed k is a pure function of
(k, s, i), computed with integer arithmetic only (splitmix64). The bytes are therefore the
same on every machine and every numpy/torch version, and any slice can be drawn without
drawing what comes before it."""

from __future__ import annotations

import numpy as np

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _key(seed: int, stream: int) -> int:
    """One 64-bit key per (seed, stream); Python ints, so no overflow warnings."""
    z = ((seed & _MASK) * _GOLDEN + (stream & _MASK) + 1) & _MASK
    return int(_mix(np.array([z], dtype=np.uint64))[0])


def derive(seed: int, purpose: str) -> int:
    """An independent seed for one purpose ("init", "batches", ...) of a user's seed."""
    stream = int.from_bytes(purpose.encode()[:8].ljust(8, b"\0"), "little")
    return _key(seed, stream)


def uint64(seed: int, stream: int, counters: np.ndarray) -> np.ndarray:
    """Random uint64 for each counter (any shape of non-negative integers)."""
    key = np.uint64(_key(seed, stream))
    c = np.asarray(counters, dtype=np.uint64)
    return _mix((c + key) * np.uint64(_GOLDEN))


def uint32(seed: int, stream: int, counters: np.ndarray) -> np.ndarray:
    return (uint64(seed, stream, counters) >> np.uint64(32)).astype(np.uint32)


def uniform(seed: int, stream: int, n: int) -> np.ndarray:
    """n float64 values in (0, 1], from the top 53 bits."""
    top = uint64(seed, stream, np.arange(n)) >> np.uint64(11)
    return (top.astype(np.float64) + 1.0) / float(1 << 53)


def normal(seed: int, stream: int, n: int) -> np.ndarray:
    """n standard normal float64 values (Box-Muller on two counter streams)."""
    u1 = uniform(seed, 2 * stream, n)
    u2 = uniform(seed, 2 * stream + 1, n)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
