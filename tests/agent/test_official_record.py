"""An agent's record is made by the same official path as `speedup bench`'s: the same fields,
filled the same way (the command as a user typed it, every hash 'sha256:<hex>', the roofline
priced against this machine's measured ceiling), with the scored files and the transcript
archived beside it, so `speedup verify` re-runs it and refuses a forged transcript.

A real `speedup agent` session on the project's harness: the Claude policy over a scripted
transport (it submits an edit at once), the official evaluation real down to the sandbox,
where the clock is faked (tests/officialfakes.py: times follow from the files' hash).
Written against the command line, so each test runs unchanged on the previous code."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import anthropic
import httpx2
import pytest
from agentfakes import ScriptedAPI, message, tool_use
from officialfakes import use_fake_clock

import agent.launch.project_harness
import agent.policies.claude
from agent.session.workspace import Workspace
from correctness.solution import SHIPPED_DIR, reference_dir, solution_hash
from speedup.cli import main

GELU = "return 0.5 * x * (1.0 + torch.tanh(inner))"
HASH = re.compile(r"sha256:[0-9a-f]{64}")


@pytest.fixture
def agent_record(tmp_path, monkeypatch, capsys):
    """The record of a `speedup agent` session that edits ops.py and submits (tiny/cpu, one
    round), its candidate's runs twice as fast as the baseline's."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setattr(agent.launch.project_harness, "_baseline_time",
                        lambda *a: (2.0, "not measured here"))
    api = ScriptedAPI([message(tool_use("edit_file", "e1", path="ops.py", old_string=GELU,
                                        new_string=GELU + "  # edited"),
                               tool_use("submit", "s1", note="edited"))])

    def client(key, max_retries=0, http_client=None):
        transport = httpx2.Client(transport=httpx2.MockTransport(api.handler))
        return anthropic.Anthropic(api_key=key, max_retries=0, http_client=transport)

    monkeypatch.setattr(agent.policies.claude, "make_client", client)
    expected = Workspace.create(tmp_path / "expected", reference_dir("tiny")).root
    (expected / "ops.py").write_text((expected / "ops.py").read_text().replace(
        GELU, GELU + "  # edited"))
    ran = use_fake_clock(monkeypatch, {solution_hash(expected): 0.5})
    code = main(["agent", "--policy", "claude", "--preset", "tiny", "--device", "cpu",
                 "--runs-dir", str(tmp_path / "runs"), "--results-dir",
                 str(tmp_path / "results"), "--eval-rounds", "1"])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    (path,) = (tmp_path / "results").glob("*.json")
    assert json.loads(path.read_text())["median_ratio"] == 2.0  # the edit was scored
    return path, ran


def _bench_record(tmp_path, monkeypatch) -> Path:
    use_fake_clock(monkeypatch)
    results = tmp_path / "bench-results"
    assert main(["bench", str(SHIPPED_DIR / "torch_native"), "--preset", "tiny", "--device",
                 "cpu", "--rounds", "1", "--results-dir", str(results)]) == 0
    (path,) = results.glob("*.json")
    return path


def _form(value):
    """A value's format: its structure, with each string a 'sha256' hash or a 'str'."""
    if isinstance(value, dict):
        return {k: _form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_form(v) for v in value[:1]]
    if isinstance(value, str):
        return "sha256" if HASH.fullmatch(value) else "str"
    return type(value).__name__


def test_bench_and_agent_records_have_the_same_fields_in_the_same_formats(
        agent_record, tmp_path, monkeypatch):
    path, _ = agent_record
    agent_rec = json.loads(path.read_text())
    bench_rec = json.loads(_bench_record(tmp_path, monkeypatch).read_text())
    assert bench_rec["command"].startswith("speedup bench ")
    assert agent_rec["command"] == (f"speedup agent --policy claude --preset tiny --device cpu "
                                    f"--runs-dir {tmp_path / 'runs'} --results-dir "
                                    f"{tmp_path / 'results'} --eval-rounds 1")
    hashes = [agent_rec["solution_hash"], agent_rec["agent"]["transcript_sha256"],
              agent_rec["archive"]["transcript"]["hash"], bench_rec["solution_hash"]]
    assert all(HASH.fullmatch(h) for h in hashes), hashes
    assert list(agent_rec) == list(bench_rec)
    for key in set(bench_rec) - {"entrant", "agent", "archive"}:  # who: by design
        assert _form(agent_rec[key]) == _form(bench_rec[key]), key
    assert _form(agent_rec["archive"]["solution"]) == _form(bench_rec["archive"]["solution"])


def test_an_agent_record_is_priced_against_the_measured_ceiling(agent_record):
    path, _ = agent_record
    roofline = json.loads(path.read_text())["roofline"]
    for side in ("candidate", "baseline"):
        assert roofline[side]["ceiling"]["kind"] == "measured"
        assert roofline[side]["fraction_of_ceiling"] > 0
        assert roofline[side]["shape_ceiling"] is not None


def test_an_agent_record_keeps_its_code_and_transcript_and_verifies(agent_record, capsys):
    path, ran = agent_record
    record = json.loads(path.read_text())
    transcript = path.parent / record["archive"]["transcript"]["path"]
    run_dir = Path(record["agent"]["transcript_path"]).parent
    assert gzip.decompress(transcript.read_bytes()).startswith(b'{"event":"start"')
    assert (run_dir / "transcript.jsonl").read_bytes().startswith(
        gzip.decompress(transcript.read_bytes()))
    assert main(["verify", str(path)]) == 0
    assert "AGREE" in capsys.readouterr().out
    assert ran[-1][1] == record["solution_hash"] and "speedup-verify-" in ran[-1][0]

    transcript.write_bytes(gzip.compress(gzip.decompress(transcript.read_bytes())
                                         .replace(b"edited", b"forged"), mtime=0))
    runs = len(ran)
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "transcript hashes to" in err and len(ran) == runs
