"""The baseline as a solution: the same `train` the harness times as the reference. An
agent's workspace starts as a copy of this directory."""

from .train import train

__all__ = ["train"]
