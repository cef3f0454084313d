"""The judge's side of the sandbox boundary: every file the judge reads from or writes into a
run's directory, the removal of that directory, the copy of a compile cache into a run, and
the run's text the judge shows.

A run can change its directory (under process isolation, the whole run root) while the
judge works on it, so no name there means anything: a result may be a symlink to the
judge's secrets, a FIFO that blocks open() forever, a file far larger than any result, JSON
nested deeper than the parser's stack, a tree deeper than recursion or the judge's file
descriptors allow, or text that drives the operator's terminal. Hence:

- directories are ones the judge created and opened itself before the child started, held
  as descriptors; every name is one path component, opened relative to one of them;
- reads: O_NOFOLLOW (a symlink is refused), O_NONBLOCK (a FIFO cannot block the open), then
  fstat: a regular file with one link, within a size limit, read up to the limit;
- writes: O_CREAT|O_EXCL|O_NOFOLLOW, so a name the run planted first is refused, never
  written through; JSON: the nesting depth is checked before the parser runs;
- removal and copies: iterative, a bounded number of descriptors, no symlink followed, no
  special file opened; text shown to a person or an agent: control sequences stripped.

Every refusal is a `BoundaryError` whose message says what was wrong with which name.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
from pathlib import Path

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
CREATE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# The judge's JSON files (losses, declared kernels, kernel infos, status messages) are at
# most three levels deep; 32 leaves room and stays far below the parser's recursion limit.
MAX_JSON_DEPTH = 32
CHUNK = 1 << 20
MAX_NOTES = 20  # skipped cache entries named in a run's notes; the rest counted


class BoundaryError(Exception):
    """A run-controlled file or text the judge refuses to use; the message says why."""


class MissingFile(BoundaryError):
    """The file is not there at all (the run never wrote it)."""


# ---------------------------------------------------------------------------- directories

def open_dir(name: str | os.PathLike, dir_fd: int | None = None) -> int:
    """A descriptor of a directory, never of a symlink to one."""
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


def make_dir(dir_fd: int, name: str, mode: int = 0o700) -> int:
    """A new directory `name` in dir_fd, and a descriptor of it."""
    os.mkdir(_one_name(name), mode, dir_fd=dir_fd)
    return open_dir(name, dir_fd)


def _one_name(name: str) -> str:
    """A single path component: '..' or a slash could leave the directory."""
    if not name or "/" in name or name in (".", ".."):
        raise BoundaryError(f"{name!r} is not a plain file name")
    return name


# ---------------------------------------------------------------------------- reads

def read_file(dir_fd: int, name: str, limit: int) -> bytes:
    """The bytes of regular file `name` in dir_fd, at most `limit` of them.

    A symlink, FIFO, device, socket or directory is refused without blocking, and so is a
    file with other hard links (under process isolation a run could link a file of the
    judge's user into its directory) or one larger than `limit`."""
    fd = _open_regular(dir_fd, name)
    try:
        size = os.fstat(fd).st_size
        data = b"" if size > limit else _read_at_most(fd, limit + 1)
    finally:
        os.close(fd)
    if size > limit or len(data) > limit:
        raise BoundaryError(f"{name} is over its limit of {limit} bytes ({size})")
    return data


def _open_regular(dir_fd: int, name: str, *, single_link: bool = True) -> int:
    try:
        fd = os.open(_one_name(name), READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise MissingFile(f"{name} does not exist") from None
    except OSError as e:
        why = "a symlink" if e.errno == errno.ELOOP else e.strerror
        raise BoundaryError(f"{name} cannot be opened: {why}") from None
    st = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(st.st_mode):
        problem = f"{name} is {_kind(st.st_mode)}, not a regular file"
    elif single_link and st.st_nlink != 1:
        problem = f"{name} has {st.st_nlink} hard links, not one"
    if problem:
        os.close(fd)
        raise BoundaryError(problem)
    return fd


def _kind(mode: int) -> str:
    kinds = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
             stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}
    return kinds.get(stat.S_IFMT(mode), "not a file")


def _read_at_most(fd: int, n: int) -> bytes:
    parts, left = [], n
    while left > 0:
        part = os.read(fd, min(left, CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_json(dir_fd: int, name: str, limit: int, max_depth: int = MAX_JSON_DEPTH):
    """The JSON value in file `name` (read as by read_file), nested at most max_depth."""
    try:
        text = read_file(dir_fd, name, limit).decode("utf-8")
    except UnicodeDecodeError as e:
        raise BoundaryError(f"{name} is not UTF-8 text ({e.reason})") from None
    try:
        return parse_json(text, max_depth)
    except BoundaryError as e:
        raise BoundaryError(f"{name}: {e}") from None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


def parse_json(text: str, max_depth: int = MAX_JSON_DEPTH):
    """json.loads, once arrays and objects are known to nest at most max_depth deep (the
    parser recurses per level: RecursionError, not ValueError, on a deep input). The check,
    at regular expressions' speed: keep the brackets outside strings, remove the innermost
    pairs max_depth times (one level a pass); anything left is deeper, or not JSON."""
    skeleton = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(max_depth):
        if not skeleton:
            break
        skeleton = _EMPTY_PAIR.sub("", skeleton)
    if skeleton:
        raise BoundaryError(f"arrays or objects nested deeper than {max_depth} (or unbalanced)")
    try:
        return json.loads(text)
    except ValueError as e:
        raise BoundaryError(f"not JSON ({e})") from None


def tail(fd: int, nbytes: int) -> str:
    """The last nbytes of the file open as fd, sanitized: the run's log through the
    descriptor the judge opened for the child's stdout, whatever the run did to its name."""
    size = os.fstat(fd).st_size
    start = max(0, size - nbytes)
    return sanitize(os.pread(fd, min(nbytes, size - start), start).decode(errors="replace"))


# ---------------------------------------------------------------------------- writes

def write_file(dir_fd: int, name: str, data: bytes) -> None:
    """A new file `name` in dir_fd holding data; refused if the name exists in any form."""
    fd = create_file(dir_fd, name)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def create_file(dir_fd: int, name: str, access: int = os.O_WRONLY, mode: int = 0o644) -> int:
    """A descriptor of a new file `name` in dir_fd, open for `access`. 0o644: the sandbox's
    user may read what the judge writes for it."""
    try:
        return os.open(_one_name(name), CREATE_FLAGS | access, mode, dir_fd=dir_fd)
    except FileExistsError:
        raise BoundaryError(f"{name} already exists: something other than the judge made it"
                            ) from None


# ---------------------------------------------------------------------------- removal

def remove_tree(path: str | os.PathLike) -> bool:
    """Remove `path` and everything under it, whatever a run made there: any depth, any
    permissions, symlinks (removed, never followed), FIFOs, sockets. Without recursion and
    with at most three descriptors open: every subdirectory is renamed up into the top
    directory before it is emptied, so depth never matters. True if `path` is gone."""
    path = Path(path)
    parent = open_dir(path.parent)
    try:
        try:
            top = open_dir(path.name, parent)
        except FileNotFoundError:
            return True
        except OSError:  # not a directory (a symlink put in its place): the name alone
            return _try(os.unlink, path.name, dir_fd=parent)
        try:
            _allow_removal(top)
            while _flatten_pass(top):
                pass
        finally:
            os.close(top)
        return _try(os.rmdir, path.name, dir_fd=parent)
    finally:
        os.close(parent)


def _flatten_pass(top: int) -> bool:
    """One pass over top's entries: a non-directory is unlinked; a directory has its own
    subdirectories renamed up into top and its other entries unlinked, then is removed.
    True if the pass changed anything (entries renamed into top meanwhile may be missed by
    this pass's listing: the next one sees them)."""
    changed = False
    tag = secrets.token_hex(8)  # staging names a run cannot have planted
    with os.scandir(top) as entries:
        for n, entry in enumerate(entries):
            if entry.is_dir(follow_symlinks=False):
                changed |= _empty_into(top, entry.name, f".speedup-rm-{tag}-{n}")
                changed |= _try(os.rmdir, entry.name, dir_fd=top)
            else:
                changed |= _try(os.unlink, entry.name, dir_fd=top)
    return changed


def _empty_into(top: int, name: str, staging: str) -> bool:
    """Empty directory `name` of top: its subdirectories move up into top, the rest goes.
    True if anything moved or went."""
    if not _allow_removal_by_name(top, name):
        return False
    try:
        fd = open_dir(name, top)
    except OSError:
        return False
    changed = False
    try:
        with os.scandir(fd) as entries:
            for n, entry in enumerate(entries):
                if entry.is_dir(follow_symlinks=False):  # moving it rewrites its '..'
                    _allow_removal_by_name(fd, entry.name)
                    changed |= _try(os.rename, entry.name, f"{staging}-{n}", src_dir_fd=fd,
                                    dst_dir_fd=top)
                else:
                    changed |= _try(os.unlink, entry.name, dir_fd=fd)
    finally:
        os.close(fd)
    return changed


def _try(operation, *args, **kwargs) -> bool:
    """operation(*args, **kwargs); False if the system refused it (removal goes on)."""
    try:
        operation(*args, **kwargs)
    except OSError:
        return False
    return True


def _allow_removal_by_name(dir_fd: int, name: str) -> bool:
    """Give directory `name` of dir_fd (never a symlink) owner rwx, so that even one a run
    made unreadable can be listed, emptied and moved: through an O_PATH descriptor, which
    needs no permission. False if it is not a directory."""
    try:
        fd = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError:
        return False
    _allow_removal(fd)
    os.close(fd)
    return True


def _allow_removal(fd: int) -> None:
    """chmod through /proc/self/fd, which names the directory itself (fchmod refuses an
    O_PATH descriptor); not the owner, or no /proc: removal tries anyway."""
    _try(os.chmod, f"/proc/self/fd/{fd}", 0o700)


# ---------------------------------------------------------------------------- cache copies

def copy_tree(src: Path, dst: Path, budget: int, max_files: int,
              max_depth: int) -> tuple[int, int, list[str]]:
    """Copy the regular files and directories under src into the new directory dst, at most
    `budget` bytes and `max_files` files in all, `max_depth` levels deep. Symlinks, FIFOs,
    sockets and devices are never opened, followed or reproduced. Returns (bytes and files
    copied, notes naming what was left out and why: the first MAX_NOTES, then a count). The
    run chose the names, and notes are shown: each is one line of sanitized text."""
    copied, files, notes = 0, 0, []
    dst.mkdir(mode=0o700)
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(src, follow_symlinks=False):
        rel = Path(dirpath).relative_to(src)
        if len(rel.parts) >= max_depth:
            notes += [f"{rel / d}: skipped (deeper than {max_depth} levels)" for d in dirnames]
            dirnames.clear()
        for name in list(dirnames):  # fwalk lists a symlink to a directory here too
            if stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                (dst / rel / name).mkdir(mode=0o700)
            else:
                dirnames.remove(name)
                notes.append(f"{rel / name}: skipped (a symlink)")
        for name in filenames:
            try:
                if files >= max_files:
                    raise BoundaryError(f"over {max_files} files")
                copied += _copy_file(dir_fd, name, dst / rel / name, budget - copied)
                files += 1
            except (BoundaryError, OSError) as e:
                notes.append(f"{rel / name}: skipped ({e})")
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES:] = [f"{len(notes) - MAX_NOTES} more skipped"]
    return copied, files, [" ".join(sanitize(note).split("\n")) for note in notes]


def _copy_file(dir_fd: int, name: str, target: Path, room: int) -> int:
    """Copy regular file `name` of dir_fd (its size at most `room`) to the new file target,
    with its permission bits and times (ninja and Inductor decide what to rebuild by them)."""
    fd = _open_regular(dir_fd, name, single_link=False)
    try:
        st = os.fstat(fd)
        if st.st_size > room:
            raise BoundaryError(f"{st.st_size} bytes, over the {room} left of the budget")
        out = os.open(target, CREATE_FLAGS | os.O_WRONLY,
                      stat.S_IMODE(st.st_mode) & 0o755 | 0o600)
        try:
            left = st.st_size
            while left > 0 and (sent := os.sendfile(out, fd, None, min(left, CHUNK))):
                left -= sent
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(out)
    finally:
        os.close(fd)
    return st.st_size - left


# ---------------------------------------------------------------------------- text

# ESC-introduced sequences (ECMA-48): CSI with its parameters; OSC, DCS, SOS, PM and APC
# strings up to their terminator (BEL or ST; an unterminated one ends at the line); any
# other escape with its intermediate and final bytes; and their 8-bit C1 forms.
_SEQUENCE = re.compile(r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|(?=\n)|\Z)
    | \x1b [ -/]* [0-~]
""", re.VERBOSE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but \t and \n, DEL, C1; \r too


def sanitize(text: str) -> str:
    """Run text made safe to show on a terminal or to a model: escape sequences removed
    whole (a fake PASSED line, concealed text, a window title, a cleared screen), then every
    remaining control character but newline and tab (a carriage return overwrites a line)."""
    return _CONTROL.sub("", _SEQUENCE.sub("", text))
