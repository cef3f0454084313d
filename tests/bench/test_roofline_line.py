"""What `speedup bench` says of a run's roofline numbers: the big-GEMM rate as a reference,
not a bound, with the threads torch measured it on; the shape-aware ceiling as an estimate;
and how the FLOPs behind the FLOP/s were counted. The first case is the official record
whose numbers passed both figures (range_cpp: 172% and 103%)."""

import json
from pathlib import Path

import pytest

from speedup.commands.bench import flops_note, roofline_line

RANGE_CPP = (Path(__file__).resolve().parents[2]
             / "results/20261207T151512_range_cpu_range-cpp_08e7992d.json")


def test_the_range_cpp_record_reads_as_a_reference_passed_not_a_bound_broken():
    candidate = json.loads(RANGE_CPP.read_text())["roofline"]["candidate"]
    assert roofline_line("candidate", candidate, "cpu") == (
        "candidate: 653,730 tokens/s, 161 GFLOP/s, 171.86% of the measured big-GEMM rate "
        "(torch on 1 thread; a reference, not a bound); 103.0% of the shape-aware ceiling "
        "(an estimate, not a proof)")


def _side(ceiling: dict | None) -> dict:
    return {"tokens_per_s": 1000.0, "achieved_flops_per_s": 2e9,
            "fraction_of_ceiling": None if ceiling is None else 0.5,
            "fraction_of_shape_ceiling": 0.25, "ceiling": ceiling}


@pytest.mark.parametrize("ceiling, words", [
    ({"kind": "measured", "threads": 2},
     "50.00% of the measured big-GEMM rate (torch on 2 threads; a reference, not a bound)"),
    ({"kind": "measured", "threads": None},  # a GPU measured: torch states no threads
     "50.00% of the measured big-GEMM rate (a reference, not a bound)"),
    ({"kind": "datasheet"}, "50.00% of the datasheet big-GEMM rate (a reference, not a bound)"),
])
def test_every_kind_of_big_gemm_rate_is_called_a_reference(ceiling, words):
    line = roofline_line("baseline", _side(ceiling), "cpu")
    assert line == (f"baseline: 1,000 tokens/s, 2 GFLOP/s, {words}; 25.0% of the shape-aware "
                    "ceiling (an estimate, not a proof)")


def test_without_a_big_gemm_rate_the_line_names_none():
    assert roofline_line("baseline", _side(None), "cpu") == (
        "baseline: 1,000 tokens/s, 2 GFLOP/s; 25.0% of the shape-aware ceiling (an estimate, "
        "not a proof)")


@pytest.mark.parametrize("preset, share", [
    # the masked half of attention's 4 T d per token and layer, over the whole count
    # (bench/step_cost.py): L 2 T d / (L (24 d^2 + 4 T d) + 2 d V)
    ("range", "10%"),  # d 32, T 64, V 256, L 2: 8192 / 81920
    ("tiny", "7%"),  # d 32, T 32, V 64, L 2: 4096 / 61440
])
def test_the_flop_count_says_attention_is_counted_in_full(preset, share):
    assert flops_note(preset, "cpu") == (
        "(FLOP/s: bench/step_cost.py's count, attention over the full T x T; a causal kernel "
        f"that skips the masked half does {share} fewer on this preset)")
