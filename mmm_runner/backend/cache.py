"""Compile cache keyed by content: each Stan program is built once per toolchain.

The key hashes the Stan source, every file it includes (as stanc resolves
them), the stanc options and the toolchain identity (Stan version, driver,
compiler, flags).  Executables live under ``<cache>/models/<name>-<key>/``
with a record holding the executable's own hash, so a truncated or corrupt
file is detected and rebuilt.  Builds happen in a private staging folder that
is renamed into place under a file lock, so concurrent runs cannot corrupt an
entry.

``make`` and the compilers it starts run in their own process group: an
interrupt (Ctrl-C, or SIGTERM turned into one) stops the whole group and
removes the staging folder.  A runner killed outright (SIGKILL, a power cut)
cannot clean up, so each staging folder names its owner (process id, start
time, host, boot) and the compiler's group; a later compile removes staging
folders whose owner is gone, stopping a compiler still running there, and
folders it cannot attribute once they are older than ``STALE_STAGING_SECONDS``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mmm_runner.backend import toolchain as tc
from mmm_runner.errors import CompileError
from mmm_runner.hashing import file_sha256

RECORD = "compile.json"
STAGING_OWNER = ".owner.json"  # in a staging folder: who is building there
# A staging folder whose owner cannot be checked (another host, or no owner record yet) is
# stale once nothing has changed in it for this long; no compile takes a day.
STALE_STAGING_SECONDS = 24 * 3600.0
# Staging folders: "." + entry name (<program>-<16 hex key>) + "-" + mkdtemp's suffix.
STAGING_NAME = re.compile(r"^\..+-[0-9a-f]{16}-[a-z0-9_]{8}$")
# Paths GNU make cannot take as a target (cmdstanpy's rule): these builds go through /tmp.
MAKE_UNSAFE = re.compile(r"[\s~]")
STOP_GRACE_SECONDS = 5.0  # SIGTERM, then SIGKILL for what is left


@dataclass(frozen=True)
class CompiledModel:
    """A built Stan program and how it was obtained."""

    name: str
    exe: Path
    stan_file: Path
    key: str
    cache_hit: bool
    seconds: float
    included_files: tuple[Path, ...]
    record: dict[str, Any]
    parameters: tuple[str, ...] = ()  # the program's parameters, in its order (stanc --info)


def process_start_time(pid: int) -> int | None:
    """When a process started (clock ticks after boot, /proc/<pid>/stat), None where unknown.

    With the process id it identifies a process: an id reused by a later process
    comes with another start time.
    """
    fields = _proc_stat(pid)
    return int(fields[19]) if fields else None  # field 22; fields[0] is field 3


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold ")")."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return text.rsplit(")", 1)[1].split()


def process_alive(pid: int, start_time: int | None = None) -> bool:
    """Whether process ``pid`` of this machine runs (and is the one that started at
    ``start_time``, when given and /proc can tell)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    fields = _proc_stat(pid)
    if fields is None:
        return True  # no /proc (macOS): the id exists, which is all we can know
    if fields[0] == "Z":
        return False  # a zombie has ended; only its exit status waits to be read
    return start_time is None or int(fields[19]) == start_time


def boot_id() -> str | None:
    """This boot of the machine (Linux): a process of an earlier boot is gone."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class ProcessRecord:
    """A process, recorded so that another process can later tell whether it still runs."""

    pid: int
    host: str
    start_time: int | None = None  # clock ticks after boot (Linux)
    boot_id: str | None = None  # the machine's boot (Linux)

    @classmethod
    def of(cls, pid: int | None = None) -> ProcessRecord:
        """This process (or process ``pid`` of this machine)."""
        pid = os.getpid() if pid is None else pid
        return cls(pid, socket.gethostname(), process_start_time(pid), boot_id())

    @classmethod
    def from_dict(cls, data: object) -> ProcessRecord | None:
        """The record written by ``as_dict``; None when ``data`` is not one."""
        if not isinstance(data, dict):
            return None
        try:
            pid, host = int(data["pid"]), str(data["host"])
        except (KeyError, TypeError, ValueError):
            return None
        start = data.get("start_time")
        boot = data.get("boot_id")
        return cls(
            pid,
            host,
            int(start) if isinstance(start, int) else None,
            str(boot) if boot else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def here(self) -> bool:
        """Whether the process ran on this machine."""
        return self.host == socket.gethostname()

    def alive(self) -> bool | None:
        """True or False for a process of this machine; None for another machine's."""
        if not self.here:
            return None
        current_boot = boot_id()
        if self.boot_id and current_boot and current_boot != self.boot_id:
            return False  # the machine restarted since (a power cut, a reboot)
        return process_alive(self.pid, self.start_time)


