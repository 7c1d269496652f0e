"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MMM = [sys.executable, "-m", "mmm_runner.cli.main"]


def timed_run(config: Path, out: Path, *options: str) -> tuple[float, Path]:
    """Wall time of `mmm run` in a fresh process, and its run folder."""
    started = time.perf_counter()
    subprocess.run(
        [*MMM, "run", "-c", str(config), "-o", str(out), "-q", *options],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    run_dir = max(out.iterdir(), key=lambda p: p.stat().st_mtime)
    return seconds, run_dir


def peak_child_memory_mb() -> float:
    """Largest resident memory of any child process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def stage_seconds(run_dir: Path) -> dict[str, float]:
    manifest = json.loads((run_dir / "00_run_metadata" / "manifest.json").read_text())
    return {s["folder"]: s["seconds"] for s in manifest["stages"]}


def stage_summary(run_dir: Path, folder: str) -> dict[str, Any]:
    status = json.loads((run_dir / folder / "status.json").read_text())
    summary: dict[str, Any] = status.get("summary", {})
    return summary


def median(values: list[float]) -> float:
    return statistics.median(values)


def show(label: str, value: str) -> None:
    print(f"{label:<48} {value}")
