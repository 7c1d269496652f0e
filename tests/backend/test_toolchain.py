"""Choosing and describing the toolchain; none of these tests compile anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmm_runner.backend import toolchain
from mmm_runner.cli.main import app
from mmm_runner.errors import ToolchainError


def test_cache_root_follows_env(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MMM_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert toolchain.cache_root() == tmp_path / "xdg" / "mmm_runner"
    monkeypatch.setenv("MMM_CACHE_DIR", str(tmp_path / "own"))
    assert toolchain.cache_root() == tmp_path / "own"


def _fake_cmdstan(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "makefile").write_text(f"CMDSTAN_VERSION := {version}\n")
    (folder / "bin").mkdir()
    (folder / "bin" / "stanc").write_text("")
    return folder


def test_a_users_cmdstan_wins(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    real = _fake_cmdstan(tmp_path / "cmdstan-2.36.0", "2.36.0")
    monkeypatch.setenv("CMDSTAN", str(real))
    assert toolchain.find_cmdstan() == real
    found = toolchain.locate()
    assert found.source == "cmdstan"
    assert found.stan_version == "2.36.0"
    assert found.path == real


def test_latest_install_under_home_is_found(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CMDSTAN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for version in ("2.33.1", "2.36.0", "2.9.0"):
        _fake_cmdstan(tmp_path / ".cmdstan" / f"cmdstan-{version}", version)
    assert toolchain.find_cmdstan() == tmp_path / ".cmdstan" / "cmdstan-2.36.0"


def test_cmdstan_without_makefile_is_an_error(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CMDSTAN", str(tmp_path))
    with pytest.raises(ToolchainError, match="no CmdStan makefile") as caught:
        toolchain.find_cmdstan()
    assert "unset it" in caught.value.hint


def test_our_own_cmdstan_setting_means_bundled(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MMM_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    inside = tmp_path / "toolchain" / "stan-2.35.0-abc"
    inside.mkdir(parents=True)
    monkeypatch.setenv("CMDSTAN", str(inside))
    assert toolchain.find_cmdstan() is None


def test_missing_compiler_gives_a_fix(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CMDSTAN", raising=False)
    monkeypatch.setenv("CXX", "no-such-compiler-xyz")
    with pytest.raises(ToolchainError, match="no-such-compiler-xyz") as caught:
        toolchain.ensure_bundled()
    assert "apt-get install g++" in caught.value.hint


def test_missing_httpstan_is_explained(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(toolchain.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolchainError, match="httpstan"):
        toolchain.httpstan_dir()


def test_identity_tracks_the_driver_sources(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    gxx = shutil.which("g++") or "g++"
    before, version, _ = toolchain.bundled_identity(gxx)
    assert version.count(".") == 2
    copy = tmp_path / "driver"
    shutil.copytree(toolchain.DRIVER_DIR, copy)
    (copy / "main.cpp").write_text((copy / "main.cpp").read_text() + "\n// changed\n")
    monkeypatch.setattr(toolchain, "DRIVER_DIR", copy)
    after, _, _ = toolchain.bundled_identity(gxx)
    assert after != before
    monkeypatch.setenv("MMM_NO_PCH", "1")
    assert toolchain.bundled_identity(gxx)[0] != after


def test_makefile_template_is_fully_substituted(tmp_path):  # type: ignore[no-untyped-def]
    tc = toolchain.Toolchain("bundled", tmp_path, "2.35.0", "g++ 12", "id")
    target = tmp_path / "makefile"
    toolchain._write_makefile(
        target, tc, tmp_path / "include", "g++", ["-O3"], "", [tmp_path / "main.o"]
    )
    text = target.read_text()
    assert "CMDSTAN_VERSION := 2.35.0\n" in text
    import re

    assert re.findall(r"@[A-Z_]+@", text) == []


def test_doctor_json_has_the_documented_keys(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CMDSTAN", str(_fake_cmdstan(tmp_path / "cmdstan", "2.36.0")))
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["source"] == "cmdstan"
    assert data["stan_version"] == "2.36.0"
    assert data["cmdstan_path"] == str(tmp_path / "cmdstan")


def test_doctor_names_the_missing_compiler(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CMDSTAN", raising=False)
    monkeypatch.setenv("CXX", "no-such-compiler-xyz")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 3
    assert "no-such-compiler-xyz" in result.stdout
    assert "apt-get install g++" in result.stdout
