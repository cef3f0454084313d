"""The run protocol's one home (correctness/protocol.py): the spec the judge writes is the
spec the child reads, and every name of a run's files is spelled there and nowhere else on
either side."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest

from correctness import protocol
from correctness.protocol import RunSpec
from correctness.sandbox import run_solution

CORRECTNESS = Path(protocol.__file__).resolve().parent
# Both sides of the protocol: the judge's (sandbox) and the child's.
SIDES = ["sandbox/runner.py", "sandbox/api.py", "sandbox/results.py", "sandbox/caches.py",
         "child/main.py", "child/modes.py"]
NAMES = [protocol.LOG, protocol.IN_DIR, protocol.WORK_DIR, protocol.HOME_DIR, protocol.TMP_DIR,
         protocol.SOLUTION_DIR, protocol.CACHE_DIR, protocol.HARNESS, protocol.INPUTS,
         protocol.KERNEL_CASES, protocol.KERNEL_CASE_META, protocol.RESULT, protocol.LOSSES,
         protocol.PROFILE_TABLE, protocol.DECLARED, protocol.KERNEL_OUTPUTS,
         protocol.KERNEL_INFO, protocol.READY, protocol.DONE, protocol.REFUSED,
         protocol.GO, protocol.SCRIPT_PATH, protocol.SCRIPT_ARGS,
         # the modes, but `kernels`, which is also the name of our kernel library's package
         *(mode for mode in protocol.MODES if mode != protocol.KERNELS)]
FIELDS = [f.name for f in dataclasses.fields(RunSpec)]


def _spec(**changes) -> RunSpec:
    values = dict(
        mode=protocol.KERNELS, cfg={"device": "cpu", "steps": 0, "d_model": 32},
        solution_dir="/r/solution", work_dir="/r/work", input_dir="/r/in", status_fd=5,
        control_fd=6, blocked=["agent", "bench"], audit=True, preimport=["triton"],
        read_roots=["/usr"], write_roots=["/r/work", "/dev/null"], deny_roots=["/p/results"],
        untrusted_roots=["/r"], memory_limit=1 << 34, file_size_limit=1 << 30,
        profile_top=20, confinement={"read": ["/usr"], "write": [], "device": []})
    return RunSpec(**{**values, **changes})


@pytest.mark.parametrize("changes", [{}, {"memory_limit": None, "confinement": None,
                                          "mode": protocol.SCRIPT, "audit": False}])
def test_the_spec_round_trips_through_harness_json(tmp_path, changes):
    spec = _spec(**changes)
    path = tmp_path / protocol.HARNESS
    path.write_bytes(spec.to_json())
    assert RunSpec.read(str(path)) == spec
    assert sorted(json.loads(path.read_text())) == sorted(FIELDS)


def test_a_spec_with_a_key_missing_unknown_or_a_mode_not_in_the_protocol_is_refused():
    data = json.loads(_spec().to_json())
    with pytest.raises(TypeError):
        RunSpec.from_json(json.dumps({k: v for k, v in data.items() if k != "status_fd"}))
    with pytest.raises(TypeError):
        RunSpec.from_json(json.dumps({**data, "seed": 1}))
    with pytest.raises(ValueError, match="mode must be one of"):
        RunSpec.from_json(json.dumps({**data, "mode": "bench"}))


def _literals(path: Path) -> set[str]:
    """Every string constant of a module that is not a docstring."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
            and id(node) not in docstrings}


@pytest.mark.parametrize("side", SIDES)
def test_every_name_of_the_protocol_is_spelled_only_in_the_protocol(side):
    """The judge writes and the child reads the same names because both take them from
    correctness.protocol: neither side spells a file, directory, mode, message or
    harness.json key of its own."""
    literals = _literals(CORRECTNESS / side)
    assert literals.isdisjoint(NAMES + FIELDS), sorted(map(repr, literals & {*NAMES, *FIELDS}))


PRINT_SPEC = """
import json
import sys


def train(cfg, init, tokens, batches):
    with open(sys.argv[-1]) as f:
        spec = json.load(f)
    print("SPEC", json.dumps({"keys": sorted(spec), "mode": spec["mode"], "cfg": spec["cfg"],
                              "input": spec["input_dir"], "work": spec["work_dir"]}))
    return {"state_dict": dict(init), "losses": [1.0] * cfg["steps"]}
"""


@pytest.mark.slow
def test_a_real_run_is_told_exactly_the_spec(write_solution, short_cfg, short_inputs):
    """The harness.json a run gets holds the spec's fields and nothing else, and the child
    read it (the run got as far as train)."""
    result = run_solution(write_solution(PRINT_SPEC), short_cfg, short_inputs,
                          static_scan=False)
    assert result.ok, result.message
    line = next(x for x in result.output_tail.splitlines() if x.startswith("SPEC "))
    told = json.loads(line[len("SPEC "):])
    assert told["keys"] == sorted(FIELDS)
    assert (told["mode"], told["cfg"]) == (protocol.TRAIN, short_cfg)
    assert Path(told["input"]).name == protocol.IN_DIR
    assert Path(told["work"]).name == protocol.WORK_DIR
    assert Path(told["input"]).parent == Path(told["work"]).parent  # the run root


def test_the_child_imports_no_library_before_its_limits():
    """correctness/child/main.py's order: until the limits (and Landlock, which binds only
    the threads that exist after it) are set, only the standard library, the child's guards
    and the protocol are loaded, and the child has one thread. Importing torch starts a
    thread of its own, which Landlock would never confine."""
    import subprocess
    import sys

    from correctness.solution import PROJECT_DIR

    code = (f"import os, sys; sys.path.append({str(PROJECT_DIR)!r}); "
            "import correctness.child.main; "
            "print(sorted({m.partition('.')[0] for m in sys.modules} & "
            "{'torch', 'numpy', 'safetensors', 'triton'}), "
            "len(os.listdir('/proc/self/task')))")
    done = subprocess.run([sys.executable, "-I", "-B", "-c", code], capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "1"]
