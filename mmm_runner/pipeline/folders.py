"""Run folders: results/<YYYYmmdd-HHMMSS>_<name>/, never overwriting one."""

from __future__ import annotations

import errno
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from mmm_runner.errors import StorageError

PROBE_BYTES = 64 * 1024  # a run's first files are about this size
# OS errors that mean "cannot write here", not a bug.
STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
)


def sanitise(name: str) -> str:
    """A run name safe in a folder name: letters, digits, '-' and '_'."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")
    return cleaned[:60] or "run"


def storage_error(error: OSError, doing: str) -> StorageError:
    """A clear error for a write the file system refused."""
    where = f" {error.filename}" if error.filename else ""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "Free disk space (or use --output-dir on a larger disk) and run again."
    else:
        hint = "Choose a folder you can write to with --output-dir (or output_dir in the config)."
    return StorageError(f"cannot write{where} while {doing}: {reason}", hint=hint)


def create_run_folder(output_dir: Path, name: str, now: datetime) -> Path:
    """Makes a fresh run folder, checked writable; a suffix _2, _3, ... avoids collisions.

    Raises StorageError before any stage runs when the output folder cannot be
    created or written (permissions, a read-only file system, a full disk).
    """
    doing = f"creating the run folder under {output_dir}"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        folder = _new_folder(output_dir, name, now)
    except OSError as error:  # a file in the way, permissions, read-only, full
        raise storage_error(error, doing) from None
    try:
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        folder.rmdir()  # leave nothing that looks like a run
        raise storage_error(error, doing) from None
    return folder


def _new_folder(output_dir: Path, name: str, now: datetime) -> Path:
    base = f"{now.strftime('%Y%m%d-%H%M%S')}_{sanitise(name)}"
    for attempt in range(1, 1000):
        folder = output_dir / (base if attempt == 1 else f"{base}_{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(errno.EEXIST, "999 run folders of this name and second", str(output_dir))
