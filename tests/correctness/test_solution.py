"""The solution format's one home (correctness/solution.py): which directory is a solution,
which program is a preset's reference, and who a record's entrant is."""

from __future__ import annotations

import shutil

import pytest

import baseline
from correctness.solution import (
    BASELINE_DIR,
    PROJECT_DIR,
    entrant,
    is_installed,
    missing_entry,
    reference_dir,
)


@pytest.mark.parametrize("preset, program, name, kind", [
    ("tiny", "baseline", "baseline", "reference"),
    ("range", "baseline/draft", "baseline", "reference"),  # the track's own reference
    ("tiny", "baseline/draft", "draft", "reference"),  # ours, but not tiny's reference
    ("tiny", "solutions/cpu_expert", "cpu_expert", "reference"),  # a shipped solution
    ("range", "solutions/torch_native", "torch_native", "reference"),
])
def test_installed_and_shipped_programs_are_reference_entrants(preset, program, name, kind):
    assert entrant(PROJECT_DIR / program, preset) == {"kind": kind, "name": name}
    assert entrant(PROJECT_DIR / program, preset, "mine") == {"kind": kind, "name": "mine"}


def test_anything_else_is_a_submission_named_by_its_directory(tmp_path):
    """A copy of the baseline or of a shipped solution elsewhere is someone's submission,
    named by its own directory, even with the reference's files."""
    copy = tmp_path / "my_run"
    shutil.copytree(PROJECT_DIR / "solutions" / "cpu_expert", copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert entrant(copy, "tiny") == {"kind": "submission", "name": "my_run"}
    assert entrant(copy, "tiny", "team") == {"kind": "submission", "name": "team"}
    nested = tmp_path / "solutions" / "fake"  # a folder named solutions is not ours
    nested.mkdir(parents=True)
    assert entrant(nested, "tiny")["kind"] == "submission"


def test_a_preset_names_its_reference_by_name_or_by_preset():
    for name, preset in baseline.PRESETS.items():
        assert reference_dir(name) == reference_dir(preset)
        assert is_installed(reference_dir(name)) and (reference_dir(name) / "solution.py").is_file()
    assert reference_dir("range") == BASELINE_DIR / "draft"
    assert not is_installed(PROJECT_DIR / "solutions" / "cpu_expert")


def test_the_one_missing_entry_message(tmp_path):
    assert missing_entry(BASELINE_DIR) is None
    assert missing_entry(tmp_path) == (f"{tmp_path} has no solution.py; a solution is a "
                                       "directory whose solution.py defines "
                                       "train(cfg, init, tokens, batches)")
    (tmp_path / "solution.py").mkdir()  # a directory of that name is not the entry file
    assert missing_entry(tmp_path) is not None

