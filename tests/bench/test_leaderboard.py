"""bench.leaderboard and `speedup leaderboard`: ranking rules, runs, failures and refusals,
the bootstrap interval, the headroom, the anchors kept apart, JSON, and the HTML page
checked in a real browser (headless Chromium) when one is installed."""

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench import leaderboard, records
from bench import leaderboard_render as render
from bench.clock import Evaluation
from speedup.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _write(results, solution, entrant, median, preset="tiny", passed=True, extra=None,
           isolation="namespaces"):
    ev = Evaluation(str(solution), preset, "cpu", rounds_requested=1, allow_library=False)
    ev.isolation = isolation
    ev.rounds = [{"round": 1, "order": "baseline,candidate", "baseline_s": 1.0,
                  "candidate_s": 1.0 / median, "ratio": median if passed else None,
                  "checks": []}]
    ev.passed, ev.rejected_by = passed, None if passed else "weights"
    ev.message = "" if passed else "round 1: max |dW| 0.3"
    if passed:
        ev.median_ratio, ev.min_ratio, ev.max_ratio = median, median * 0.9, median * 1.1
    return _record(ev, entrant, results, agent=extra)


def _record(ev, entrant, results, agent=None):
    """A record file as the official evaluation builds it, without an archive (the
    leaderboard reads none), its roofline priced against no measured ceiling."""
    from bench.roofline import for_evaluation

    record = records.build_record(ev, entrant, command="speedup test",
                                  roofline=for_evaluation(ev), archive=None, agent=agent)
    return records.write_record(record, results)


def _solution(tmp_path):
    """An empty solution directory the fake records name (its hash is all they need)."""
    sol = tmp_path / "sol"
    sol.mkdir()
    (sol / "solution.py").write_text("")
    return sol


@pytest.fixture
def results(tmp_path):
    sol = _solution(tmp_path)
    res = tmp_path / "results"
    ref = {"kind": "reference", "name": "torch_native"}
    agent = {"kind": "agent", "policy": "claude", "model": "model-a"}
    _write(res, sol, ref, 2.0)
    _write(res, sol, ref, 2.5)
    _write(res, sol, {**agent, "run_id": "r1"}, 3.0)
    _write(res, sol, {**agent, "run_id": "r1"}, 5.0)
    _write(res, sol, {**agent, "run_id": "r2"}, 4.0)
    _write(res, sol, {"kind": "agent", "policy": "claude", "model": "model-b"}, 80.0,
           passed=False)
    _write(res, sol, ref, 1.5, preset="cpu")
    return res


def test_tracks_are_ordered_largest_preset_first(results, tmp_path):
    sol = tmp_path / "sol"
    _write(results, sol, {"kind": "reference", "name": "torch_native"}, 6.0, preset="gpu")
    titles = [t.title for t in leaderboard.build(records.load_records(results))]
    assert titles == ["gpu on cpu", "cpu on cpu", "tiny on cpu"]  # not the alphabet's order


def test_rank_correct_records_by_best_and_average_best_over_runs(results):
    cpu, tiny = leaderboard.build(records.load_records(results))
    assert (cpu.title, tiny.title) == ("cpu on cpu", "tiny on cpu")  # headline track first
    assert [r.label for r in tiny.rows] == ["claude / model-a", "torch_native"]
    agent, ref = tiny.rows
    assert (agent.best, agent.average_best, agent.runs, agent.records) == (5.0, 4.5, 2, 3)
    assert (ref.best, ref.average_best, ref.runs) == (2.5, 2.25, 2)
    # two runs, 4x and 5x: resamples of two runs have means 4, 4.5 or 5
    assert agent.interval == (4.0, 5.0) and (agent.failures, agent.refusals) == (0, 0)
    # the 80x record was rejected: listed, never ranked
    assert [r["entrant"]["model"] for r in tiny.rejected] == ["model-b"]
    assert [r.label for r in cpu.rows] == ["torch_native"]


