"""The task text: what it states about the machine's isolation and what the judge refuses
must be what the judge does."""

from __future__ import annotations

import pytest

from agent.session.harness import TrackFacts
from agent.session.prompt import system_prompt
from correctness.sandbox.isolation import KINDS


def _facts(isolation: str) -> TrackFacts:
    return TrackFacts(cpu_model="test CPU", cpu_count=2, gpu=None, memory_limit_gib=16.0,
                      versions={"python": "3.11", "torch": "2.13", "triton": None},
                      baseline_s=2.0, baseline_source="a record", setup_timeout_s=120.0,
                      run_timeout_s=600.0, warmup_steps=3, isolation=isolation)


@pytest.mark.parametrize("kind", KINDS)
def test_every_isolation_kind_is_described_in_words(kind):
    text = system_prompt("tiny", "cpu", _facts(kind), eval_rounds=3)
    line = next(x for x in text.splitlines() if x.startswith("Runs are isolated by"))
    assert line.rstrip(".") != f"Runs are isolated by {kind}"  # words, not the bare key


def test_the_prompt_names_what_the_scan_refuses_that_honest_code_might_try():
    text = " ".join(system_prompt("tiny", "cpu", _facts("namespaces"), 3).split())
    assert "torch.save" in text and "numpy" in text  # torch's native file APIs refused
    assert "getattr" in text  # attribute names the scan can read


def test_the_task_describes_the_tracks_own_program():
    """The workspace starts as a copy of the track's reference program: on `range` the NumPy
    draft's files, not the torch baseline's slots."""
    from correctness.sandbox import reference_dir

    draft = system_prompt("range", "cpu", _facts("namespaces"), 3)
    task = draft.split("## The machine")[0]
    for path in reference_dir("range").glob("*.py"):
        assert f"`{path.name}`" in task or path.name == "__init__.py"
    assert "ops.py" not in task and "NumPy" in task
    torch_task = system_prompt("tiny", "cpu", _facts("namespaces"), 3).split("## The machine")[0]
    assert "`ops.py`" in torch_task and "NumPy" not in torch_task
