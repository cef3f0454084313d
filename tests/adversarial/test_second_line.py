"""The second line: the interpreter-level guards (static scan, audit hook, launch policy)
against each path around them. Each exploit in solutions/ (its banner says which) uses
only what a solution may import, and each test shows every layer in turn: (a) the static
scan refuses it with the rule that names it; (b) with the scan off, the audit hook refuses
it where the hook can see it, under every isolation level this machine can produce; (c)
where the hook cannot see it (native writes, a process the hook is not in), with both off,
the kernel keeps the harm inside the run under every level that confines native code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from correctness.sandbox import run_script, run_solution
from correctness.sandbox.isolation import available_isolations
from correctness.static_scan import scan

SOLUTIONS = Path(__file__).parent / "solutions"
CHILD = Path(__file__).resolve().parents[2] / "correctness" / "child"
OFF = {"static_scan": False, "audit": False}
ORIGINAL = "original"


ISOLATIONS = available_isolations()  # every level this machine can give a run
CONFINING = [level for level in ISOLATIONS if level != "process"]  # the kernel's


def _armed(tmp_path: Path, name: str) -> tuple[Path, list[Path]]:
    """A copy of adversarial solution `name` with its victim.txt naming files outside the
    run (existing, holding ORIGINAL, except the FIFO's and node's, which must not appear);
    returns (the copy, the victims)."""
    copy = tmp_path / name
    shutil.copytree(SOLUTIONS / name, copy)
    outside = tmp_path / "outside"
    outside.mkdir()
    if name == "mkfifo_outside":
        victims = [outside / "planted-fifo", outside / "planted-node"]
        text = "\n".join(map(str, victims))
    else:
        victims = [outside / "victim.bin"]
        victims[0].write_text(ORIGINAL)
        text = str(victims[0])
    if name == "collect_env_launch":
        text = f"{sys.executable}\n{text}"
    (copy / "victim.txt").write_text(text)
    return copy, victims


def _untouched(victims: list[Path], name: str) -> bool:
    if name == "mkfifo_outside":
        return not any(os.path.lexists(v) for v in victims)
    return all(v.read_bytes() == ORIGINAL.encode() for v in victims)


# ---------------------------------------------------------------------------- (a) the scan

SCANNED = [
    ("mkfifo_outside", "attribute", "collections._sys is the module sys"),
    ("storage_from_file", "forbidden_call", "torch.UntypedStorage.from_file"),
    ("torch_save_outside", "forbidden_call", "torch.save"),
    ("getattr_alias", "attribute", "getattr used as a value"),
    ("private_module_alias", "attribute", "random._os is the module os"),
    ("collect_env_launch", "forbidden_call", "torch.utils.collect_env"),
]


@pytest.mark.parametrize("name,rule,words", SCANNED)
def test_the_scan_refuses_what_a_name_refers_to(name, rule, words, tmp_path, short_cfg,
                                                short_inputs):
    solution, victims = _armed(tmp_path, name)
    found = scan(solution)
    assert any(f.rule == rule and words in f.message for f in found), found
    result = run_solution(solution, short_cfg, short_inputs)
    assert (result.ok, result.check) == (False, "static_scan")
    assert f"[{rule}]" in result.message and words in result.message
    assert _untouched(victims, name)


# ---------------------------------------------------------------------------- (b) the hook

HOOKED = [
    ("getattr_alias", "open", "writes outside the sandbox"),
    ("private_module_alias", "open", "writes outside the sandbox"),
    ("collect_env_launch", "subprocess.Popen", "Inductor's ISA probe"),
]


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("name,event,why", HOOKED)
def test_with_the_scan_off_the_hook_refuses_it(name, event, why, isolation, tmp_path,
                                               short_cfg, short_inputs):
    solution, victims = _armed(tmp_path, name)
    result = run_solution(solution, short_cfg, short_inputs, static_scan=False,
                          isolation=isolation)
    assert (result.check, result.isolation) == ("forbidden_call", isolation), result.message
    assert any(r["event"] == event and why in r["why"] for r in result.refused), result.refused
    assert _untouched(victims, "")


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_code_run_inside_the_hook_gets_nothing_through(isolation, tmp_path, short_cfg,
                                                       short_inputs):
    """EXPLOIT hook_reentry: only builtins, so the scan passes it and the full check (scan
    on) leaves the hook alone to refuse it."""
    solution, victims = _armed(tmp_path, "hook_reentry")
    assert scan(solution) == []
    result = run_solution(solution, short_cfg, short_inputs, isolation=isolation)
    assert result.check == "forbidden_call", result.message
    assert any(r["event"] == "open" and "not a plain str" in r["why"]
               for r in result.refused), result.refused
    assert "REENTRY WRITE" not in result.output_tail
    assert _untouched(victims, "hook_reentry")


@pytest.mark.slow
def test_run_python_cannot_rewrite_the_users_tolerances(tmp_path, monkeypatch):
    """EXPLOIT tolerances_by_script, the worst case: the agent's run_python tool runs a
    workspace script under process isolation (forced the way a machine without bwrap
    gets it), the scan on, and the script aims at the user's calibrated thresholds."""
    from correctness import tolerances
    from correctness.sandbox import isolation as iso

    forced = iso.Isolation("process", "forced by the test")
    monkeypatch.setattr(iso, "detect_isolation", lambda: forced)
    user = tolerances.user_path()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text('{"calibrated": "by the user"}')
    before = user.read_bytes()
    workspace = tmp_path / "workspace"
    shutil.copytree(SOLUTIONS / "tolerances_by_script", workspace)
    assert scan(workspace) == []
    result = run_script(workspace, "rewrite.py", [str(user)], "cpu", run_timeout=120)
    assert (result.check, result.isolation) == ("forbidden_call", "process"), result.message
    assert any("not a plain str" in r["why"] for r in result.refused), result.refused
    assert "TOLERANCES REWRITTEN" not in result.output_tail
    assert user.read_bytes() == before


