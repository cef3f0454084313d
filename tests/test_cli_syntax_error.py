"""A solution whose Python does not parse is unusable input, as the README's exit codes say
(0 pass, 1 reject, 2 unusable input): `speedup check` and `speedup bench` refuse it in one
line naming the file and the line, exit 2, before anything runs and with no record. In
process (speedup.cli.main), the clock faked (officialfakes): a regression that ran the
solution would not pay for real sandboxed runs."""

import pytest
from officialfakes import use_fake_clock

from speedup.cli import main

BROKEN = "import torch\n\n\ndef train(cfg, init, tokens, batches:\n    return {}\n"


@pytest.fixture
def broken(tmp_path):
    """A solution directory whose sibling module is fine and whose solution.py is not."""
    sol = tmp_path / "broken"
    sol.mkdir()
    (sol / "solution.py").write_text(BROKEN)
    (sol / "helpers.py").write_text("X = 1\n")
    return sol


@pytest.mark.parametrize("command", ["check", "bench"])
def test_a_solution_that_does_not_parse_is_unusable_input(command, broken, tmp_path, capsys,
                                                         monkeypatch, quick_ceilings):
    ran = use_fake_clock(monkeypatch)
    results = tmp_path / "results"
    extra = ["--results-dir", str(results), "--rounds", "1"] if command == "bench" else []
    code = main([command, str(broken), "--preset", "tiny", "--device", "cpu", *extra])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert f"{broken / 'solution.py'}:4" in err and "does not parse" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert ran == [] and not list(results.glob("*.json"))  # nothing ran, no record
