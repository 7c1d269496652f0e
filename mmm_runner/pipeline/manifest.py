"""The run manifest: what ran, on what, with which versions, and how each stage went.

A manifest saying "running" is only as true as the process behind it. The
runner records its process (id, start time, host, boot) and refreshes a
heartbeat every ``HEARTBEAT_SECONDS``; ``run_state`` reads a manifest and tells
a live run from an abandoned one (killed with SIGKILL, or its machine lost
power): on this host by asking whether the process still runs, on another by
the age of the heartbeat (``ABANDONED_AFTER``).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, cast

from mmm_runner import constants
from mmm_runner.backend.cache import ProcessRecord
from mmm_runner.errors import UsageError

RunState = Literal["completed", "failed", "interrupted", "running", "abandoned"]
FINAL_STATES: Final = ("completed", "failed", "interrupted")
HEARTBEAT_SECONDS: Final = 10.0
# A run of another host whose heartbeat is older than this is abandoned: sixty missed
# beats, so a busy machine or clocks a few minutes apart do not make a live run look dead.
ABANDONED_AFTER: Final = timedelta(minutes=10)
METADATA: Final = constants.stage_folder("run_metadata")

PACKAGES = (
    "mmm_runner",
    "cmdstanpy",
    "httpstan",
    "arviz",
    "numpy",
    "pandas",
    "scipy",
    "xarray",
    "pydantic",
    "matplotlib",
)


def versions() -> dict[str, str]:
    """Versions of Python and the packages a run depends on."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def session_info() -> dict[str, Any]:
    """Where the run happened (session_info.json)."""
    return {
        "python": sys.version,
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": versions(),
    }


# One writer at a time: the heartbeat thread and the runner both write the manifest.
_WRITING = threading.Lock()


def write_json(path: Path, data: Any) -> None:
    """Writes JSON atomically: readers never see a half-written file.

    Safe from several threads: the document is serialised and renamed into
    place under one lock, so the last writer's (newest) content wins.
    """
    with _WRITING:
        text = json.dumps(data, indent=2, default=str) + "\n"
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


# --- is the run alive? ----------------------------------------------------------------------


def now_iso() -> str:
    """The current time, as the manifest records times (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat()


def process_fields() -> dict[str, Any]:
    """The manifest's record of the running process: ``process`` and ``heartbeat``."""
    return {"process": ProcessRecord.of().as_dict(), "heartbeat": now_iso()}


def run_state(run_dir: Path) -> RunState:
    """What a run folder is: completed, failed, interrupted, running, or abandoned.

    A "running" manifest whose process is gone is abandoned (see ``manifest_state``).
    Raises UsageError when ``run_dir`` has no readable manifest.
    """
    manifest, written = load_manifest(run_dir)
    return manifest_state(manifest, written)


def load_manifest(run_dir: Path) -> tuple[dict[str, Any], datetime]:
    """A run folder's manifest and when it was last written; UsageError if there is none."""
    path = run_dir / METADATA / constants.MANIFEST
    try:
        manifest = json.loads(path.read_text())
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        raise UsageError(
            f"{run_dir} is not a run folder: {METADATA}/{constants.MANIFEST} is missing",
            hint="Pass a folder that `mmm run` wrote, e.g. results/<timestamp>_<name>.",
        ) from None
    except (OSError, ValueError) as error:
        raise UsageError(
            f"{run_dir}/{METADATA}/{constants.MANIFEST} is unreadable ({error})",
            hint="The run folder is damaged; rerun from its config.",
        ) from None
    if not isinstance(manifest, dict):
        raise UsageError(f"{run_dir}/{METADATA}/{constants.MANIFEST} holds no JSON object")
    return manifest, written


def manifest_state(
    manifest: dict[str, Any], written: datetime | None = None, now: datetime | None = None
) -> RunState:
    """The state of the run a manifest describes.

    A final status (completed, failed, interrupted) is taken as written.  A
    "running" one is checked: its process, on this host, must still run (the
    same id and start time, since this boot); a process of another host must
    have refreshed the heartbeat within ``ABANDONED_AFTER``.  Manifests from
    before the process was recorded fall back on ``written`` (when the file was
    last written) in place of a heartbeat.  Anything else is abandoned.
    """
    status = manifest.get("status")
    if status in FINAL_STATES:
        return cast(RunState, status)
    if status != "running":
        return "abandoned"
    process = ProcessRecord.from_dict(manifest.get("process"))
    alive = process.alive() if process else None
    if alive is None:  # another host's run, or no process recorded: the heartbeat decides
        beat = _time(manifest.get("heartbeat")) or written
        alive = beat is not None and (now or datetime.now(UTC)) - beat < ABANDONED_AFTER
    return "running" if alive else "abandoned"


def describe_state(manifest: dict[str, Any], state: RunState) -> str:
    """One line for a person: e.g. "abandoned: process 4242 on ci-7 is gone (last
    heartbeat 2026-01-05T10:00:00+00:00)"."""
    if state not in ("running", "abandoned"):
        stage = manifest.get("failed_stage")
        return f"run {state}" + (f" in stage {stage}" if stage else "")
    process = manifest.get("process") or {}
    who = f"process {process.get('pid', '?')} on {process.get('host', '?')}"
    beat = manifest.get("heartbeat") or "never"
    if state == "running":
        return f"running: {who} is still at work (last heartbeat {beat})"
    if manifest.get("status") != "running":
        return f"abandoned: unknown status {manifest.get('status')!r}"
    if not process:
        return f"abandoned: no heartbeat since {beat} (the manifest names no process)"
    return f"abandoned: {who} is gone (last heartbeat {beat})"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def abandoned_runs(output_dir: Path) -> list[tuple[Path, str]]:
    """Run folders in ``output_dir`` whose manifest says running though the run is gone."""
    found = []
    for path in sorted(output_dir.glob(f"*/{METADATA}/{constants.MANIFEST}")):
        run_dir = path.parent.parent
        try:
            manifest, written = load_manifest(run_dir)
        except UsageError:
            continue
        if manifest.get("status") == "running":
            state = manifest_state(manifest, written)
            if state == "abandoned":
                found.append((run_dir, describe_state(manifest, state)))
    return found


class Heartbeat:
    """Refreshes a running manifest's ``heartbeat`` from a daemon thread.

    Used as a context manager around the stages: every ``interval`` seconds the
    manifest (the dict the runner keeps current) gets the time and is written.
    A write that fails (a full disk) is skipped; the runner reports the disk.
    """

    def __init__(
        self, path: Path, manifest: dict[str, Any], interval: float = HEARTBEAT_SECONDS
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mmm-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval)

    def beat(self) -> None:
        """Stamps the manifest with the time and writes it."""
        with _WRITING:  # never between another writer's serialising and renaming
            self.manifest["heartbeat"] = now_iso()
        # A full disk, or the runner changing the dict while it is serialised, skips
        # this beat: the next one (or the runner's own write) brings the file up to date.
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            write_json(self.path, self.manifest)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()
