"""The Stan toolchain that compiles and runs models, found or assembled offline.

A real CmdStan is used when the user has one (``CMDSTAN`` set, or an install
under ``~/.cmdstan``).  Otherwise mmm_runner assembles a CmdStan-compatible
directory in the user cache from the httpstan wheel, which ships stanc, the
Stan headers and libtbb: it adds a makefile, ``bin/stanc``, the project's own
driver (compiled once into objects) and a precompiled Stan model header.
cmdstanpy then builds and runs models there exactly as under CmdStan.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from mmm_runner import constants
from mmm_runner.errors import ToolchainError
from mmm_runner.hashing import parts_sha256
from mmm_runner.system import usable_cores

DRIVER_DIR = Path(__file__).with_name("driver")
MAKEFILE_TEMPLATE = Path(__file__).with_name("toolchain_makefile.in")

# The flags every model and the driver are compiled with (see DESIGN.md).
BASE_CXXFLAGS = (
    "-std=c++17",
    "-O3",
    "-DSTAN_THREADS",
    "-DBOOST_DISABLE_ASSERTS",
    "-D_REENTRANT",
    "-D_GLIBCXX_USE_CXX11_ABI=0",
    "-Wno-deprecated-declarations",
    "-Wno-ignored-attributes",
    "-Wno-sign-compare",
)

Progress = Callable[[str], None]
Source = Literal["bundled", "cmdstan"]


@dataclass(frozen=True)
class Toolchain:
    """A CmdStan-compatible directory and what identifies its builds."""

    source: Source
    path: Path
    stan_version: str
    compiler: str
    identity: str  # hash of everything a compiled model depends on

    def as_dict(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


def cache_root() -> Path:
    """The user cache folder of mmm_runner (``$MMM_CACHE_DIR`` wins)."""
    override = os.environ.get(constants.ENV_CACHE_DIR)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mmm_runner"


def locate(progress: Progress | None = None) -> Toolchain:
    """The toolchain to use: a real CmdStan if present, else the bundled one.

    The bundled toolchain is assembled on first use (a few minutes, once).
    """
    cmdstan = find_cmdstan()
    if cmdstan is not None:
        return _describe_cmdstan(cmdstan)
    return ensure_bundled(progress)


def find_cmdstan() -> Path | None:
    """A user's own CmdStan installation, or None."""
    env = os.environ.get(constants.ENV_CMDSTAN, "").strip()
    if env:
        path = Path(env).expanduser()
        if _is_bundled_path(path):
            return None  # set by us for cmdstanpy, not by the user
        if not (path / "makefile").is_file():
            raise ToolchainError(
                f"CMDSTAN is set to {path}, but that folder has no CmdStan makefile.",
                hint="Point CMDSTAN at a CmdStan installation, or unset it to use "
                "the toolchain bundled with mmm_runner.",
            )
        return path
    home = Path.home() / ".cmdstan"
    if home.is_dir():
        installs = sorted(
            (p for p in home.glob("cmdstan-*") if (p / "makefile").is_file()),
            key=lambda p: _version_key(p.name.removeprefix("cmdstan-")),
        )
        if installs:
            return installs[-1]
    return None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


def _is_bundled_path(path: Path) -> bool:
    with contextlib.suppress(ValueError):
        path.resolve().relative_to((cache_root() / "toolchain").resolve())
        return True
    return False


def _describe_cmdstan(path: Path) -> Toolchain:
    makefile = (path / "makefile").read_text(errors="replace")
    match = re.search(r"CMDSTAN_VERSION := (\S+)", makefile)
    version = match.group(1) if match else "unknown"
    compiler = compiler_version(_find_tool(os.environ.get("CXX", "g++"), "C++ compiler"))
    identity = parts_sha256(["cmdstan", str(path.resolve()), version, compiler])
    return Toolchain("cmdstan", path, version, compiler, identity)


def httpstan_dir() -> Path:
    """The installed httpstan package folder (not imported: only its files)."""
    spec = importlib.util.find_spec("httpstan")
    if spec is None or not spec.submodule_search_locations:
        raise ToolchainError(
            "The httpstan package, which provides Stan's headers and stanc, is not installed.",
            hint="Install mmm_runner with its dependencies (pip install -e .), "
            "or install CmdStan and set CMDSTAN.",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def stan_version(include_dir: Path) -> str:
    """The Stan version of a header tree, read from stan/version.hpp."""
    text = (include_dir / "stan" / "version.hpp").read_text()
    parts = [
        re.search(rf"#define STAN_{name} (\d+)", text) for name in ("MAJOR", "MINOR", "PATCH")
    ]
    if not all(parts):
        raise ToolchainError(f"Cannot read the Stan version from {include_dir}.")
    return ".".join(p.group(1) for p in parts if p)


def compiler_version(cxx: str) -> str:
    """The first line of ``<cxx> --version``."""
    out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0].strip() if out.stdout else cxx


