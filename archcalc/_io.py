"""Atomic file output, used by every writer in archcalc (reports, specs, snapshots, generated
tables): render everything in memory, write a temp file beside the target, rename.

What it promises, for any ``path`` a user names:

- nothing half-written: a failure at any point leaves the target as it was (the text goes to a
  temp file in the same directory, flushed and fsynced, then renamed over the target);
- no clobbering: an existing file is replaced only with ``force=True`` (``--force``); without it
  the rename is done with ``os.link``, which fails if the name appeared meanwhile;
- only regular files are written: a directory, FIFO, socket or device node is refused, with or
  without ``force`` (a rename would replace the device node itself);
- a symlink is never replaced by a file: with ``force`` the write goes through it, atomically, to
  the regular file it points at; a dangling symlink, or one pointing at anything but a regular
  file, is refused;
- ``-`` is standard output (:func:`write_output`); an empty path is refused.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import ArchcalcError, InvalidValueError


class OutputExistsError(ArchcalcError):
    """The output path exists and overwriting was not asked for."""


class OutputPathError(InvalidValueError):
    """The output path cannot be written safely (empty, a directory, a device, a dangling link...)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _exists_error(path) -> OutputExistsError:
    return OutputExistsError(f"{str(path)!r} exists; pass --force (force=True) to overwrite it")


def resolve_target(path, force: bool = False) -> Path:
    """The regular file a write to ``path`` would replace (or create), after every refusal above."""
    text = os.fspath(path)
    if text == "":
        raise OutputPathError("output path is empty; give a file name, or '-' for standard output")
    if "\0" in text:
        raise OutputPathError(f"output path {text!r} contains a NUL character")
    path = Path(text)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as e:
        raise OutputPathError(f"cannot write {text!r}: {e.strerror or e}") from None
    if stat.S_ISLNK(st.st_mode):
        try:
            target_st = os.stat(path)
        except OSError:
            raise OutputPathError(f"cannot write {text!r}: it is a dangling symlink") from None
        if not stat.S_ISREG(target_st.st_mode):
            raise OutputPathError(f"cannot write {text!r}: it is a symlink to {_kind(target_st.st_mode)}")
        if not force:
            raise OutputExistsError(f"{text!r} exists (a symlink); pass --force (force=True) to write through it")
        return Path(os.path.realpath(path))
    if not stat.S_ISREG(st.st_mode):
        raise OutputPathError(f"cannot write {text!r}: it is {_kind(st.st_mode)}, not a regular file")
    if not force:
        raise _exists_error(text)
    return path


def write_atomic(path, text: str, force: bool = False, make_dirs: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path named (not the symlink's target)."""
    named = Path(os.fspath(path)) if os.fspath(path) != "" else None
    target = resolve_target(path, force)
    if make_dirs and str(target.parent):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputPathError(f"cannot create directory {str(target.parent)!r}: {e.strerror or e}") from None
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise OutputPathError(f"cannot write {str(path)!r}: {e.strerror or e}") from None
    try:
        # mkstemp makes the file 0600; give the output the mode a plain open() would (or the old file's)
        try:
            mode = os.stat(target).st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, target)
        else:
            _link_no_clobber(tmp, target, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise OutputPathError(f"cannot write {str(path)!r}: {e.strerror or e}") from None
        raise
    return named


def _link_no_clobber(tmp: str, target: Path, named) -> None:
    """Give the finished temp file the target's name unless that name exists by now."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _exists_error(named) from None
    except OSError:  # a filesystem without hard links: check, then rename (a narrow race remains)
        if os.path.lexists(target):
            raise _exists_error(named) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def write_output(path, text: str, force: bool = False, make_dirs: bool = False):
    """``-o PATH`` for every command: ``-`` is standard output, anything else :func:`write_atomic`.
    Returns the path written, or None for standard output."""
    if path is not None and os.fspath(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    return write_atomic(path, text, force=force, make_dirs=make_dirs)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
