"""The judge's file handling of run-controlled paths (correctness/sandbox/boundary.py) and
the status pipe's bounds, on files and trees made here the way a run could make them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from correctness.sandbox import boundary
from correctness.sandbox.boundary import BoundaryError
from correctness.sandbox.processes import ChannelError, LineReader


@pytest.fixture
def folder(tmp_path):
    """(path, descriptor) of a directory the judge opened itself."""
    path = tmp_path / "run"
    path.mkdir()
    fd = boundary.open_dir(path)
    yield path, fd
    os.close(fd)


# ---------------------------------------------------------------------------- reads

def test_a_regular_file_is_read_within_its_limit(folder):
    path, fd = folder
    (path / "a.json").write_text('{"losses": [1.5, 2]}')
    assert boundary.read_json(fd, "a.json", 100) == {"losses": [1.5, 2]}
    with pytest.raises(BoundaryError, match="over its limit of 10 bytes"):
        boundary.read_file(fd, "a.json", 10)
    with pytest.raises(boundary.MissingFile, match="does not exist"):
        boundary.read_file(fd, "gone.json", 10)


def test_what_is_not_a_regular_file_is_refused_without_blocking(folder, tmp_path):
    path, fd = folder
    (tmp_path / "secret").write_text("hunter2")
    os.symlink("/proc/self/environ", path / "environ")
    os.symlink(tmp_path / "secret", path / "secret")
    os.link(tmp_path / "secret", path / "hardlink")
    os.mkfifo(path / "fifo")
    (path / "dir").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path / "sock"))
    cases = {"environ": "a symlink", "secret": "a symlink", "hardlink": "2 hard links",
             "fifo": "a FIFO", "dir": "a directory", "sock": "cannot be opened",
             "../run/dir": "not a plain file name"}
    for name, why in cases.items():
        with pytest.raises(BoundaryError, match=why):
            boundary.read_file(fd, name, 1 << 20)
    server.close()


def test_json_nesting_is_limited_before_the_parser_runs():
    depth = boundary.MAX_JSON_DEPTH
    assert boundary.parse_json("[" * depth + "]" * depth) is not None
    with pytest.raises(BoundaryError, match="nested deeper"):
        boundary.parse_json("[" * (depth + 1) + "]" * (depth + 1))
    with pytest.raises(BoundaryError, match="nested deeper"):
        boundary.parse_json("[" * 5000)  # RecursionError in json.loads
    with pytest.raises(BoundaryError, match="nested deeper"):
        boundary.parse_json('{"a": ' * 3000 + "1" + "}" * 3000)
    text = '{"a": "[[[[{{{{ \\" [[[", "b": [[{"c": "]]]]"}]]}'
    assert boundary.parse_json(text, max_depth=4) == {"a": '[[[[{{{{ " [[[',
                                                      "b": [[{"c": "]]]]"}]]}
    with pytest.raises(BoundaryError, match="not JSON"):
        boundary.parse_json('{"a": }')


def test_the_tail_is_read_through_the_descriptor_whatever_the_name_became(folder,
                                                                          monkeypatch):
    path, fd = folder
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-not-for-the-log")
    log = boundary.create_file(fd, "output.log", os.O_RDWR, 0o600)
    try:
        os.write(log, b"x" * 5000 + b"\x1b[8mlast line\r\n")
        os.remove(path / "output.log")
        os.symlink("/proc/self/environ", path / "output.log")
        text = boundary.tail(log, 100)
    finally:
        os.close(log)
    assert text.endswith("last line\n") and len(text) <= 100 and "sk-not" not in text


# ---------------------------------------------------------------------------- writes

@pytest.mark.parametrize("plant", ["symlink", "fifo", "file"])
def test_a_write_never_goes_through_a_planted_name(folder, tmp_path, plant):
    path, fd = folder
    victim = tmp_path / "victim"
    victim.write_text("original")
    {"symlink": lambda p: os.symlink(victim, p), "fifo": os.mkfifo,
     "file": lambda p: p.write_text("planted")}[plant](path / "cases.json")
    with pytest.raises(BoundaryError, match="already exists"):
        boundary.write_file(fd, "cases.json", b"[1, 2]")
    assert victim.read_text() == "original"
    boundary.write_file(fd, "fresh.json", b"[1, 2]")
    assert (path / "fresh.json").read_bytes() == b"[1, 2]"


# ---------------------------------------------------------------------------- removal

def _deep_tree(top: Path, outside: Path, depth: int) -> None:
    """What a run can leave: a tree `depth` levels deep, every 50th level made unreadable
    and unwritable, symlinks out of it at every level, a FIFO and a socket."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(top / "sock"))
    server.close()
    os.mkfifo(top / "fifo")
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for level in range(depth):
        os.symlink(outside, "outside", dir_fd=fd)
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        if level % 50 == 49:
            os.chmod(fd, 0o000)
        os.close(fd)
        fd = child
    os.close(fd)


# Run without any capability, so permissions bind the judge's process as they bind an
# unprivileged user's, and with at most 16 files open.
WITHOUT_PRIVILEGE = """
import ctypes, resource, sys
if __import__("os").geteuid() == 0:
    ctypes.CDLL(None).capset((ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)())
resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
from correctness.sandbox.boundary import remove_tree
print(remove_tree(sys.argv[1]))
"""


