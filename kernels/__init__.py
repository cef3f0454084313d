"""The kernel library: for each slot of `baseline/ops.py`, drop-in implementations.

`native` holds the torch-native ones (no Triton needed). Triton kernels live one per file
(`layer_norm.py`, ...) and import triton themselves, so this package imports on machines
without Triton; `registry` maps slot -> {implementation name -> callable}.
"""