def stop_process_group(
    group: int, process: subprocess.Popen[str] | None = None, grace: float = STOP_GRACE_SECONDS
) -> None:
    """Stops every process of a process group: SIGTERM, then SIGKILL after ``grace`` s.

    ``process`` is the group's leader when it is this process's child, so that it
    is reaped (a zombie still counts as a member of its group).
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, sig)
        except (ProcessLookupError, PermissionError):
            break
        if _group_ended(group, process, grace):
            break
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)


def _group_ended(group: int, process: subprocess.Popen[str] | None, seconds: float) -> bool:
    """Waits up to ``seconds`` for the group to have no running member left."""
    deadline = time.monotonic() + seconds
    while True:
        if process is not None:
            process.poll()
        if not group_running(group):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def group_running(group: int) -> bool:
    """Whether a process of the group still runs (zombies, ended but not reaped, aside)."""
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(int(entry.name))
            if fields and int(fields[2]) == group and fields[0] != "Z":  # pgrp, state
                return True
    return False


def stanc_info(
    stan_file: Path, toolchain: tc.Toolchain, include_paths: Sequence[Path] = ()
) -> dict[str, Any]:
    """``stanc --info`` of a program: its inputs, parameters and included files."""
    cmd = [str(toolchain.path / "bin" / "stanc"), "--info"]
    if include_paths:
        cmd.append("--include-paths=" + ",".join(str(p) for p in include_paths))
    cmd.append(str(stan_file))
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise CompileError(
            f"stanc rejected {stan_file}:\n{out.stderr.strip()}",
            hint="Fix the Stan program at the line stanc names.",
        )
    info: dict[str, Any] = json.loads(out.stdout)
    return info


def cache_key(
    stan_file: Path,
    toolchain: tc.Toolchain,
    included: Sequence[Path],
    stanc_options: Sequence[str] = (),
) -> str:
    """Hash of everything the executable depends on."""
    h = hashlib.sha256()
    for part in (toolchain.identity, stan_file.stem, *stanc_options):
        h.update(part.encode() + b"\0")
    h.update(stan_file.read_bytes())
    for path in sorted(included):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def compile_model(
    stan_file: Path,
    toolchain: tc.Toolchain,
    *,
    include_paths: Sequence[Path] = (),
    force: bool = False,
    cache_dir: Path | None = None,
) -> CompiledModel:
    """The executable of ``stan_file``, from the cache or freshly built.

    ``cache_dir`` defaults to ``<user cache>/models``; ``force`` rebuilds.
    """
    started = time.perf_counter()
    stan_file = stan_file.resolve()
    if not stan_file.is_file():
        raise CompileError(f"Stan program not found: {stan_file}")
    paths = [stan_file.parent, *(Path(p).resolve() for p in include_paths)]
    info = stanc_info(stan_file, toolchain, paths)
    included = tuple(Path(p) for p in info.get("included_files", []))
    key = cache_key(stan_file, toolchain, included)
    root = cache_dir or tc.cache_root() / "models"
    entry = root / f"{stan_file.stem}-{key[:16]}"
    root.mkdir(parents=True, exist_ok=True)
    clear_stale_staging(root)
    with tc.file_lock(root / f"{entry.name}.lock"):
        record = None if force else _valid_record(entry, stan_file.stem)
        hit = record is not None
        if record is None:
            record = _build(stan_file, toolchain, paths, entry, key, included)
    return CompiledModel(
        name=stan_file.stem,
        exe=entry / stan_file.stem,
        stan_file=stan_file,
        key=key,
        cache_hit=hit,
        seconds=time.perf_counter() - started,
        included_files=included,
        record=record,
        parameters=tuple(info.get("parameters", {})),
    )


def _valid_record(entry: Path, name: str) -> dict[str, Any] | None:
    """The entry's record when its executable is intact, else None."""
    record_file = entry / RECORD
    exe = entry / name
    if not (record_file.is_file() and exe.is_file()):
        return None
    try:
        record: dict[str, Any] = json.loads(record_file.read_text())
    except json.JSONDecodeError:
        return None
    if record.get("exe_sha256") != file_sha256(exe):
        return None
    return record