# ---------------------------------------------------------------------------- (c) the kernel

UNSEEN = ["mkfifo_outside", "storage_from_file", "torch_save_outside", "collect_env_launch"]


@pytest.mark.slow
@pytest.mark.parametrize("isolation", CONFINING)
@pytest.mark.parametrize("name", UNSEEN)
def test_what_the_hook_cannot_see_stays_inside_the_run(name, isolation, tmp_path, short_cfg,
                                                       short_inputs):
    solution, victims = _armed(tmp_path, name)
    result = run_solution(solution, short_cfg, short_inputs, **OFF, isolation=isolation)
    assert result.ok and result.isolation == isolation, result.message
    assert _untouched(victims, name), result.output_tail


# ---------------------------------------------------------------------------- the hook's reads

HOOK_DRIVER = textwrap.dedent('''
    import json, os, shutil, sys
    sys.path.insert(0, {child!r})
    from audit import AuditHook
    tmp, victim = {tmp!r}, {victim!r}
    config = {{"read_roots": ["/"], "write_roots": [tmp + "/work"], "deny_roots": [],
              "site_dirs": [], "launcher_roots": [], "untrusted_roots": [tmp]}}
    refused = []
    sys.addaudithook(AuditHook(config, lambda kind, payload: refused.append(payload)))

    def harm():
        with open(victim, "w") as f:
            f.write("PWNED")
        return True
''')
# name -> code that hands the hook an argument whose methods are the solution's
FOREIGN = {
    # shutil.rmtree audits its path as given; the hook asked the object for its path
    "fspath": "class P:\n"
              "    def __fspath__(self):\n"
              "        harm()\n"
              "        return tmp + '/work/p'\n"
              "os.mkdir(tmp + '/work/p')\n"
              "shutil.rmtree(P())",
    # shutil.rmtree audits its dir_fd as given; the hook compared and formatted it
    "dir_fd": "class Fd(int):\n"
              "    def __ge__(self, other):\n"
              "        return harm()\n"
              "fd = os.open(tmp + '/work', os.O_RDONLY)\n"
              "os.mkdir(tmp + '/work/d')\n"
              "shutil.rmtree('d', dir_fd=Fd(fd))",
    # a path whose str methods lie: the hook's realpath slices it
    "str_methods": "class S(str):\n"
                   "    def __getitem__(self, index):\n"
                   "        harm()\n"
                   "        return str.__getitem__(str(self), index)\n"
                   "open(S(tmp + '/work/y'), 'w').close()",
}


@pytest.mark.parametrize("name", FOREIGN)
def test_the_hook_never_runs_code_it_did_not_write(name, tmp_path):
    """Under the real hook in a fresh interpreter: each argument is refused as what it is,
    and the harm its methods would do from inside the hook never happens."""
    (tmp_path / "work").mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text(ORIGINAL)
    code = HOOK_DRIVER.format(child=str(CHILD), tmp=str(tmp_path), victim=str(victim))
    code += "try:\n" + textwrap.indent(FOREIGN[name], "    ") + "\nexcept Exception:\n    pass\n"
    code += "print(json.dumps(refused))\n"
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    refused = json.loads(done.stdout.strip().splitlines()[-1])
    assert victim.read_text() == ORIGINAL
    assert any("not a plain" in r["why"] for r in refused), refused