def _find_tool(name: str, what: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolchainError(
            f"No {what} found: `{name}` is not on PATH.",
            hint="Install the build tools (Debian/Ubuntu: apt-get install g++ make; "
            "macOS: xcode-select --install), then run `mmm doctor`.",
        )
    return found


def _use_pch() -> bool:
    return os.environ.get(constants.ENV_NO_PCH, "") not in ("1", "true", "yes")


def _driver_sources() -> list[Path]:
    """The driver files linked into every model (top level of driver/)."""
    return sorted(p for p in DRIVER_DIR.iterdir() if p.suffix in (".cpp", ".hpp"))


def bundled_identity(cxx: str) -> tuple[str, str, str]:
    """(identity, Stan version, compiler) of the bundled toolchain.

    The identity covers the httpstan tree, the driver sources, the makefile
    template, the compiler and the flags, so any change gives a fresh build.
    """
    hs = httpstan_dir()
    version = stan_version(hs / "include")
    compiler = compiler_version(cxx)
    parts = [
        "bundled",
        str(hs.resolve()),
        version,
        compiler,
        " ".join(BASE_CXXFLAGS),
        "pch" if _use_pch() else "no-pch",
        MAKEFILE_TEMPLATE.read_text(),
    ]
    parts += [p.name + p.read_text() for p in _driver_sources()]
    return parts_sha256(parts), version, compiler


def ensure_bundled(progress: Progress | None = None) -> Toolchain:
    """The bundled toolchain, assembled first if this machine lacks it."""
    cxx = _find_tool(os.environ.get("CXX", "g++"), "C++ compiler")
    _find_tool("make", "make program")
    identity, version, compiler = bundled_identity(cxx)
    root = cache_root() / "toolchain"
    target = root / f"stan-{version}-{identity[:12]}"
    toolchain = Toolchain("bundled", target, version, compiler, identity)
    if _is_complete(target):
        return toolchain
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f"{target.name}.lock"):
        if not _is_complete(target):  # another process may have finished it
            _assemble(target, toolchain, cxx, progress or (lambda _msg: None))
    return toolchain


def _is_complete(target: Path) -> bool:
    record = target / "toolchain.json"
    if not record.is_file():
        return False
    objects = json.loads(record.read_text()).get("driver_objects", [])
    return all(Path(o).is_file() for o in objects) and (target / "bin" / "stanc").is_file()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on ``path`` (created if needed) across processes."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _assemble(target: Path, toolchain: Toolchain, cxx: str, progress: Progress) -> None:
    hs = httpstan_dir()
    include = hs / "include"
    started = time.perf_counter()
    progress("Assembling the Stan toolchain from httpstan (once per machine)")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        (staging / "bin").mkdir()
        shutil.copy2(hs / "stanc", staging / "bin" / "stanc")
        (staging / "bin" / "stanc").chmod(0o755)
        (staging / "lib").mkdir()
        shutil.copy2(hs / "lib" / "libtbb.so.2", staging / "lib" / "libtbb.so.2")
        (staging / "lib" / "libtbb.so").symlink_to("libtbb.so.2")
        shutil.copytree(DRIVER_DIR, staging / "driver")
        flags = [*BASE_CXXFLAGS, f"-I{include}"]
        # Object paths are final paths: the makefile links against them.
        objects = [
            target / "driver" / f"{src.stem}.o"
            for src in _driver_sources()
            if src.suffix == ".cpp"
        ]
        jobs = [
            [
                cxx,
                *flags,
                "-c",
                str(staging / "driver" / f"{o.stem}.cpp"),
                "-o",
                str(staging / "driver" / o.name),
            ]
            for o in objects
        ]
        pch_flags = ""
        if _use_pch():
            (staging / "pch").mkdir()
            header = staging / "pch" / "stan_model_header.hpp"
            header.write_text("#include <stan/model/model_header.hpp>\n")
            jobs.append([cxx, *flags, "-x", "c++-header", str(header), "-o", f"{header}.gch"])
            final_header = target / "pch" / "stan_model_header.hpp"
            pch_flags = f"-include {final_header} -Winvalid-pch"
        progress(f"Compiling the driver and precompiled header ({len(jobs)} jobs)")
        _run_parallel(jobs)
        _write_makefile(staging / "makefile", toolchain, include, cxx, flags, pch_flags, objects)
        record = {
            **toolchain.as_dict(),
            "httpstan": str(hs),
            "cxxflags": flags,
            "pch": bool(pch_flags),
            "driver_objects": [str(o) for o in objects],
            "assembly_seconds": round(time.perf_counter() - started, 1),
        }
        (staging / "toolchain.json").write_text(json.dumps(record, indent=2))
        if target.exists():
            shutil.rmtree(target)  # an incomplete earlier attempt
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress(f"Toolchain ready in {time.perf_counter() - started:.0f} s: {target}")


