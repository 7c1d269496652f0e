"""The content-hashed compile cache: hits, misses, corruption and concurrency."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmm_runner.backend import cache

pytestmark = pytest.mark.stan

PROGRAM = """
functions {
#include lib/shift.stanfunctions
}
parameters { real mu; }
model { mu ~ normal(shift(%s), 1); }
"""


def _program(folder: Path, constant: str = "1.0", shift: str = "x + 1") -> Path:
    (folder / "lib").mkdir(parents=True, exist_ok=True)
    (folder / "lib" / "shift.stanfunctions").write_text(
        f"real shift(real x) {{ return {shift}; }}\n"
    )
    path = folder / "cached.stan"
    path.write_text(PROGRAM % constant)
    return path


def test_second_compile_is_a_fast_hit(toolchain, tmp_path):  # type: ignore[no-untyped-def]
    stan_file = _program(tmp_path / "src")
    first = cache.compile_model(stan_file, toolchain, cache_dir=tmp_path / "cache")
    assert not first.cache_hit
    assert first.exe.is_file()
    second = cache.compile_model(stan_file, toolchain, cache_dir=tmp_path / "cache")
    assert second.cache_hit
    assert second.exe == first.exe
    assert second.seconds < 1.0
    assert second.included_files == (tmp_path / "src" / "lib" / "shift.stanfunctions",)


def test_source_and_include_changes_miss(toolchain, tmp_path):  # type: ignore[no-untyped-def]
    store = tmp_path / "cache"
    base = cache.compile_model(_program(tmp_path / "a"), toolchain, cache_dir=store)
    changed_source = cache.compile_model(
        _program(tmp_path / "b", constant="2.0"), toolchain, cache_dir=store
    )
    changed_include = cache.compile_model(
        _program(tmp_path / "c", shift="x + 2"), toolchain, cache_dir=store
    )
    keys = {base.key, changed_source.key, changed_include.key}
    assert len(keys) == 3
    assert not changed_source.cache_hit
    assert not changed_include.cache_hit
    # An identical program elsewhere on disk shares the entry.
    same = cache.compile_model(_program(tmp_path / "d"), toolchain, cache_dir=store)
    assert same.cache_hit
    assert same.key == base.key


def test_corrupt_executable_is_rebuilt_and_force_rebuilds(toolchain, tmp_path):  # type: ignore[no-untyped-def]
    stan_file = _program(tmp_path / "src", constant="3.0")
    store = tmp_path / "cache"
    built = cache.compile_model(stan_file, toolchain, cache_dir=store)
    data = built.exe.read_bytes()
    built.exe.write_bytes(data[: len(data) // 2])  # truncated
    rebuilt = cache.compile_model(stan_file, toolchain, cache_dir=store)
    assert not rebuilt.cache_hit
    assert rebuilt.exe.read_bytes() != data[: len(data) // 2]
    out = subprocess.run([str(rebuilt.exe), "info"], capture_output=True, text=True, check=False)
    assert out.returncode == 0
    forced = cache.compile_model(stan_file, toolchain, cache_dir=store, force=True)
    assert not forced.cache_hit


def test_concurrent_compiles_of_one_program_agree(toolchain, tmp_path):  # type: ignore[no-untyped-def]
    stan_file = _program(tmp_path / "src", constant="4.0")
    store = tmp_path / "cache"
    script = (
        "import sys; from pathlib import Path;"
        "from mmm_runner.backend import cache, toolchain;"
        "m = cache.compile_model("
        "    Path(sys.argv[1]), toolchain.locate(), cache_dir=Path(sys.argv[2]));"
        "print(m.cache_hit, m.exe)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(stan_file), str(store)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    started = time.perf_counter()
    results = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    hits = sorted(out.split()[0] for out, _ in results)
    assert hits == ["False", "True"]  # one built it, the other waited and reused it
    exes = {out.split()[1] for out, _ in results}
    assert len(exes) == 1
    out = subprocess.run([exes.pop(), "info"], capture_output=True, text=True, check=False)
    assert out.returncode == 0
    assert time.perf_counter() - started < 600
    leftovers = [p for p in store.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_stan_errors_name_the_line(toolchain, tmp_path):  # type: ignore[no-untyped-def]
    from mmm_runner.errors import CompileError

    bad = tmp_path / "broken.stan"
    bad.write_text("parameters { real mu }\nmodel { mu ~ normal(0, 1); }\n")
    with pytest.raises(CompileError, match="line 1"):
        cache.compile_model(bad, toolchain, cache_dir=tmp_path / "cache")
