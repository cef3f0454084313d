"""What the kernel refuses is named as a refusal. A run that ends in the operating system's
permission error (EPERM, EACCES, EROFS: a seccomp rule, Landlock, a read-only bind, a
capability the run does not hold) failed because the sandbox refused what it tried, and
the verdict's check says so (`sandbox_denied`), so an agent's attempt shows among its
refused attempts (agent/session/tools.py) instead of passing for a crash."""

from __future__ import annotations

import errno

import pytest

from correctness.child.main import classify
from correctness.sandbox import run_solution
from correctness.sandbox.isolation import available_isolations


@pytest.mark.parametrize("error", [
    PermissionError(errno.EPERM, "Operation not permitted"),
    PermissionError(errno.EACCES, "Permission denied"),
    OSError(errno.EROFS, "Read-only file system"),
])
def test_a_permission_error_from_the_os_is_a_sandbox_denial(error):
    assert classify(error) == "sandbox_denied"


@pytest.mark.parametrize("error,check", [
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), "crash"),
    (OSError(errno.EIO, "Input/output error"), "crash"),
    (ValueError("Permission denied"), "crash"),  # only the OS's error, not its words
    (MemoryError(), "oom"),
])
def test_other_failures_keep_their_names(error, check):
    assert classify(error) == check


@pytest.mark.slow
@pytest.mark.parametrize("isolation", available_isolations())
def test_a_run_raising_its_own_priority_is_refused_by_the_kernel(isolation, tmp_path, short_cfg,
                                                                short_inputs):
    """A run may not raise its priority above the machine's other work (it would bend the
    clock). The scan would refuse `import os`; with it off, the audit hook has no event for
    nice(), so the kernel is what refuses: the child holds no capability under any level,
    as root too, and the verdict names the refusal."""
    (tmp_path / "solution.py").write_text(
        "import os\n\n\ndef train(cfg, init, tokens, batches):\n"
        "    os.nice(-10)\n    print('RAISED')\n")
    result = run_solution(tmp_path, short_cfg, short_inputs, static_scan=False,
                          isolation=isolation)
    assert (result.ok, result.check) == (False, "sandbox_denied"), result.message
    assert "Operation not permitted" in result.message and result.isolation == isolation
    assert "RAISED" not in result.output_tail
