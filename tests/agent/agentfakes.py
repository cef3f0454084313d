"""Fakes for the agent tests: a clock that only moves when told, a harness whose verdicts
and speedups follow from the workspace's content (so tests control them by what the
policy writes), and a scripted Messages API behind the real SDK (httpx2.MockTransport),
which streams its answers as server-sent events when the request streams."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import anthropic
import httpx2

from agent.session.harness import BenchOutcome, CheckOutcome, CheckRow
from kernels.registry import Impl

CHECK_S, BENCH_S, PROFILE_S, SCRIPT_S = 10.0, 20.0, 5.0, 3.0  # fake device s per harness call


def facts():
    """The machine the fake harness describes (imported here, so that the fakes also load
    on a tree without it: the defect tests run against the previous code too)."""
    from agent.session.harness import TrackFacts

    return TrackFacts(cpu_model="Test CPU", cpu_count=2, gpu=None, memory_limit_gib=16.0,
                      versions={"python": "3.11", "torch": "2.13", "triton": "3.9"},
                      baseline_s=2.0, baseline_source="the fake harness",
                      setup_timeout_s=120.0, run_timeout_s=300.0, warmup_steps=3,
                      isolation="namespaces")


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _text(solution_dir: Path) -> str:
    return "\n".join(f.read_text() for f in sorted(Path(solution_dir).rglob("*.py")))


@dataclass
class FakeEvaluation:
    solution_dir: str
    passed: bool
    median_ratio: float | None
    rejected_by: str | None = None
    rounds: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class FakeHarness:
    """Verdict: rejected when a file contains a `fails` marker. Speedup: 1 + the gains of
    the markers present. Every call advances the fake clock by a fixed amount."""

    def __init__(self, clock: FakeClock, gains: dict[str, float] | None = None,
                 fails: tuple[str, ...] = ("BROKEN",), library: list[Impl] = ()):
        self.clock, self.gains, self.fails, self.impls = clock, gains or {}, fails, list(library)
        self.calls: list[tuple] = []
        self.records: list[dict] = []
        self.hook = None  # called inside check(), e.g. to kill the run mid-tool

    def _verdict(self, solution_dir: Path) -> tuple[bool, float]:
        text = _text(solution_dir)
        passed = not any(marker in text for marker in self.fails)
        return passed, 1.0 + sum(g for m, g in self.gains.items() if m in text)

    def prepare(self, preset, device, *, auto=True, on_status=None, on_progress=None):
        self.calls.append(("prepare", preset, device, auto))

    def check(self, solution_dir, preset, device) -> CheckOutcome:
        self.calls.append(("check", str(solution_dir), preset, device))
        if self.hook:
            self.hook()
        self.clock.now += CHECK_S
        passed, _ = self._verdict(solution_dir)
        rows = [CheckRow("heldout_loss", passed, 0.001 if passed else 0.5, 0.02, "abs diff")]
        return CheckOutcome(passed=passed, checks=rows)

    def bench(self, solution_dir, preset, device, rounds, on_progress=None) -> BenchOutcome:
        self.calls.append(("bench", str(solution_dir), preset, device, rounds))
        self.clock.now += BENCH_S
        passed, ratio = self._verdict(solution_dir)
        rows = [{"baseline_s": 2.0, "candidate_s": 2.0 / ratio, "ratio": ratio}] * rounds
        return BenchOutcome(passed=passed, median_ratio=ratio if passed else None, rounds=rows,
                            rejected_by=None if passed else "training_check")

    def profile(self, solution_dir, preset, device) -> str:
        self.calls.append(("profile", str(solution_dir)))
        self.clock.now += PROFILE_S
        return "Name  Self CPU %\naten::mm  42.0"

    def official_evaluation(self, solution_dir, preset, device, rounds, on_progress=None):
        self.calls.append(("evaluate", str(solution_dir), preset, device, rounds))
        passed, ratio = self._verdict(solution_dir)
        return FakeEvaluation(str(solution_dir), passed, ratio if passed else None,
                              None if passed else "training_check")

    def baseline_evaluation(self, solution_dir, preset, device, outcome):
        self.calls.append(("baseline", str(solution_dir), outcome))
        return FakeEvaluation(str(solution_dir), True, 1.0)

    def run_python(self, solution_dir, script, args, device, timeout):
        from agent.session.harness import ScriptOutcome

        self.calls.append(("run_python", script, list(args), timeout))
        self.clock.now += SCRIPT_S
        text = (Path(solution_dir) / script).read_text()
        if "raise" in text:
            return ScriptOutcome(False, "Traceback ...\nValueError: boom", "crash",
                                 "ValueError: boom")
        return ScriptOutcome(True, f"ran {script} with {args}")

    def track_facts(self, preset, device, results_dir):
        return facts()

    def write_record(self, evaluation, entrant, extra, results_dir, *, transcript,
                     command) -> Path:
        record = {"entrant": entrant, "agent": extra, "transcript": str(transcript),
                  "command": command, **evaluation.to_dict()}
        self.records.append(record)
        path = Path(results_dir) / f"record-{len(self.records)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))
        return path

    def library(self, device) -> list[Impl]:
        return self.impls

    def take_wait_s(self) -> float:
        return 0.0


# ---------------------------------------------------------------------------- the API

def usage(inp: int = 100, out: int = 50, write: int = 0, read: int = 0) -> dict:
    return {"input_tokens": inp, "output_tokens": out, "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read}


def tool_use(name: str, tid: str, **args) -> dict:
    return {"type": "tool_use", "id": tid, "name": name, "input": args}


def message(*content: dict, stop: str = "tool_use", use: dict | None = None,
            mid: str = "msg") -> dict:
    return {"id": mid, "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
            "content": list(content), "stop_reason": stop, "stop_sequence": None,
            "usage": use or usage()}


def error(status: int, kind: str = "api_error") -> tuple[int, dict]:
    return status, {"type": "error", "error": {"type": kind, "message": f"fake {status}"}}


class Kill(BaseException):
    """Stands in for SIGKILL: nothing in the loop or the SDK catches it."""


def sse(message: dict) -> bytes:
    """A response message as the stream of server-sent events the API sends for it."""
    def event(kind: str, data: dict) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    use = message.get("usage") or {}
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**use, "output_tokens": 1}}
    start.pop("stop_details", None)
    out = [event("message_start", {"message": start})]
    for i, block in enumerate(message["content"]):
        kind = block["type"]
        empty = {"text": {"type": "text", "text": ""},
                 "thinking": {"type": "thinking", "thinking": "", "signature": ""},
                 "tool_use": {**block, "input": {}}}.get(kind, block)
        out.append(event("content_block_start", {"index": i, "content_block": empty}))
        deltas = {"text": [{"type": "text_delta", "text": block.get("text", "")}],
                  "thinking": [{"type": "thinking_delta", "thinking": block.get("thinking")},
                               {"type": "signature_delta",
                                "signature": block.get("signature", "")}],
                  "tool_use": [{"type": "input_json_delta",
                                "partial_json": json.dumps(block.get("input") or {})}]}
        for delta in deltas.get(kind, []):
            out.append(event("content_block_delta", {"index": i, "delta": delta}))
        out.append(event("content_block_stop", {"index": i}))
    out.append(event("message_delta", {
        "delta": {"stop_reason": message.get("stop_reason"), "stop_sequence": None,
                  "stop_details": message.get("stop_details")},
        "usage": use}))
    out.append(event("message_stop", {}))
    return "".join(out).encode()


class ScriptedAPI:
    """The Messages API as a list of answers: a response dict (200; streamed when the
    request streams), a (status, body) pair, or Kill to end the process right there.
    Records every request body it receives. The Models API knows no model (404), so the
    policy falls back to agent/policies/models.py's table, unless `models` gives ModelInfo dicts."""

    def __init__(self, script: list, models: dict | None = None):
        self.script = list(script)
        self.models = models or {}
        self.bodies: list[dict] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and request.url.path.startswith("/v1/models/"):
            info = self.models.get(request.url.path.rsplit("/", 1)[1])
            if info is None:
                return httpx2.Response(404, json={"type": "error", "error": {
                    "type": "not_found_error", "message": "model not found"}})
            return httpx2.Response(200, json=info)
        body = json.loads(request.content)
        self.bodies.append(body)
        answer = self.script.pop(0)
        if answer is Kill:
            raise Kill()
        if callable(answer):
            answer = answer(body)
        if isinstance(answer, tuple):
            status, payload = answer
            return httpx2.Response(status, json=payload, headers={"retry-after-ms": "1"})
        if body.get("stream"):
            return httpx2.Response(200, content=sse(answer),
                                   headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, json=answer)

    def client(self, max_retries: int = 0) -> anthropic.Anthropic:
        transport = httpx2.MockTransport(self.handler)
        return anthropic.Anthropic(api_key="test", max_retries=max_retries,
                                   http_client=httpx2.Client(transport=transport))
