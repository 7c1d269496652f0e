"""Compile cache keyed by content: each Stan program is built once per toolchain.

The key hashes the Stan source, every file it includes (as stanc resolves
them), the stanc options and the toolchain identity (Stan version, driver,
compiler, flags).  Executables live under ``<cache>/models/<name>-<key>/``
with a record holding the executable's own hash, so a truncated or corrupt
file is detected and rebuilt.  Builds happen in a private staging folder that
is renamed into place under a file lock, so concurrent runs cannot corrupt an
entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmm_runner.backend import toolchain as tc
from mmm_runner.errors import CompileError
from mmm_runner.hashing import file_sha256

RECORD = "compile.json"


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
    import cmdstanpy  # the backend is the only importer of cmdstanpy

    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    try:
        source = staging / stan_file.name
        shutil.copy2(stan_file, source)
        cmdstanpy.set_cmdstan_path(str(toolchain.path))
        try:
            model = cmdstanpy.CmdStanModel(
                stan_file=str(source),
                stanc_options={"include-paths": [str(p) for p in include_paths]},
                force_compile=True,
            )
        except (ValueError, RuntimeError) as exc:
            raise CompileError(
                f"Compiling {stan_file.name} failed:\n{_compiler_message(str(exc))}",
                hint="If the Stan program is unchanged, run `mmm doctor` to check the toolchain.",
            ) from exc
        exe = Path(str(model.exe_file))
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
        if entry.exists():
            shutil.rmtree(entry)  # corrupt, forced or stale
        staging.rename(entry)
        return record
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise


def _compiler_message(console: str) -> str:
    """The useful part of cmdstanpy's compile failure text."""
    lines = console.splitlines()
    stanc = [ln for ln in lines if "error" in ln.lower() or ln.startswith(("Syntax", "Semantic"))]
    tail = "\n".join(lines[-40:])
    return "\n".join(stanc[:20]) if stanc and len(stanc) < 20 else tail
