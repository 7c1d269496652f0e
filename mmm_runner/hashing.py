"""SHA-256 of files and of sequences of parts: the one hasher of the runner.

Manifests, the compile cache, the toolchain identity and `mmm reproduce` all
hash through here, so a digest recorded by one is comparable with another's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_BLOCK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks (large data files stay cheap)."""
    return files_sha256([path])


def files_sha256(paths: Iterable[Path]) -> str:
    """Hex SHA-256 of several files' bytes, in the order given."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                h.update(block)
    return h.hexdigest()


def parts_sha256(parts: Iterable[str | bytes]) -> str:
    """Hex SHA-256 of parts, each followed by a NUL so that ("ab", "c") != ("a", "bc")."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()
