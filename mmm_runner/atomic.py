"""Writing artefacts atomically: a reader (or a crash) never meets a half-written file.

Each writer fills a temporary file beside the target and renames it onto the
target's name only once the content is complete; a failure (a full disk, an
interrupt) removes the temporary file and leaves any earlier version intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A fresh temporary path beside ``path``; renamed onto it when the block succeeds."""
    path = Path(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(frame: pd.DataFrame, path: Path, *, index: bool = False) -> None:
    """A table as CSV."""
    with replacing(path) as tmp:
        frame.to_csv(tmp, index=index)


def write_text(path: Path, text: str) -> None:
    """Text as UTF-8."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    """JSON, indented (values JSON cannot hold are written as text)."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def copy_file(source: Path, path: Path) -> None:
    """A copy of ``source``'s bytes."""
    with replacing(path) as tmp:
        shutil.copyfile(source, tmp)
