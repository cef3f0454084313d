"""Shared fixtures. Triton runs through its interpreter on machines without CUDA, so every
kernel is testable on a laptop CPU; the variable must be set before triton is imported."""

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

import pytest

try:
    import torch

    _has_cuda = torch.cuda.is_available()
except ImportError:  # pragma: no cover - torch is a hard dependency
    _has_cuda = False
if not _has_cuda:
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(scope="session")
def tiny_cfg() -> dict:
    from baseline import get_preset

    return get_preset("tiny").to_cfg("cpu")


@pytest.fixture(scope="session")
def tiny_inputs(tiny_cfg) -> dict:
    from baseline import make_inputs

    return make_inputs(tiny_cfg, seed=1234)


@pytest.fixture(scope="session")
def tiny_reference(tiny_cfg, tiny_inputs) -> dict:
    """The baseline's in-process run on tiny: what every solution must reproduce."""
    from baseline import train

    return train(tiny_cfg, **tiny_inputs)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """In-process training and evaluation run on one torch thread, in every test: at the
    tests' shapes a second thread gains nothing, and on a shared 2-core machine it mostly
    spin-waits, which can make an in-process training tens of times slower. A test that
    times threads sets its own count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def one_thread_children():
    """Sandboxed children inherit OMP_NUM_THREADS: on a shared 2-core machine torch's
    second thread mostly spin-waits (a tiny baseline child: 30 s with 2 threads, 5 s with
    one), and `tiny` gains nothing from it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        yield


@pytest.fixture(scope="session")
def short_cfg(tiny_cfg) -> dict:
    """10 steps: every runtime defence fires long before the end of a run."""
    return {**tiny_cfg, "steps": 10}


@pytest.fixture(scope="session")
def short_inputs(short_cfg) -> dict:
    from baseline import make_inputs

    return make_inputs(short_cfg, seed=77)


@pytest.fixture(autouse=True)
def user_data_home(tmp_path_factory, monkeypatch):
    """Thresholds a test calibrates go to a fresh XDG_DATA_HOME (subprocesses inherit it),
    never into the real ~/.local/share."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture
def quick_ceilings(tmp_path_factory, monkeypatch):
    """This machine's ceilings, which records price their runs against, measured small (a
    64^3 matmul, each step shape for 2 ms) into a fresh XDG_CACHE_HOME: measured at full
    size they take seconds, and a ceiling measured beside a test suite is too low to keep."""
    from bench import roofline, shape_ceiling

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    ceiling, shapes = roofline.measure_ceiling, shape_ceiling.measure_shapes
    monkeypatch.setattr(roofline, "measure_ceiling", lambda device, **kw: ceiling(
        device, matmul_n=64, copy_bytes=1 << 16, repeats=2))
    monkeypatch.setattr(shape_ceiling, "measure_shapes", lambda cfg, preset, device, **kw:
                        shapes(cfg, preset, device, seconds=0.002))


@pytest.fixture(autouse=True)
def no_shipped_records(tmp_path_factory, monkeypatch):
    """The leaderboard reads the project's shipped records beside a user's (bench/records.py):
    a test sees only the records it makes, unless it ships some itself (shippedfakes.py)."""
    from bench import records

    monkeypatch.setattr(records, "SHIPPED_DIR", tmp_path_factory.mktemp("shipped-results"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Under pytest-xdist (the README's `-n 2`), a test marked `quiet_machine` has the machine
    to itself, and the others share it. Those tests time real sandboxed runs through the
    clock, which re-runs a round another process disturbed (bench/contention.py): beside a
    second worker they would test its busy-machine path, not the one a user's quiet machine
    takes, and take twice as long. The lock spans the test's whole protocol, so a module's
    fixtures (a compile, an embedded Ray) set up or torn down for it are inside it too."""
    # An xdist worker's config carries its workerinput; a pytest that a test starts (gpu_check
    # runs some) inherits the worker's environment but is no worker, and must not wait.
    worker = getattr(item.config, "workerinput", None)
    with _machine_share(worker and worker["testrunuid"],
                        item.get_closest_marker("quiet_machine") is not None):
        yield


@contextlib.contextmanager
def _machine_share(run: str | None, alone: bool):
    """A readers-writer lock over the workers' run `run` (xdist's test run id): a quiet test
    closes the turnstile, so no test starts after it, then waits for the running one to end.
    Without xdist (None) there is nothing to share."""
    if run is None:
        yield
        return
    folder = Path(tempfile.gettempdir()) / f"speedup-tests-{run}"
    folder.mkdir(exist_ok=True)
    with open(folder / "turnstile.lock", "a") as turnstile, \
            open(folder / "machine.lock", "a") as machine:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        if not alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        fcntl.flock(machine, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(machine, fcntl.LOCK_UN)
