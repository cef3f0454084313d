"""The README and the manual in docs/ against the code: the quickstart is two commands, the
second exactly what CI runs; its torch install takes the CPU build where there is no
NVIDIA driver; every `speedup` command line the pages show names a command and options the
CLI has; every path they name in the repository exists; and every section of
docs/design.md that the source cites is there."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from speedup import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SOURCE_DIRS = ("baseline", "kernels", "correctness", "bench", "agent", "speedup", "solutions",
               "tests")


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _fenced(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)


def _inline(text: str) -> list[str]:
    without_blocks = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", without_blocks)


def _quickstart() -> tuple[str, str]:
    blocks = _fenced(_section(README.read_text(), "Quickstart"))
    assert len(blocks) == 2, blocks
    main, tests = (b.strip() for b in blocks)
    return main, tests


def test_the_quickstart_is_two_commands_the_main_job_and_the_tests():
    main, tests = _quickstart()
    assert "\n" not in main and "\n" not in tests
    assert main.endswith("&& pip install -e . && speedup run")
    assert tests.endswith("&& pip install -e '.[dev,inspect,sweep]' && python -m pytest -n 2")
    # the same virtual environment and the same torch, before the project is installed
    assert main.partition(" && pip install -e ")[0] == tests.partition(" && pip install -e ")[0]


def test_ci_runs_the_readmes_test_command():
    lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert lines[-1] == _quickstart()[1]


@pytest.mark.parametrize("driver", [False, True])
def test_the_torch_install_takes_the_cpu_build_without_nvidias_driver(driver, tmp_path):
    """The quickstart's torch install run by bash with `pip` a function that prints its
    arguments, on a PATH that holds an `nvidia-smi` or none."""
    torch_install = next(part.strip() for part in _quickstart()[0].split("&&")
                         if part.strip().startswith("pip install torch"))
    if driver:
        fake = tmp_path / "nvidia-smi"
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
    script = f'pip() {{ printf "%s\\n" "$@"; }}; {torch_install}'
    done = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True,
                          env={"PATH": str(tmp_path)}, check=True)
    args = done.stdout.split()
    assert args[:2] == ["install", "torch==2.13.0"]
    assert args[2:] == ([] if driver else ["--index-url", CPU_INDEX])


def _speedup_lines() -> list[tuple[str, str]]:
    """(page, command line) of every `speedup ...` the pages show, in blocks and inline."""
    found = []
    for page in PAGES:
        text = page.read_text()
        lines = [line for block in _fenced(text) for line in block.splitlines()]
        for line in [*lines, *_inline(text)]:
            line = line.split(" #")[0].strip().rstrip("\\").strip()
            if line.startswith("speedup "):
                found.append((page.name, line))
    return found


def _options(command: str | None) -> set[str]:
    parser = cli.build_parser(command)
    options = set(parser._option_string_actions)
    if command is None:
        return options
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = commands.choices[command]
    options |= set(sub._option_string_actions)
    for action in sub._actions:  # `speedup agent show`'s own options
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                options |= set(nested._option_string_actions)
    return options


def test_every_speedup_command_line_in_the_pages_is_one_the_cli_has():
    lines = _speedup_lines()
    assert len(lines) > 20  # the pages show many; none may slip past unparsed
    wrong = []
    for page, line in lines:
        words = shlex.split(line)[1:]
        command = cli._command(words)
        if command is not None and command not in cli.COMMANDS:
            wrong.append(f"{page}: `{line}`: no command {command!r}")
            continue
        options = _options(command)
        wrong += [f"{page}: `{line}`: {command} has no {word.split('=')[0]}"
                  for word in words
                  if word.startswith("-") and word.split("=")[0] not in options]
    assert not wrong, "\n".join(wrong)


_TOP_LEVEL = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")} | {
    ".ci", ".github"}


def _named_paths(page: Path) -> list[str]:
    """Repository paths the page names: inline code made of path characters only whose
    first part is a top-level folder of the checkout, and the targets of relative links."""
    text = page.read_text()
    spans = [s for s in _inline(text) if re.fullmatch(r"[\w.\-/]+", s) and "..." not in s
             and s.split("/")[0] in _TOP_LEVEL and "/" in s]
    links = [str((page.parent / target).resolve().relative_to(ROOT))
             for target in re.findall(r"\]\(([^)#:]+)\)", text)]
    return spans + links


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_path_a_page_names_exists(page):
    missing = [path for path in _named_paths(page) if not (ROOT / path).exists()]
    assert not missing, missing


def test_the_design_sections_that_source_cites_exist():
    design = (ROOT / "docs" / "design.md").read_text()
    sections = set(re.findall(r"^#{2,3} (.+)$", design, flags=re.M))
    cited, bare = [], []
    sources = [p for top in SOURCE_DIRS for p in (ROOT / top).rglob("*.py")]
    for path in sorted(sources):
        if path == Path(__file__).resolve():
            continue
        text = path.read_text()
        rel = path.relative_to(ROOT)
        cited += [(rel, name) for name in
                  re.findall(r"docs/design\.md(?:'s|,)?\s+\"([^\"]+)\"", text)]
        bare += [rel for _ in re.finditer(r"(?<![/\w])DESIGN\.md", text)]
    assert len(cited) >= 4, cited
    assert not [c for c in cited if c[1] not in sections], (cited, sorted(sections))
    assert not bare, f"cite docs/design.md and a section of it instead: {bare}"