def test_markdown_names_the_statistic_and_keeps_anchors_apart(results, tmp_path):
    tracks = leaderboard.build(records.load_records(results))
    md = render.render_markdown(tracks, "leaderboard.png")
    ranking, anchors = md.split("## Published anchors (not measured here)")
    assert "median of per-round paired ratios" in ranking
    assert ("| 1 | claude / model-a | agent | 5.00x (4.50-5.50) | 4.50x | 4.00-5.00x | 2 | 0 "
            "| 0 |") in ranking
    assert "| 1.50x | none (1 run) | 1 |" in ranking  # one run: no interval, and it says so
    assert "80.00x" not in ranking and "model-b" in ranking  # rejected row, no speedup
    for model, speedup, _ in leaderboard.ANCHORS:
        assert f"| {model} | {speedup:g}x |" in anchors and model not in ranking
    assert "NOT measured here" in anchors and "4 to 8 hours" in anchors


def test_cli_writes_md_html_and_png(results, tmp_path, capsys):
    out = tmp_path / "board"
    assert main(["leaderboard", "--results-dir", str(results), "--out", str(out)]) == 0
    assert "tiny on cpu: 2 ranked, 1 rejected; top claude / model-a 5.00x" in (
        capsys.readouterr().out)
    page = (out / "leaderboard.html").read_text()
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page)[1])
    assert png == (out / "leaderboard.png").read_bytes() and png.startswith(b"\x89PNG")
    assert "leaderboard.png" in (out / "leaderboard.md").read_text()


def test_cli_refuses_a_bad_record_in_one_line(results, tmp_path, capsys):
    (results / "zz.json").write_text("[]")
    code = main(["leaderboard", "--results-dir", str(results), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "zz.json" in err and len(err.strip().splitlines()) == 1


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--enable-logging=stderr", "--v=0"]


def _chromium(page, tmp_path, *args):
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args,
                           page.as_uri()], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install "
                    "chromium); the HTML check needs a real browser")
def test_html_loads_in_chromium_with_table_plot_and_no_console_errors(results, tmp_path):
    import matplotlib.image

    render.write(leaderboard.build(records.load_records(results)), tmp_path)
    page = tmp_path / "leaderboard.html"
    dom = _chromium(page, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<table class="ranking">') == 2
    assert '<table class="anchors">' in dom.stdout and 'id="plot"' in dom.stdout
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []

    shot = tmp_path / "shot.png"
    r = _chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1000,1400",
                  "--hide-scrollbars")
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).round()
    bar_blue = ((abs(pixels - [0x48, 0x78, 0xA8]) <= 2).all(axis=-1)).sum()
    assert bar_blue > 500  # the plot's bars were decoded and drawn, not a broken image


def test_rows_show_the_isolation_and_the_calibration_that_judged_them(results, tmp_path):
    sol = tmp_path / "sol"
    identity = {"key": "gpu/cpu", "hash": "sha256:" + "cd" * 32, "device_name": "AMD EPYC",
                "date": "2026-01-02", "seeds": [7000], "source": "user"}
    ev = Evaluation(str(sol), "gpu", "cpu", rounds_requested=1, allow_library=False,
                    calibration=identity)
    ev.isolation = "landlock"
    ev.rounds = [{"round": 1, "order": "baseline,candidate", "baseline_s": 1.0,
                  "candidate_s": 0.5, "ratio": 2.0, "checks": []}]
    ev.passed, ev.median_ratio, ev.min_ratio, ev.max_ratio = True, 2.0, 2.0, 2.0
    _record(ev, {"kind": "reference", "name": "torch_native"}, results)
    gpu, cpu, _ = leaderboard.build(records.load_records(results))
    assert (gpu.rows[0].isolation, gpu.rows[0].calibrations) == (["landlock"], ["cdcdcdcd"])
    assert gpu.calibrations == ["cdcdcdcd: gpu/cpu cdcdcdcd (AMD EPYC, 2026-01-02, seed 7000; "
                                "user)"]
    # the fixture's evaluations named no calibration (an injected judge)
    assert (cpu.rows[0].isolation, cpu.rows[0].calibrations) == (["namespaces"],
                                                                 ["not recorded"])
    md = render.render_markdown([gpu, cpu], None)
    assert "| AMD EPYC | landlock | cdcdcdcd |" in md
    assert "- `cdcdcdcd: gpu/cpu cdcdcdcd (AMD EPYC" in md
    assert "cdcdcdcd: gpu/cpu" in render.render_html([gpu, cpu], None)


