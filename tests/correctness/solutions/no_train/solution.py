"""Defines no train()."""

STEPS = 0
