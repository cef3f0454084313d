"""bench.archive: the scored files and the transcript kept beside the records,
content-addressed, deterministic, and refused when what comes back is not what was scored."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from bench import archive
from correctness.solution import solution_hash


@pytest.fixture
def solution(tmp_path):
    d = tmp_path / "sol"
    (d / "pkg").mkdir(parents=True)
    (d / "solution.py").write_text("from .pkg.model import train\n")
    (d / "pkg" / "model.py").write_text("def train(): ...\n")
    (d / "__pycache__").mkdir()
    (d / "__pycache__" / "solution.cpython-311.pyc").write_bytes(b"\0cache")
    return d


def _members(path) -> list[str]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getnames()


def _rewrite(path, edit) -> None:
    """The archive at path with its members passed through edit(name, data) -> [(name,
    data, type)], written back."""
    with tarfile.open(path, "r:gz") as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in members:
            for new_name, new_data, kind in edit(name, data):
                info = tarfile.TarInfo(new_name)
                info.type, info.size = kind, len(new_data)
                if kind == tarfile.SYMTYPE:
                    info.linkname, info.size = "/etc/passwd", 0
                tar.addfile(info, io.BytesIO(new_data))
    path.write_bytes(raw.getvalue())


def test_an_archive_holds_exactly_the_hashed_files_and_comes_back_with_the_same_hash(
        solution, tmp_path):
    entry = archive.archive_solution(solution, tmp_path / "results")
    digest = solution_hash(solution)
    assert entry == {"path": f"solutions/{digest[7:]}.tar.gz", "hash": digest}
    path = tmp_path / "results" / entry["path"]
    assert _members(path) == ["pkg/model.py", "solution.py"]  # the cache left out
    out = archive.extract_solution(path, tmp_path / "out", digest)
    assert solution_hash(out) == digest
    assert (out / "pkg" / "model.py").read_text() == "def train(): ...\n"


def test_the_same_files_give_the_same_bytes_and_one_file(solution, tmp_path):
    first = archive.archive_solution(solution, tmp_path / "a")
    (solution / "pkg" / "model.py").touch()  # a new mtime: not part of the solution
    second = archive.archive_solution(solution, tmp_path / "b")
    assert first == second
    assert ((tmp_path / "a" / first["path"]).read_bytes()
            == (tmp_path / "b" / second["path"]).read_bytes())
    archive.archive_solution(solution, tmp_path / "a")
    assert len(list((tmp_path / "a" / "solutions").iterdir())) == 1


def test_a_damaged_archive_under_the_right_name_is_written_again(solution, tmp_path):
    entry = archive.archive_solution(solution, tmp_path)
    (tmp_path / entry["path"]).write_bytes(b"not a tar")
    archive.archive_solution(solution, tmp_path)
    archive.extract_solution(tmp_path / entry["path"], tmp_path / "out", entry["hash"])


@pytest.mark.parametrize("edit, why", [
    (lambda n, d: [(n, d + b"# edited\n" if n == "solution.py" else d, tarfile.REGTYPE)],
     "hash to"),
    (lambda n, d: [(n, d, tarfile.REGTYPE)] + ([("__pycache__/solution.cpython-311.pyc",
                                                 b"\0planted", tarfile.REGTYPE)]
                                                if n == "solution.py" else []),
     "a cache file"),
    (lambda n, d: [(n, d, tarfile.REGTYPE)] + ([("../escape.py", b"x = 1\n",
                                                 tarfile.REGTYPE)] if n == "solution.py" else []),
     "outside the solution"),
    (lambda n, d: [(n, d, tarfile.REGTYPE)] + ([("link.py", b"", tarfile.SYMTYPE)]
                                                if n == "solution.py" else []),
     "not a regular file"),
])
def test_a_tampered_archive_is_refused_in_one_line(solution, tmp_path, edit, why):
    entry = archive.archive_solution(solution, tmp_path)
    path = tmp_path / entry["path"]
    _rewrite(path, edit)
    with pytest.raises(archive.ArchiveError, match=why) as refused:
        archive.extract_solution(path, tmp_path / "out", entry["hash"])
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "escape.py").exists()


def test_a_solution_over_the_limit_is_not_kept_and_the_entry_says_why(solution, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(archive, "MAX_SOLUTION_BYTES", 10)
    entry = archive.archive_solution(solution, tmp_path)
    assert entry["path"] is None and entry["hash"] == solution_hash(solution)
    assert "over the archive's" in entry["why"]
    assert not (tmp_path / "solutions").exists()


def test_a_transcript_is_kept_compressed_and_checked_by_its_hash(tmp_path):
    transcript = tmp_path / "transcript.jsonl"
    transcript.write_text('{"event": "start"}\n' * 100)
    entry = archive.archive_transcript(transcript, tmp_path / "results")
    assert entry["hash"].startswith("sha256:") and entry["path"].endswith(".jsonl.gz")
    path = tmp_path / "results" / entry["path"]
    assert path.stat().st_size < transcript.stat().st_size
    assert archive.read_transcript(path, entry["hash"]) == transcript.read_bytes()
    path.write_bytes(gzip.compress(b'{"event": "start", "forged": true}\n', mtime=0))
    with pytest.raises(archive.ArchiveError, match="hashes to"):
        archive.read_transcript(path, entry["hash"])