def _run_parallel(jobs: list[list[str]]) -> None:
    """Runs compiler commands, as many at once as there are cores."""
    width = usable_cores()
    pending = list(jobs)
    running: list[tuple[list[str], subprocess.Popen[str]]] = []
    failures: list[str] = []
    while pending or running:
        while pending and len(running) < width:
            cmd = pending.pop(0)
            running.append(
                (
                    cmd,
                    subprocess.Popen(
                        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                    ),
                )
            )
        cmd, proc = running.pop(0)
        out, _ = proc.communicate()
        if proc.returncode != 0:
            failures.append(f"$ {' '.join(cmd)}\n{out[-4000:]}")
    if failures:
        raise ToolchainError(
            "Building the Stan toolchain failed:\n" + "\n".join(failures),
            hint="Check that g++ supports C++17 (g++ 9 or later), then run `mmm doctor`.",
        )


def _write_makefile(
    path: Path,
    toolchain: Toolchain,
    include: Path,
    cxx: str,
    flags: list[str],
    pch_flags: str,
    objects: list[Path],
) -> None:
    values = {
        "@STAN_VERSION@": toolchain.stan_version,
        "@TOOLCHAIN@": str(toolchain.path),
        "@STAN_INCLUDE@": str(include),
        "@STAN_LIB@": str(include.parent / "lib"),
        "@CXX@": cxx,
        "@CXXFLAGS@": " ".join(flags),
        "@PCH_FLAGS@": pch_flags,
        "@DRIVER_OBJECTS@": " ".join(str(o) for o in objects),
    }
    text = MAKEFILE_TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace(key, value)
    path.write_text(text)


@dataclass(frozen=True)
class Diagnosis:
    """What `mmm doctor` reports: the toolchain in use and anything missing."""

    source: Source | None
    cmdstan_path: str | None
    stan_version: str | None
    compiler: str | None
    compiler_path: str | None
    make_path: str | None
    cmdstanpy_version: str | None
    ready: bool
    problems: list[tuple[str, str]]  # (what is wrong, how to fix it)
    note: str = ""  # not a problem, e.g. "assembled on first use"

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["problems"] = [{"problem": p, "fix": f} for p, f in self.problems]
        return data


def diagnose() -> Diagnosis:
    """Inspects the toolchain without building anything."""
    problems: list[tuple[str, str]] = []
    cxx_name = os.environ.get("CXX", "g++")
    cxx = shutil.which(cxx_name)
    make = shutil.which("make")
    if cxx is None:
        problems.append(
            (
                f"No C++ compiler: `{cxx_name}` is not on PATH.",
                "Install g++ (Debian/Ubuntu: apt-get install g++).",
            )
        )
    if make is None:
        problems.append(
            ("No `make` on PATH.", "Install make (Debian/Ubuntu: apt-get install make).")
        )
    cmdstanpy_version = None
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        cmdstanpy_version = version("cmdstanpy")
    if cmdstanpy_version is None:
        problems.append(("cmdstanpy is not installed.", "pip install -e . in the project."))
    source: Source | None = None
    path = version_text = None
    ready = False
    try:
        cmdstan = find_cmdstan()
        if cmdstan is not None:
            source, path = "cmdstan", cmdstan
            makefile = (cmdstan / "makefile").read_text(errors="replace")
            match = re.search(r"CMDSTAN_VERSION := (\S+)", makefile)
            version_text = match.group(1) if match else None
            ready = (cmdstan / "bin" / "stanc").is_file()
            if not ready:
                problems.append(
                    (
                        f"CmdStan at {cmdstan} is not built (no bin/stanc).",
                        f"Run `make build` in {cmdstan}.",
                    )
                )
        elif cxx is not None:
            source = "bundled"
            identity, version_text, _ = bundled_identity(cxx)
            path = cache_root() / "toolchain" / f"stan-{version_text}-{identity[:12]}"
            ready = _is_complete(path)
    except ToolchainError as exc:
        problems.append((exc.message, exc.hint))
    return Diagnosis(
        source=source,
        cmdstan_path=str(path) if path else None,
        stan_version=version_text,
        compiler=compiler_version(cxx) if cxx else None,
        compiler_path=cxx,
        make_path=make,
        cmdstanpy_version=cmdstanpy_version,
        ready=ready,
        problems=problems,
        note=""
        if ready or source != "bundled"
        else (
            "The bundled toolchain is assembled on the first `mmm run` (about 2 minutes), "
            "or now with `mmm doctor --build`."
        ),
    )