@pytest.mark.slow
def test_any_tree_a_run_can_make_is_removed(tmp_path):
    top, outside = tmp_path / "run", tmp_path / "outside"
    top.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    _deep_tree(top, outside, 1500)
    os.chmod(top, 0o500)
    done = subprocess.run([sys.executable, "-c", WITHOUT_PRIVILEGE, str(top)],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.stdout.strip() == "True", done.stderr
    assert not os.path.lexists(top)
    assert (outside / "keep.txt").read_text() == "keep"


def test_removing_a_symlink_in_place_of_the_tree_removes_only_the_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    os.symlink(outside, tmp_path / "run")
    assert boundary.remove_tree(tmp_path / "run")
    assert (outside / "keep.txt").read_text() == "keep"


# ---------------------------------------------------------------------------- cache copies

def test_a_cache_copy_holds_regular_files_and_directories_only(tmp_path):
    src, dst = tmp_path / "cache", tmp_path / "copy"
    (src / "kernels" / "abc").mkdir(parents=True)
    (src / "kernels" / "abc" / "k.so").write_bytes(b"\x7fELF" + b"\0" * 100)
    os.utime(src / "kernels" / "abc" / "k.so", ns=(1_000_000_000, 2_000_000_000))
    os.mkfifo(src / "kernels" / "fifo")
    os.symlink("/etc", src / "etc")
    os.symlink("/etc/passwd", src / "kernels" / "passwd")
    with open(src / "sparse", "wb") as f:
        f.truncate(1 << 30)
    (src / "a" / "b" / "c").mkdir(parents=True)
    (src / "a" / "b" / "c" / "deep.txt").write_text("deep")
    size, files, notes = boundary.copy_tree(src, dst, budget=1 << 20, max_files=10,
                                            max_depth=2)
    assert (size, files) == (104, 1)
    assert (dst / "kernels" / "abc" / "k.so").read_bytes() == (src / "kernels" / "abc"
                                                               / "k.so").read_bytes()
    assert (dst / "kernels" / "abc" / "k.so").stat().st_mtime_ns == 2_000_000_000
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*")) == [
        "a", "a/b", "kernels", "kernels/abc", "kernels/abc/k.so"]
    said = " ".join(notes)
    for name in ("kernels/fifo", "etc", "kernels/passwd", "sparse", "a/b/c"):
        assert name in said, notes
    assert "a FIFO" in said and "a symlink" in said and "over the" in said


def test_a_cache_copy_stops_at_its_file_count(tmp_path):
    src = tmp_path / "cache"
    src.mkdir()
    for i in range(5):
        (src / f"f{i}").write_text("x")
    size, files, notes = boundary.copy_tree(src, tmp_path / "copy", 1 << 20, 3, 4)
    assert (size, files, len(notes)) == (3, 3, 2) and "over 3 files" in notes[0]


def test_what_a_cache_copy_left_out_is_named_in_one_clean_line_each(tmp_path):
    """A run chooses the names in its cache, and the notes naming what was left out are
    shown to people and agents: no control sequence and no line break of the run's reaches
    them (a fake PASSED line below the note, a window title)."""
    src = tmp_path / "cache"
    src.mkdir()
    os.symlink("/etc/passwd", src / "evil\x1b]0;owned\x07\nPASSED\x1b[8m")
    os.mkfifo(src / "fifo\rOK")
    _, _, notes = boundary.copy_tree(src, tmp_path / "copy", 1 << 20, 10, 4)
    assert len(notes) == 2 and any("evil" in n and "a symlink" in n for n in notes), notes
    assert any("fifoOK" in n for n in notes), notes
    assert not any(set(n) & {"\x1b", "\x07", "\n", "\r"} for n in notes), notes


# ---------------------------------------------------------------------------- text

@pytest.mark.parametrize("raw,shown", [
    ("PASSED\x1b[8mREJECTED", "PASSEDREJECTED"),  # SGR 8 (conceal) removed, text kept
    ("a\x1b]0;window title\x07b", "ab"),  # OSC with BEL
    ("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # OSC 8 with ST
    ("a\x1b]0;unterminated\nnext", "a\nnext"),  # an unterminated string ends at the line
    ("over\rwritten", "overwritten"),
    ("a\x9b2Jb\x9d0;t\x9cc", "abc"),  # 8-bit CSI and OSC
    ("a\x1bcb\x1b(Bc\x1b7d", "abcd"),  # RIS, charset, save cursor
    ("tab\tnew\nline\x00\x07\x08\x7f", "tab\tnew\nline"),
    ("a lone escape\x1b", "a lone escape"),
    ("unicode: é ü 日本", "unicode: é ü 日本"),
])
def test_control_sequences_are_stripped(raw, shown):
    assert boundary.sanitize(raw) == shown


# ---------------------------------------------------------------------------- the status pipe

def test_the_status_pipe_is_read_within_its_bounds():
    r, w = os.pipe()
    reader = LineReader(r, max_line=100, max_total=1000)
    os.write(w, b"ready\n" + b"x" * 101)
    assert reader.next_line(time.monotonic() + 1) == "ready"
    with pytest.raises(ChannelError, match="longer than 100"):
        reader.next_line(time.monotonic() + 1)
    os.close(w)
    os.close(r)

    r, w = os.pipe()
    reader = LineReader(r, max_line=100, max_total=1000)
    os.write(w, b"refused {}\n" * 100)
    with pytest.raises(ChannelError, match="more than 1000 bytes"):
        while reader.next_line(time.monotonic() + 1):
            pass
    os.close(w)
    os.close(r)