def _build(
    stan_file: Path,
    toolchain: tc.Toolchain,
    include_paths: list[Path],
    entry: Path,
    key: str,
    included: tuple[Path, ...],
) -> dict[str, Any]:
    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    # make cannot build at a path with spaces: such builds happen in /tmp, then move.
    unsafe = bool(MAKE_UNSAFE.search(str(staging)))
    workdir = Path(tempfile.mkdtemp(prefix="mmm_compile_")) if unsafe else staging
    try:
        _write_owner(staging, ProcessRecord.of())
        shutil.copy2(stan_file, workdir / stan_file.name)
        built = workdir / stan_file.stem
        console = _make(built, stan_file.name, toolchain, include_paths, staging)
        if "Warning" in console:  # stanc's warnings; the run log listens to cmdstanpy
            logging.getLogger("cmdstanpy").warning("Stan compiler warnings:\n%s", console)
        exe = staging / stan_file.stem
        if built != exe:
            shutil.move(built, exe)
        for leftover in staging.glob(f"{stan_file.stem}.hpp"):
            leftover.unlink()
        record = {
            "name": stan_file.stem,
            "key": key,
            "stan_file": str(stan_file),
            "included_files": [str(p) for p in included],
            "toolchain": toolchain.as_dict(),
            "exe_sha256": file_sha256(exe),
            "compile_seconds": round(time.perf_counter() - started, 2),
            "compiled_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (staging / RECORD).write_text(json.dumps(record, indent=2))
        (staging / STAGING_OWNER).unlink()
        if entry.exists():
            shutil.rmtree(entry)  # corrupt, forced or stale
        staging.rename(entry)
        return record
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise
    finally:
        if unsafe:
            shutil.rmtree(workdir, ignore_errors=True)


def _make(
    target: Path,
    display_name: str,
    toolchain: tc.Toolchain,
    include_paths: list[Path],
    staging: Path,
) -> str:
    """Runs ``make <target>`` in the toolchain as cmdstanpy would, in its own process group.

    Returns make's console output; raises CompileError when make fails.  On an
    interrupt the whole group (make, stanc, g++, cc1plus) is stopped before the
    interrupt goes on.
    """
    from cmdstanpy.compilation import CompilerOptions  # the backend imports cmdstanpy

    options = CompilerOptions(stanc_options={"include-paths": [str(p) for p in include_paths]})
    options.validate()
    make = os.environ.get("MAKE", "make")
    cmd = [make, *options.compose(filename_in_msg=display_name), target.as_posix()]
    process = subprocess.Popen(
        cmd,
        cwd=toolchain.path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # Ctrl-C at a terminal no longer reaches it: we stop it
    )
    try:
        _write_owner(staging, ProcessRecord.of(), ProcessRecord.of(process.pid))
        console, _ = process.communicate()
    except BaseException:
        stop_process_group(process.pid, process)
        raise
    if process.returncode != 0:
        console += f"\nCommand {' '.join(cmd)} exited with code {process.returncode}"
        raise CompileError(
            f"Compiling {display_name} failed:\n{_compiler_message(console)}",
            hint="If the Stan program is unchanged, run `mmm doctor` to check the toolchain.",
        )
    return console


def _write_owner(staging: Path, owner: ProcessRecord, group: ProcessRecord | None = None) -> None:
    """Names who builds in ``staging`` (and the compiler's process group)."""
    record = {"owner": owner.as_dict(), "group": group.as_dict() if group else None}
    tmp = staging / f"{STAGING_OWNER}.tmp"
    tmp.write_text(json.dumps(record))
    os.replace(tmp, staging / STAGING_OWNER)


def clear_stale_staging(root: Path) -> list[Path]:
    """Removes staging folders whose compile can no longer finish; returns them.

    A folder is stale when its owner is a process of this machine that is gone
    (killed, or the machine restarted), or when it cannot be attributed and has
    not changed for ``STALE_STAGING_SECONDS``.  A compiler group still running
    there (orphaned when its runner was killed) is stopped first.
    """
    removed = []
    for folder in root.iterdir() if root.is_dir() else ():
        if not STAGING_NAME.match(folder.name) or not folder.is_dir():
            continue
        owner, group = _read_owner(folder)
        alive = owner.alive() if owner else None
        if alive is None:
            try:
                alive = time.time() - folder.stat().st_mtime < STALE_STAGING_SECONDS
            except OSError:
                continue  # removed meanwhile
        if alive:
            continue
        _stop_orphaned_group(group)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _stop_orphaned_group(group: ProcessRecord | None) -> None:
    """Stops a dead runner's compiler group if it still runs on this machine."""
    if group is None or group.start_time is None or not group.here:
        return  # another machine's, or nothing to verify it by: leave it alone
    current_boot = boot_id()
    if group.boot_id and current_boot and current_boot != group.boot_id:
        return  # the machine restarted: the group died with it
    start = process_start_time(group.pid)
    # Its leader (make) still runs, or has ended while members (g++) may live on: the
    # group's id cannot be reused while it has members. Another start time means the
    # id now belongs to an unrelated process.
    if start is None or start == group.start_time:
        stop_process_group(group.pid)


def _read_owner(folder: Path) -> tuple[ProcessRecord | None, ProcessRecord | None]:
    try:
        record = json.loads((folder / STAGING_OWNER).read_text())
    except (OSError, ValueError):
        return None, None
    if not isinstance(record, dict):
        return None, None
    return ProcessRecord.from_dict(record.get("owner")), ProcessRecord.from_dict(
        record.get("group")
    )


def _compiler_message(console: str) -> str:
    """The useful part of cmdstanpy's compile failure text."""
    lines = console.splitlines()
    stanc = [ln for ln in lines if "error" in ln.lower() or ln.startswith(("Syntax", "Semantic"))]
    tail = "\n".join(lines[-40:])
    return "\n".join(stanc[:20]) if stanc and len(stanc) < 20 else tail
