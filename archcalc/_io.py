"""Atomic file output, used by every writer in archcalc (reports, specs, snapshots, generated
tables): render everything in memory, write a temp file beside the target, rename.

A failure at any point leaves the target untouched (nothing half-written); replacing an existing
file needs ``force=True`` (``--force`` on the command line of the report commands).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import ArchcalcError


class OutputExistsError(ArchcalcError):
    """The output path exists and overwriting was not asked for."""


def write_atomic(path, text: str, force: bool = False, make_dirs: bool = False) -> Path:
    path = Path(path)
    if make_dirs and str(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise ArchcalcError(f"output path {str(path)!r} is a directory")
    if path.exists() and not force:
        raise OutputExistsError(f"{str(path)!r} exists; pass --force (force=True) to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ArchcalcError(f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise ArchcalcError(f"cannot write {str(path)!r}: {e.strerror or e}") from None
    try:
        # mkstemp makes the file 0600; give the report the mode a plain open() would (or the old file's)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if not force and path.exists():  # appeared while we were writing
            raise OutputExistsError(f"{str(path)!r} exists; pass --force (force=True) to overwrite it")
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise ArchcalcError(f"cannot write {str(path)!r}: {e.strerror or e}") from None
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
