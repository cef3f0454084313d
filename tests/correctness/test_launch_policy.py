"""The sandbox's one process policy, fed by CPython itself: each way Triton, Inductor and
cpp_extension start their compilers is replayed from a module placed where the policy
looks for torch and triton, with stub executables, under the real audit hook in a fresh
interpreter of this environment (a virtual environment in CI). Whatever path CPython
takes (fork/exec inside subprocess, os.posix_spawn, os.exec*), the verdict depends only on
who called and what is started."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHILD = Path(__file__).resolve().parents[2] / "correctness" / "child"

# name -> the call, as the library makes it (`tool` is the stub's absolute path).
LAUNCHES = {
    # triton/backends/nvidia/compiler.py, cubin: an absolute path, close_fds=False and stderr
    # to a file, which CPython routes through os.posix_spawn
    "ptxas_compile": "subprocess.run([tool('ptxas'), '-v', 'x.ptx'], check=True, "
                     "close_fds=False, stderr=open(log, 'w'))",
    # triton: ptxas --version (sm_90+ on Triton 3.9: ptxas-blackwell); its C launcher built
    # with the C compiler; libcuda located; platform.architecture() running `file`
    "ptxas_version": "subprocess.check_output([tool('ptxas'), '--version'])",
    "ptxas_blackwell": "subprocess.check_output([tool('ptxas-blackwell'), '--version'], "
                       "stderr=subprocess.STDOUT)",
    "file": "subprocess.check_output(['file', '-b', sys.executable], "
            "stderr=subprocess.DEVNULL, env=dict(os.environ, LC_ALL='C'))",
    "cc_build": "subprocess.check_call([tool('gcc'), 'main.c', '-shared'], "
                "stdout=subprocess.DEVNULL)",
    "ldconfig": "subprocess.check_output([tool('ldconfig'), '-p'])",
    # Inductor: the compiler found on PATH by name; the test-load of compiled code
    "gxx_version": "subprocess.check_output(['g++', '--version'])",
    "python_test_load": "subprocess.check_output([sys.executable, '-c', 'pass'])",
    "openssl": "subprocess.run(['openssl', 'sha512', sys.executable], capture_output=True)",
    # cpp_extension: ninja in the build directory
    "ninja": "subprocess.run([tool('ninja'), '-v'], stdout=subprocess.PIPE, "
             "stderr=subprocess.STDOUT, cwd=tmp, check=True, env=dict(os.environ))",
    "exec": "os.execv(tool('ptxas'), ['ptxas'])",  # allowed, it would replace the driver
    "posix_spawn": "os.waitpid(os.posix_spawn(tool('ptxas'), ['ptxas'], dict(os.environ)), 0)",
    # what no library needs
    "shell": "subprocess.run([tool('sh'), '-c', 'true'])",
}
DRIVER = textwrap.dedent('''
    import json, os, sys
    sys.path.insert(0, {child!r})
    from audit import AuditHook
    tmp = {tmp!r}
    config = {{"read_roots": ["/"], "write_roots": [tmp, "/dev/null"], "deny_roots": [],
              "site_dirs": [tmp + "/site"], "launcher_roots": [tmp + "/site/torch",
              tmp + "/site/triton"], "untrusted_roots": [tmp + "/solution", tmp + "/work"]}}
    refused = []
    sys.addaudithook(AuditHook(config, lambda kind, payload: refused.append(payload)))
    sys.path[:0] = [tmp + "/site", tmp + "/solution", tmp + "/work"]
    import importlib
    module = importlib.import_module({module!r})
    try:
        module.launch({name!r})
        outcome = "ran"
    except Exception as e:
        outcome = f"{{type(e).__name__}}: {{e}}"
    print(json.dumps({{"outcome": outcome, "refused": refused}}))
''')
MODULE = textwrap.dedent('''
    import os, subprocess, sys
    tmp = {tmp!r}
    log = tmp + "/ptxas.log"

    def tool(name):
        return tmp + "/bin/" + name

    def launch(name):
        globals()["launch_" + name]()
''')


def _module(tmp: Path) -> str:
    """The launcher module: one plain function per launch (real frames in this file)."""
    functions = "".join(f"\ndef launch_{name}():\n    {call}\n" for name, call in LAUNCHES.items())
    return MODULE.format(tmp=str(tmp)) + functions


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("launch")
    (tmp / "bin").mkdir()
    for name in ("ptxas", "ptxas-blackwell", "gcc", "g++", "ldconfig", "file", "ninja",
                 "openssl", "sh"):
        stub = tmp / "bin" / name
        stub.write_text(f"#!/bin/sh\necho {name} >> {tmp}/ran.log\n")
        stub.chmod(0o755)
    for where, name in (("site/torch", "launcher"), ("site/triton", "launcher"),
                        ("solution", "solution_launcher"), ("work", "written_launcher")):
        (tmp / where).mkdir(parents=True)
        (tmp / where / f"{name}.py").write_text(_module(tmp))
    for package in ("torch", "triton"):
        (tmp / "site" / package / "__init__.py").write_text("")
    return tmp


def _launch(tree: Path, module: str, name: str) -> dict:
    import json

    env = {"PATH": f"{tree}/bin:/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-I", "-c",
                           DRIVER.format(child=str(CHILD), tmp=str(tree), module=module,
                                         name=name)],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tree)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", [n for n in LAUNCHES if n not in ("shell", "exec")])
@pytest.mark.parametrize("library", ["torch", "triton"])
def test_a_library_may_start_its_compiler_by_any_path(tree, library, name):
    result = _launch(tree, f"{library}.launcher", name)
    assert result == {"outcome": "ran", "refused": []}, result


@pytest.mark.parametrize("module", ["solution_launcher", "written_launcher"])
@pytest.mark.parametrize("name", ["ptxas_compile", "gxx_version", "exec", "posix_spawn"])
def test_the_solution_may_start_nothing_by_any_path(tree, module, name):
    """written_launcher: a module the solution wrote into its work directory, imported."""
    result = _launch(tree, module, name)
    assert result["outcome"] != "ran"
    assert any("not torch or triton" in r["why"] for r in result["refused"]), result


def test_a_library_may_not_start_a_shell(tree):
    result = _launch(tree, "torch.launcher", "shell")
    assert result["outcome"] != "ran"
    assert any("only compiler tools" in r["why"] for r in result["refused"]), result