def test_runs_failures_and_refusals_follow_the_agents_outcomes(tmp_path):
    sol = _solution(tmp_path)
    res = tmp_path / "results"
    agent = {"kind": "agent", "policy": "claude", "model": "m"}
    runs = [("r1", 3.0, True, "submitted"), ("r2", 1.0, True, "refusal"),
            ("r3", 2.0, True, "budget"), ("r4", 9.0, False, "submitted"),
            ("r5", 1.5, True, None)]  # r5: a record written before outcomes existed
    for run_id, median, passed, outcome in runs:
        extra = {"outcome": outcome} if outcome else {}
        _write(res, sol, {**agent, "run_id": run_id}, median, passed=passed, extra=extra)
    (track,) = leaderboard.build(records.load_records(res))
    (row,) = track.rows
    assert (row.runs, row.records, row.refusals, row.failures) == (5, 5, 1, 2)  # r3, r4
    # the rejected run scores the baseline's 1x in the average instead of dropping out
    assert row.average_best == pytest.approx((3.0 + 1.0 + 2.0 + 1.0 + 1.5) / 5)
    assert row.best == 3.0 and [r["entrant"]["run_id"] for r in track.rejected] == ["r4"]


def _ceiling_file(directory, device_name, rates):
    directory.mkdir(exist_ok=True)
    runs = [{"device": device_name, "flops_per_s": f, "bytes_per_s": b} for f, b in rates]
    (directory / "2026-12-02-cpu-ceiling.json").write_text(json.dumps({"runs": runs}))


def test_headroom_states_the_big_gemm_rate_at_the_measured_ceilings(results, tmp_path, tiny_cfg):
    from bench import step_cost
    from correctness.provenance import device_name

    measurements = tmp_path / "measurements"
    _ceiling_file(measurements, device_name("cpu"), [(1e9, 1e10), (5e8, 1e10)])
    tracks = leaderboard.build(records.load_records(results), measurements=measurements)
    h = next(t for t in tracks if t.preset == "tiny").headroom
    steps = tiny_cfg["steps"]
    flops, nbytes = step_cost.flops_per_step(tiny_cfg), step_cost.min_bytes_per_step(tiny_cfg)
    big_gemm_s = steps * max(flops / 1e9, nbytes / 1e10)
    assert (h.steps, h.baseline_s, h.kind) == (steps, 1.0, "measured")  # the fixture's 1 s
    assert h.big_gemm == pytest.approx(1.0 / big_gemm_s) and h.limited_by == "compute"
    assert h.big_gemm_low == pytest.approx(1.0 / (steps * flops / 5e8))  # the worst ceiling
    assert (h.best_reference, h.best_reference_speedup) == ("torch_native", 2.5)
    md = render.render_markdown(tracks, None)
    assert (f"| {h.big_gemm:.2f}x ({h.big_gemm_low:.2f}-{h.big_gemm:.2f}x over 2 "
            "measurements) |") in md
    assert "torch_native 2.50x" in md


def test_a_cpu_without_a_measured_ceiling_says_so(results, tmp_path):
    tracks = leaderboard.build(records.load_records(results), measurements=tmp_path / "none")
    h = tracks[0].headroom
    assert h.big_gemm is None and "--measure-ceiling" in h.note
    assert "unknown: no big-GEMM rate measured" in render.render_markdown(tracks, None)


