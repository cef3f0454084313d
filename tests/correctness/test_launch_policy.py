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
    # Inductor: the compiler found on PATH by name
    "gxx_version": "subprocess.check_output(['g++', '--version'])",
    "openssl": "subprocess.run(['openssl', 'sha512', sys.executable], capture_output=True)",
    # cpp_extension: ninja in the build directory
    "ninja": "subprocess.run([tool('ninja'), '-v'], stdout=subprocess.PIPE, "
             "stderr=subprocess.STDOUT, cwd=tmp, check=True, env=dict(os.environ))",
    "exec": "os.execv(tool('ptxas'), ['ptxas'])",  # allowed, it would replace the driver
    "posix_spawn": "os.waitpid(os.posix_spawn(tool('ptxas'), ['ptxas'], dict(os.environ)), 0)",
    # what no library needs
    "shell": "subprocess.run([tool('sh'), '-c', 'true'])",
    # torch/_inductor/cpu_vec_isa.py, VecISA._probe_load: this interpreter dlopens the
    # library Inductor compiled (it exits 1 here: there is no such library)
    "isa_probe": "subprocess.run([sys.executable, '-c', PROBE.replace('__lib_path__', "
                 "tmp + '/work/probe.so')], stderr=subprocess.DEVNULL)",
    # torch.utils.collect_env.run and the like: this interpreter running any code
    "python_code": "subprocess.run([sys.executable, '-c', 'pass'])",
    # the probe's library path closing the string to run code of its own
    "probe_injected": "subprocess.run([sys.executable, '-c', PROBE.replace('__lib_path__', "
                      "'x\")\\nprint(\"injected')])",
    # a program whose str methods say it is a compiler
    "lying_name": "subprocess.run([Liar(tool('sh')), '-c', 'true'])",
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

    PROBE = """
    import sys
    if sys.platform != "linux":
        import torch  # noqa: F401
    from ctypes import cdll
    cdll.LoadLibrary("__lib_path__")
    """

    def tool(name):
        return tmp + "/bin/" + name


    class Liar(str):
        def rfind(self, *args):
            return len(self) - 3

        def __getitem__(self, index):
            return "gcc" if isinstance(index, slice) else str.__getitem__(str(self), index)

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
                        ("site/torch/_inductor", "cpu_vec_isa"),
                        ("solution", "solution_launcher"), ("work", "written_launcher")):
        (tmp / where).mkdir(parents=True)
        (tmp / where / f"{name}.py").write_text(_module(tmp))
    for package in ("torch", "triton", "torch/_inductor"):
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


COMPILERS = ["ptxas_compile", "ptxas_version", "ptxas_blackwell", "file", "cc_build", "ldconfig",
             "gxx_version", "openssl", "ninja", "posix_spawn"]


@pytest.mark.parametrize("name", COMPILERS)
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


def test_only_inductors_isa_probe_may_start_this_interpreter(tree):
    """The probe, from the file that makes it, runs; the same interpreter started from
    anywhere else in torch (torch.utils.collect_env.run, say) would run without the hook."""
    probe = _launch(tree, "torch._inductor.cpu_vec_isa", "isa_probe")
    assert probe == {"outcome": "ran", "refused": []}, probe
    for module, name in (("torch.launcher", "isa_probe"), ("torch.launcher", "python_code"),
                         ("torch._inductor.cpu_vec_isa", "python_code"),
                         ("torch._inductor.cpu_vec_isa", "probe_injected")):
        result = _launch(tree, module, name)
        assert result["outcome"] != "ran", (module, name)
        assert any("ISA probe" in r["why"] for r in result["refused"]), result


def test_a_program_is_read_from_its_characters_not_its_methods(tree):
    """A str subclass whose methods call `sh` `gcc`: refused as what it is."""
    result = _launch(tree, "torch.launcher", "lying_name")
    assert result["outcome"] != "ran"
    assert any("not a plain str" in r["why"] for r in result["refused"]), result
