"""Files written whole or not at all.

`write_atomic` writes to a temporary file in the destination's own folder, flushes it to disk
(fsync), then renames it over the destination (atomic on POSIX within one file system) and
syncs the folder so the rename itself survives a power cut. A full disk, a kill or a power cut
at any point leaves either the old file or no file, never a 0-byte or half-written one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes | str, encoding: str = "utf-8") -> None:
    """Replace `path` with `data` (text is encoded with `encoding`), atomically.

    Raises OSError (disk full, no permission, a missing folder): `path` is then unchanged and
    no temporary file is left behind.
    """
    path = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        # mkstemp makes the file private (0600); the result gets the old file's mode, or the
        # usual 0644 (os.umask is not read: changing it to read it races other threads).
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = 0o644
        os.fchmod(fd, mode)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return  # a folder that cannot be opened for reading: the file itself is on disk
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename is still atomic
    finally:
        os.close(fd)