def test_json_has_every_row_interval_and_headroom(results, tmp_path, capsys):
    code = main(["leaderboard", "--results-dir", str(results), "--out", str(tmp_path), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["interval"]["resamples"] == 10_000
    tiny = next(t for t in data["tracks"] if t["preset"] == "tiny")
    agent = tiny["rows"][0]
    assert agent["label"] == "claude / model-a" and agent["interval"] == [4.0, 5.0]
    assert {"failures", "refusals", "runs"} <= set(agent)
    assert tiny["headroom"]["best_reference"] == "torch_native"
    assert [r["record"].endswith(".json") for r in tiny["rejected"]] == [True]


def test_the_shipped_records_are_confined_calibrated_and_give_a_cpu_headroom():
    """On the shipped records: every one has its interval, ran under namespaces and names
    the calibration that judged it, so no shipped row is listed apart or says 'not
    recorded'; the cpu track's big-GEMM figure comes from the committed ceiling
    measurement, and its best reference is a shipped CPU program."""
    shipped = records.load_records(ROOT / "results")
    assert shipped and all(r["ratio_interval"] for r in shipped)
    assert {records.isolation(r) for r in shipped} == {"namespaces"}
    assert all(records.calibration(r) is not None for r in shipped)
    tracks = leaderboard.build(shipped)
    assert all(not t.unconfined for t in tracks)
    cpu = next(t for t in tracks if t.title == "cpu on cpu")
    h = cpu.headroom
    assert h.kind == "measured" and h.ceilings[0].source.startswith("bench/measurements/")
    assert h.steps == 150 and h.limited_by == "compute"
    assert 1.0 < h.big_gemm_low < h.big_gemm < 10.0, (h.big_gemm_low, h.big_gemm)
    assert h.best_reference in {"cpu_expert", "torch_native"}


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install "
                    "chromium); the HTML check needs a real browser")
def test_committed_leaderboard_shows_intervals_and_headroom_in_chromium(tmp_path):
    import matplotlib.image

    tracks = leaderboard.build(records.load_records(ROOT / "results"))
    render.write(tracks, tmp_path)
    page = tmp_path / "leaderboard.html"
    dom = _chromium(page, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<table class="headroom">') == len(tracks)
    assert "<th>95% interval</th>" in dom.stdout and "<th>refusals</th>" in dom.stdout
    cpu = next(t for t in tracks if t.title == "cpu on cpu").headroom
    assert f"{cpu.big_gemm:.2f}x" in dom.stdout
    assert f"{cpu.best_reference} {cpu.best_reference_speedup:.2f}x" in dom.stdout

    shot = tmp_path / "shot.png"
    r = _chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1200,2400",
                  "--hide-scrollbars")
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).round()
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    bound_red = ((red > 0x90) & (green < 0x60) & (blue < 0x60)).sum()
    assert bound_red > 200  # the plot's big-GEMM line and its label were drawn
    shutil.copy(shot, tmp_path.parent / "committed-leaderboard.png")  # kept for a look


def _measured(tmp_path, monkeypatch, tiny_cfg):
    """A big-GEMM rate and a shape measurement of tiny (the fake table) for this CPU."""
    from shapefakes import fake_entry

    from bench import headroom
    from correctness.provenance import device_name

    measurements = tmp_path / "measurements"
    _ceiling_file(measurements, device_name("cpu"), [(1e12, 1e11)])
    monkeypatch.setattr(headroom, "SHAPE_FILES", ("shape-ceiling.json",))
    entry = fake_entry(tiny_cfg, device=device_name("cpu"))
    (measurements / "shape-ceiling.json").write_text(json.dumps({"runs": [entry]}))
    return measurements, entry


def test_headroom_names_the_big_gemm_rate_and_the_ladder_reaches_the_shape_ceiling(
        results, tmp_path, monkeypatch, tiny_cfg):
    from shapefakes import by_hand

    measurements, _ = _measured(tmp_path, monkeypatch, tiny_cfg)
    tracks = leaderboard.build(records.load_records(results), measurements=measurements)
    tiny = next(t for t in tracks if t.preset == "tiny")
    h = tiny.headroom
    assert h.shape_ceiling == pytest.approx(1.0 / (tiny_cfg["steps"] * by_hand(tiny_cfg)))
    md = render.render_markdown(tracks, None)
    section = md.split("## Track: tiny on cpu")[1].split("## ")[0]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in section.splitlines()}
    assert rows["best measured reference"].startswith(
        f"| best measured reference | torch_native 2.50x, {2.5 / h.shape_ceiling:.0%} of the "
        "shape-aware ceiling |")
    ceiling = next(v for k, v in rows.items() if k.startswith("shape-aware ceiling"))
    assert "estimate" in ceiling and "not a proof" in ceiling
    assert f"| {h.shape_ceiling:.2f}x |" in ceiling
    big = next(v for k, v in rows.items()
               if k.startswith("big-GEMM rate (a reference, not a bound)"))
    assert f"| {h.big_gemm:.2f}x |" in big and "a hand-written kernel can beat" in big
    assert "upper bound" not in md and "peak" not in md  # the figure bounds nothing
    # the big-GEMM figure appears on its own labelled row and nowhere else
    assert section.count(f"{h.big_gemm:.2f}x") == 1
    assert "| rung (reference solution) | best median speedup | fraction of the shape-aware " \
           "ceiling |" in section
    assert f"| torch_native | 2.50x | {2.5 / h.shape_ceiling:.0%} |" in section
    page = render.render_html(tracks, None)
    assert page.count('<table class="ladder">') == 2
    assert "big-GEMM rate (a reference, not a bound)" in page and "upper bound" not in page


