"""Run folders: results/<YYYYmmdd-HHMMSS>_<name>/, never overwriting one."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path


def sanitise(name: str) -> str:
    """A run name safe in a folder name: letters, digits, '-' and '_'."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")
    return cleaned[:60] or "run"


def create_run_folder(output_dir: Path, name: str, now: datetime) -> Path:
    """Makes a fresh run folder; a suffix _2, _3, ... avoids collisions."""
    output_dir.mkdir(parents=True, exist_ok=True)
    base = f"{now.strftime('%Y%m%d-%H%M%S')}_{sanitise(name)}"
    for attempt in range(1, 1000):
        folder = output_dir / (base if attempt == 1 else f"{base}_{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise RuntimeError(f"cannot create a run folder under {output_dir}")
