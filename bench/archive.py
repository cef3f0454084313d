"""The archive beside the records: the exact files an official evaluation scored, and an
agent's transcript, kept in the results folder so a record can be re-run after runs/ is gone
(`speedup verify`, bench/verify.py).

    <results>/solutions/<hex>.tar.gz     the solution's files; <hex>: its solution_hash
    <results>/transcripts/<hex>.jsonl.gz an agent's transcript; <hex>: sha256 of its bytes

Content-addressed, so the same code scored twice (a shipped solution benched on every
track, a resumed session) is one file. The solution's files are exactly what its hash
covers (correctness.solution.solution_files: caches left out), so extracting an archive
and hashing the result must give the record's `solution_hash`: that is the tamper check,
and nothing else about an archive is trusted.

Why one deterministic .tar.gz per solution rather than a directory of files: committed
copies of our shipped solutions (and agents' edits of the baseline) would be Python source
in the tree, read by ruff, by every code search, by duplicate-code scans (each shipped
solution twice) and by anything that imports or collects from the tree; a compressed tar is
one opaque file a few KB long. The extractor can refuse what a directory could not: a
member the hash would skip (a planted `__pycache__/*.pyc` that Python would run, unhashed),
a link, a path outside the folder, too many files or bytes. Members are written sorted,
with zero times, owners and a fixed mode, and gzip's own time and name left out, so the
same files give the same bytes with the same zlib; a name that exists is kept when its
contents check out, so a committed archive is never rewritten.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path, PurePosixPath

from correctness.solution import is_cache, solution_files, solution_hash

SOLUTIONS, TRANSCRIPTS = "solutions", "transcripts"
# Above an agent workspace's cap (agent/session/workspace.py), so every state an agent can
# hand in is kept, and 150x the largest solution we ship (solutions/range_cpp, 53 KB).
MAX_SOLUTION_BYTES = 8 << 20
MAX_SOLUTION_FILES = 1000
# A transcript holds every file the agent wrote and every tool result: a long session's
# is tens of MB; larger ones are not kept (the record says so).
MAX_TRANSCRIPT_BYTES = 256 << 20


class ArchiveError(ValueError):
    """An archive that is missing, tampered with or malformed; the message says which."""


def _hex(digest: str) -> str:
    return digest.removeprefix("sha256:")


def _entry(rel: str, digest: str) -> dict:
    return {"path": rel, "hash": digest}


def _not_kept(digest: str, why: str) -> dict:
    return {"path": None, "hash": digest, "why": why}


# ---------------------------------------------------------------------------- writing

def _tar_bytes(root: Path, files: list[Path]) -> bytes:
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _write_once(path: Path, data: bytes, intact) -> None:
    """Write `data` at `path` unless a file there passes `intact(path)`; whole or not at all."""
    if path.is_file() and not path.is_symlink():
        try:
            if intact(path):
                return
        except ArchiveError:
            pass  # a damaged copy under the right name: replaced by the good one
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def archive_solution(solution_dir: str | os.PathLike, results_dir: str | os.PathLike) -> dict:
    """Keep the solution's files in results_dir; the record's `archive.solution`: the
    archive's path relative to results_dir and the solution hash, or, over the limits,
    `path` null and `why`."""
    root = Path(solution_dir)
    digest, files = solution_hash(root), solution_files(root)
    size = sum(p.stat().st_size for p in files)
    if size > MAX_SOLUTION_BYTES or len(files) > MAX_SOLUTION_FILES:
        return _not_kept(digest, f"{len(files)} files, {size:,} bytes: over the archive's "
                                 f"{MAX_SOLUTION_FILES} files or {MAX_SOLUTION_BYTES:,} bytes")
    rel = f"{SOLUTIONS}/{_hex(digest)}.tar.gz"
    target = Path(results_dir) / rel

    def intact(path: Path) -> bool:
        with _scratch() as scratch:
            extract_solution(path, scratch, digest)
        return True

    _write_once(target, _tar_bytes(root, files), intact)
    return _entry(rel, digest)


def archive_transcript(transcript: str | os.PathLike, results_dir: str | os.PathLike) -> dict:
    """Keep an agent's transcript, compressed, in results_dir; the record's
    `archive.transcript` (as archive_solution's). Its hash is of the bytes read here, the
    ones kept, so it matches the archive even if the session appends later."""
    data = Path(transcript).read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if len(data) > MAX_TRANSCRIPT_BYTES:
        return _not_kept(digest, f"{len(data):,} bytes: over the archive's "
                                 f"{MAX_TRANSCRIPT_BYTES:,}")
    rel = f"{TRANSCRIPTS}/{_hex(digest)}.jsonl.gz"
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(data)
    _write_once(Path(results_dir) / rel, raw.getvalue(),
                lambda path: read_transcript(path, digest) is not None)
    return _entry(rel, digest)


# ---------------------------------------------------------------------------- reading

def _scratch():
    import tempfile

    return tempfile.TemporaryDirectory(prefix="speedup-archive-")


def _regular(path: Path) -> Path:
    if path.is_symlink() or not path.is_file():
        raise ArchiveError(f"{path}: missing (or not a regular file)")
    return path


def _member_path(info: tarfile.TarInfo) -> PurePosixPath:
    rel = PurePosixPath(info.name)
    if not info.isreg():
        raise ArchiveError(f"{info.name}: not a regular file")
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ArchiveError(f"{info.name}: a path outside the solution's folder")
    if is_cache(rel):
        raise ArchiveError(f"{info.name}: a cache file, which the solution hash leaves out")
    return rel


def extract_solution(archive: str | os.PathLike, into: str | os.PathLike,
                     expected_hash: str) -> Path:
    """The archive's files written into `into` (a new or empty folder), checked: every
    member a regular file inside the folder and not a cache, within the size limits, and
    the files' solution_hash equal to `expected_hash`. ArchiveError, one line, otherwise."""
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    total, seen = 0, set()
    try:
        with tarfile.open(_regular(Path(archive)), mode="r:gz") as tar:
            for info in tar:
                rel = _member_path(info)
                total += info.size
                if rel in seen or len(seen) >= MAX_SOLUTION_FILES or total > MAX_SOLUTION_BYTES:
                    raise ArchiveError(f"{info.name}: a repeated member, or over the "
                                       "archive's limits")
                seen.add(rel)
                target = into.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(info) as src, open(target, "xb") as dst:
                    dst.write(src.read(info.size + 1)[: info.size])
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ArchiveError(f"{archive}: not a readable archive ({e})") from None
    found = solution_hash(into)
    if found != expected_hash:
        raise ArchiveError(f"{archive}: its files hash to {found}, not {expected_hash}")
    return into


def read_transcript(archive: str | os.PathLike, expected_hash: str) -> bytes:
    """The transcript's bytes, checked against `expected_hash`; ArchiveError otherwise."""
    try:
        with gzip.open(_regular(Path(archive)), "rb") as gz:
            data = gz.read(MAX_TRANSCRIPT_BYTES + 1)
    except (OSError, EOFError) as e:
        raise ArchiveError(f"{archive}: not a readable archive ({e})") from None
    found = "sha256:" + hashlib.sha256(data).hexdigest()
    if len(data) > MAX_TRANSCRIPT_BYTES or found != expected_hash:
        raise ArchiveError(f"{archive}: its transcript hashes to {found}, not {expected_hash}")
    return data