def test_json_labels_the_big_gemm_rate_and_gives_the_ladders_fractions(
        results, tmp_path, monkeypatch, tiny_cfg, capsys):
    """Through the CLI: the shape measurement comes from this machine's cache (a fresh
    XDG_CACHE_HOME, tests/bench/conftest.py)."""
    from shapefakes import by_hand, fake_entry

    from bench import headroom, shape_ceiling
    from correctness.provenance import device_name

    monkeypatch.setattr(headroom, "SHAPE_FILES", ())
    path = shape_ceiling.shapes_path("cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = fake_entry(tiny_cfg, device=device_name("cpu"))
    path.write_text(json.dumps({"presets": {"tiny": entry}}))
    assert main(["leaderboard", "--results-dir", str(results), "--out", str(tmp_path),
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    tiny = next(t for t in data["tracks"] if t["preset"] == "tiny")["headroom"]
    ceiling = 1.0 / (tiny_cfg["steps"] * by_hand(tiny_cfg))
    assert tiny["shape_ceiling"] == pytest.approx(ceiling)
    assert "not a proof" in tiny["labels"]["shape_ceiling"]
    assert tiny["labels"]["big_gemm"].startswith("big-GEMM rate (a reference, not a bound)")
    assert "big_gemm" in tiny and not [k for k in tiny if "bound" in k]  # no key says bound
    assert [(r["name"], r["speedup"]) for r in tiny["ladder"]] == [("torch_native", 2.5)]
    assert tiny["ladder"][0]["share_of_ceiling"] == pytest.approx(2.5 / ceiling)
    cpu = next(t for t in data["tracks"] if t["preset"] == "cpu")["headroom"]
    assert cpu["shape_ceiling"] is None and "--measure-ceiling --preset cpu" in cpu["shape_note"]
    assert cpu["ladder"][0]["share_of_ceiling"] is None


def test_the_committed_tracks_reachable_ceiling_is_the_shape_measurement():
    """On the shipped records and committed measurements: tiny's and cpu's reachable
    ceilings come from a shape measurement (the committed file's, or one a shipped record
    carries, the fastest first) and sit under their big-GEMM rates."""
    shipped = records.load_records(ROOT / "results")
    sources = {"bench/measurements/2026-12-07-shape-ceiling.json",
               *(Path(r["_path"]).name for r in shipped)}
    tracks = leaderboard.build(shipped)
    for title in ("tiny on cpu", "cpu on cpu"):
        h = next(t for t in tracks if t.title == title).headroom
        assert h.shape_measurements and h.shape_measurements[0].source in sources
        assert 1.0 < h.shape_ceiling < h.big_gemm, (title, h.shape_ceiling, h.big_gemm)
        assert {r.name for r in h.ladder} >= {"baseline", "torch_native", "cpu_expert"}
        assert all(0 < r.share_of_ceiling < 1 for r in h.ladder)


def test_records_the_kernel_did_not_confine_are_listed_apart_never_ranked(results, tmp_path):
    """A record judged with process isolation alone (no namespaces, no Landlock: native
    code was stopped by nothing), or one from before the field, never ranks; it is listed
    apart, with its numbers, in every output."""
    sol = tmp_path / "sol"
    process_only = {"kind": "reference", "name": "unconfined"}
    _write(results, sol, process_only, 9.0, preset="cpu", isolation="process")
    _write(results, sol, process_only, 7.0, preset="cpu", isolation=None)  # an old record
    _write(results, sol, {"kind": "reference", "name": "torch_native"}, 1.2, preset="cpu",
           isolation="process")
    cpu = leaderboard.build(records.load_records(results))[0]
    assert [r.label for r in cpu.rows] == ["torch_native"]  # its namespaces record only
    assert (cpu.rows[0].best, cpu.rows[0].records) == (1.5, 1)
    assert [(r.label, r.best, r.records) for r in cpu.unconfined] == [
        ("unconfined", 9.0, 2), ("torch_native", 1.2, 1)]
    md = render.render_markdown([cpu], None)
    ranked, apart = md.split("Not ranked: correct records judged with process isolation")
    assert "unconfined" not in ranked and "| - | unconfined | reference | 9.00x" in apart
    assert "Not ranked: correct records judged" in render.render_html([cpu], None)
    assert [r["label"] for r in leaderboard.to_json([cpu])["tracks"][0]["unconfined"]] == [
        "unconfined", "torch_native"]
