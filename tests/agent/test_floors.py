"""agent/'s floors: session <- policies <- launch (agent/__init__.py). A module imports only
its own floor and those below it, lazy imports included, so a session never depends on who
plays it or on how it was launched, and a policy never on how it was launched."""

from __future__ import annotations

import ast
from pathlib import Path

import agent

AGENT = Path(agent.__file__).resolve().parent
FLOORS = ("session", "policies", "launch")


def floors_imported(path: Path) -> list[tuple[int, str]]:
    """(line, floor) of every import of an agent floor in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "agent":  # from agent import session
                names = [f"agent.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, name.split(".")[1]) for name in names
                  if name.startswith("agent.") and name.split(".")[1] in FLOORS]
    return found


def upward_imports(root: Path) -> list[str]:
    bad = []
    for floor in FLOORS:
        for path in sorted((root / floor).rglob("*.py")):
            for line, target in floors_imported(path):
                if FLOORS.index(target) > FLOORS.index(floor):
                    bad.append(f"{path.relative_to(root)}:{line} imports agent.{target}")
    return bad


def test_every_module_of_agent_stands_on_a_floor():
    loose = sorted(p.name for p in AGENT.glob("*.py") if p.name != "__init__.py")
    rooms = sorted(p.name for p in AGENT.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert loose == [] and rooms == sorted(FLOORS)


def test_no_module_imports_a_floor_above_its_own():
    assert upward_imports(AGENT) == []


def test_a_planted_upward_import_is_found(tmp_path):
    for floor in FLOORS:
        (tmp_path / floor).mkdir()
    (tmp_path / "session" / "planted.py").write_text(
        "def f():\n    from agent.launch.build import start_session\n")
    (tmp_path / "policies" / "fine.py").write_text("from agent.session import loop\n")
    assert upward_imports(tmp_path) == ["session/planted.py:2 imports agent.launch"]
