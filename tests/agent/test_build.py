"""Building a session needs no command line: agent/ raises its own ConfigError (the CLI
turns it into its one-line usage error) and imports nothing of the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import agent
from agent.launch.build import DEFAULT_MODEL, ConfigError, build_config, make_policy, resolve_run
from agent.policies.prices import PRICES

CLI_MODULES = ("speedup.cli", "speedup.ui", "speedup.commands", "speedup")


def _config(**kw):
    return build_config(kw.pop("policy", "claude"), preset="tiny", device="cpu", **kw)


def test_a_config_takes_the_defaults_it_is_not_given():
    config = _config(limits={"max_turns": 7, "max_dollars": None})
    assert config.model == DEFAULT_MODEL and config.price == PRICES[DEFAULT_MODEL]
    assert config.budgets.max_turns == 7 and config.budgets.max_dollars == 25.0
    assert config.thinking is None and config.eval_rounds == 3
    assert config.max_tokens is None and config.cache_ttl == "5m" and config.effort is None
    library = _config(policy="library", model="ignored")
    assert library.model is None and library.price.output == 0


@pytest.mark.parametrize("kw, needle", [
    ({"thinking": "500"}, "at least 1024"),
    ({"thinking": "9000", "max_tokens": 8000, "model": "claude-opus-4-5"},
     "must be below --max-tokens"),
    ({"thinking": "4000"}, "claude-sonnet-5-5 takes no thinking budget"),
    ({"thinking": "on", "model": "claude-haiku-4-5"}, "only with a token budget"),
    ({"thinking": "off", "model": "claude-opus-5-5"}, "always thinks"),
    ({"thinking": "off", "effort": "max", "model": "claude-opus-5"}, "effort high or lower"),
    ({"effort": "low", "model": "claude-haiku-4-5"}, "takes no effort parameter"),
    ({"effort": "xhigh", "model": "claude-opus-4-6"}, "takes low, medium, high, max"),
    ({"cache_ttl": "2h"}, "--cache-ttl wants one of 5m, 1h"),
    ({"model": "claude-mythos-preview"}, "no published price"),
    ({"max_tokens": 200_000}, "between 1 and 128,000"),
    ({"max_tokens": 100_000, "model": "claude-haiku-4-5"}, "between 1 and 64,000"),
    ({"policy": "replay"}, "needs --replay"),
])
def test_what_cannot_be_built_is_a_config_error(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        _config(**kw)


def test_claude_without_a_key_and_unknown_runs_are_config_errors(monkeypatch, tmp_path):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="needs ANTHROPIC_API_KEY"):
        make_policy(_config())
    with pytest.raises(ConfigError, match="no run 'nope'"):
        resolve_run(tmp_path, "nope")


def test_agent_imports_nothing_of_the_command_line():
    root = Path(agent.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.relative_to(root)}: {n}" for n in names
                      if any(n == m or n.startswith(m + ".") for m in CLI_MODULES)]
    assert found == []
