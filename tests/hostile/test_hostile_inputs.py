"""Hostile configs and data files: each ends in a located message and exit 2, never a hang.

Every input is generated here.  Each case is checked three ways: through
`validate` (the problem's location, line and message), through `mmm validate`
and through `mmm run` (exit code 2, the message on stderr, no traceback and no
"internal error").  Alias bombs must be refused within a second (2 s allowed
for a loaded machine) and within 50 MB.  The limits are in docs/config.md,
"Limits and file problems".
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from mmm_runner.cli.main import app
from mmm_runner.config.loader import (
    MAX_CONFIG_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    load_config,
)
from mmm_runner.data.load import MAX_LINE_CHARS, read_table
from mmm_runner.errors import ConfigError, DataError, Problem
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "name: hostile\ndata: {path: data.csv}\nmodel: {kpi: revenue, media: [tv]}\n"
SECONDS = 30.0  # a hang guard, not a timing target: the bombs go within 1 s on an idle
# machine; memory tracing slows Python several-fold, and a shared machine under load took
# 14 s for the deepest nesting
PEAK_BYTES = 50 * 1024 * 1024


# --- helpers ---------------------------------------------------------------------------


def _write(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _data(rows: int = 30) -> str:
    lines = ["date,revenue,tv"]
    lines += [f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{1000 + i},{i % 7}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def _error(problems: list[Problem], location: str, text: str) -> Problem:
    """The problem at ``location`` whose message or fix holds ``text``."""
    for problem in problems:
        if problem.location == location and text in f"{problem.message} | {problem.fix}":
            return problem
    shown = "\n".join(f"  {p.location}: {p.message} | {p.fix}" for p in problems)
    raise AssertionError(f"no problem at {location!r} with {text!r}; got:\n{shown}")


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    return result.exit_code, result.stderr


def _assert_commands_refuse(config: Path, *texts: str) -> None:
    """`mmm validate` and `mmm run` both exit 2 naming the problem; nothing is written."""
    out = config.parent / "results"
    for command in (
        ("validate", "--config", str(config)),
        ("run", "--config", str(config), "--output-dir", str(out), "--no-plots"),
    ):
        code, stderr = _cli(*command)
        assert code == 2, stderr
        for text in texts:
            assert text in stderr, f"{command[0]}: {text!r} not in:\n{stderr}"
    assert not out.exists()


def _refused(config: Path, location: str, text: str) -> Problem:
    result = validate(config)
    assert not result.ok
    problem = _error(result.errors, location, text)
    _assert_commands_refuse(config, text)
    return problem


def _bounded(action: Callable[[], Any]) -> tuple[Any, float, int]:
    """What ``action`` returned, the seconds it took and the peak memory it allocated."""
    tracemalloc.start()
    try:
        started = time.perf_counter()
        value = action()
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return value, seconds, peak


# --- alias bombs and nesting -----------------------------------------------------------


def _laughs(levels: int = 9) -> str:
    """The "billion laughs": each level lists the previous one nine times (9^9 values)."""
    lines = ["description:", "  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"  - &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return CONFIG + "\n".join(lines) + "\n"


def _mapping_laughs(levels: int = 9) -> str:
    """The same with mappings: nine keys per level, each naming the level below."""
    lines = ["fit:", "  x0: &m0 {a: lol, b: lol, c: lol, d: lol, e: lol, f: lol, g: lol}"]
    for level in range(1, levels):
        keys = ", ".join(f"k{k}: *m{level - 1}" for k in range(9))
        lines.append(f"  x{level}: &m{level} {{{keys}}}")
    return CONFIG + "\n".join(lines) + "\n"


def _merge_laughs(levels: int = 12) -> str:
    """Merge keys: PyYAML itself copies merged pairs, so this one blows up PyYAML's own merge."""
    lines = ["fit:", "  x0: &g0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    for level in range(1, levels):
        lines.append(f"  x{level}: &g{level} {{<<: [" + ", ".join([f"*g{level - 1}"] * 9) + "]}")
    return CONFIG + "\n".join(lines) + "\n"


BOMBS = {"lists": _laughs, "mappings": _mapping_laughs, "merge_keys": _merge_laughs}


@pytest.mark.parametrize("shape", BOMBS)
def test_alias_bombs_are_refused_fast_in_bounded_memory(tmp_path: Path, shape: str) -> None:
    text = BOMBS[shape]()
    assert len(text) < 1500  # a few hundred bytes of aliases
    config = _write(tmp_path, "bomb.yaml", text)
    result, seconds, peak = _bounded(lambda: validate(config))
    assert seconds < SECONDS, f"{seconds:.2f} s"
    assert peak < PEAK_BYTES, f"{peak / 1e6:.0f} MB"
    [problem] = result.errors
    where = re.fullmatch(r"bomb\.yaml:(\d+)", problem.location)
    assert where, problem.location
    line = int(where.group(1))
    assert "*" in text.splitlines()[line - 1]  # the line of the alias where the count ran over
    assert re.search(
        rf"alias \*\w+ expands the config past {MAX_YAML_NODES:,} values", problem.message
    )
    assert f"at line {line}" in problem.message
    assert "aliases of aliases" in problem.fix
    _assert_commands_refuse(config, "expands the config past 100,000 values", f"bomb.yaml:{line}")


def test_the_bomb_is_refused_by_the_real_command(tmp_path: Path) -> None:
    config = _write(tmp_path, "bomb.yaml", _laughs())
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mmm_runner.cli.main", "validate", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert "expands the config past 100,000 values" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert time.perf_counter() - started < 60  # interpreter start-up included


def test_aliases_under_the_limit_still_work(tmp_path: Path) -> None:
    text = CONFIG.replace(
        "model: {kpi: revenue, media: [tv]}\n",
        "model:\n"
        "  kpi: revenue\n"
        "  media:\n"
        "    - {name: tv, adstock: &ad {type: geometric, l_max: 4}}\n"
        "    - {name: search, adstock: *ad}\n",
    )
    loaded = load_config(_write(tmp_path, "ok.yaml", text))
    assert [m.adstock.l_max for m in loaded.config.model.media] == [4, 4]


def test_deep_nesting_is_refused_at_its_line(tmp_path: Path) -> None:
    config = _write(tmp_path, "deep.yaml", CONFIG + "description: " + "[" * 20_000 + "]" * 20_000)
    result, seconds, _ = _bounded(lambda: validate(config))
    assert seconds < SECONDS
    problem = _error(result.errors, "deep.yaml:4", f"more than {MAX_YAML_DEPTH} levels deep")
    assert "check the brackets" in problem.fix
    _assert_commands_refuse(config, "levels deep")


def test_nesting_through_aliases_counts_too(tmp_path: Path) -> None:
    lines = ["description:", "  - &n0 " + "[" * 40 + "]" * 40]
    lines += [f"  - &n{i} " + "[" * 40 + f"*n{i - 1}" + "]" * 40 for i in range(1, 3)]
    config = _write(tmp_path, "deep.yaml", CONFIG + "\n".join(lines) + "\n")
    _refused(config, "deep.yaml:6", "alias *n0 nests the config more than 50 levels deep")


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    config = _write(tmp_path, "loop.yaml", CONFIG + "description: &me [1, *me]\n")
    _refused(config, "loop.yaml:4", "alias *me is used inside the value it names")


# --- keys written twice ----------------------------------------------------------------

DUPLICATES = """\
name: twice
data: {path: data.csv}
model:
  kpi: revenue
  media:
    - name: tv
      adstock: {type: geometric, l_max: 4}
      name: search
fit: {method: map}
seed: 1
fit: {method: mcmc}
"""


def test_keys_written_twice_name_both_lines_at_any_level(tmp_path: Path) -> None:
    config = _write(tmp_path, "twice.yaml", DUPLICATES)
    result = validate(config)
    top = _error(result.errors, "fit", "key 'fit' at line 11 repeats line 9")
    assert top.line == 11
    assert "YAML would silently use only the last" in top.fix
    _error(result.errors, "model.media[0].name", "key 'name' at line 8 repeats line 6")
    _assert_commands_refuse(config, "key 'fit' at line 11 repeats line 9", "line 8 repeats line 6")


def test_keys_written_twice_on_one_line_name_the_columns(tmp_path: Path) -> None:
    config = _write(tmp_path, "flow.yaml", CONFIG + "fit: {chains: 2, chains: 4}\n")
    _refused(config, "fit.chains", "key 'chains' at line 4, column 18, repeats column 7")


def test_a_merge_then_an_override_is_not_a_repeat(tmp_path: Path) -> None:
    text = CONFIG.replace(
        "model: {kpi: revenue, media: [tv]}\n",
        "model:\n"
        "  kpi: revenue\n"
        "  media:\n"
        "    - {name: tv, adstock: &ad {type: geometric, l_max: 4}}\n"
        "    - name: search\n"
        "      adstock:\n"
        "        <<: *ad\n"
        "        l_max: 6\n",
    )
    loaded = load_config(_write(tmp_path, "merge.yaml", text))
    assert [m.adstock.l_max for m in loaded.config.model.media] == [4, 6]
    assert loaded.lines[("model", "media", 1, "adstock", "l_max")] == 10
    assert loaded.lines[("model", "media", 1, "adstock", "type")] == 6  # where the merged value is


def test_two_merge_keys_in_one_mapping_are_a_repeat(tmp_path: Path) -> None:
    text = CONFIG + "fit:\n  x: &a {chains: 2}\n  y: &b {warmup: 10}\n  <<: *a\n  <<: *b\n"
    problem = _refused(
        _write(tmp_path, "merges.yaml", text), "fit.<<", "merge key '<<' at line 8 repeats line 7"
    )
    assert "`<<: [*first, *second]`" in problem.fix


# --- bytes and characters --------------------------------------------------------------


def test_non_utf8_bytes_are_located_with_advice(tmp_path: Path) -> None:
    text = CONFIG.encode() + "description: café\n".encode("latin-1")
    config = _write(tmp_path, "latin1.yaml", text)
    offset = text.index("é".encode("latin-1"))
    problem = _refused(
        config,
        "latin1.yaml:4",
        f"byte 0xe9 at line 4, column 17 (byte offset {offset}) is not UTF-8",
    )
    assert "as Windows-1252 it would be 'é'" in problem.message
    assert "save the file as UTF-8" in problem.fix


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    config = _write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + CONFIG.encode())
    assert load_config(config).config.name == "hostile"


def test_utf16_is_refused_with_a_conversion(tmp_path: Path) -> None:
    config = _write(tmp_path, "utf16.yaml", CONFIG.encode("utf-16"))
    problem = _refused(config, str(config), "saved as UTF-16 or UTF-32, not UTF-8")
    assert "iconv -f UTF-16 -t UTF-8" in problem.fix


def test_nul_bytes_mean_a_binary_file(tmp_path: Path) -> None:
    config = _write(tmp_path, "binary.yaml", CONFIG.encode() + b"seed: 1\x00\x01\x02\n")
    _refused(config, "binary.yaml:4", "NUL byte (line 4, column 8): it is a binary file")


def test_control_characters_are_located(tmp_path: Path) -> None:
    config = _write(tmp_path, "bell.yaml", CONFIG + "seed: 1\x07\n")
    _refused(config, "bell.yaml:4", "control character U+0007 at line 4, column 8")


# --- size ------------------------------------------------------------------------------


def test_a_config_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    padding = "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)
    config = _write(tmp_path, "big.yaml", CONFIG + padding)
    problem = _refused(config, str(config), "over the 1 MiB limit for configs")
    assert "a config holds settings, not data" in problem.fix


def test_a_huge_config_is_refused_without_reading_it(tmp_path: Path) -> None:
    config = tmp_path / "huge.yaml"
    with config.open("wb") as file:
        file.write(CONFIG.encode())
        file.truncate(2 * 1024**3)  # 2 GiB, sparse: reading it whole would take a while
    result, seconds, peak = _bounded(lambda: validate(config))
    assert seconds < SECONDS
    assert peak < 5 * 1024 * 1024
    _error(result.errors, str(config), "config file is 2048.0 MiB, over the 1 MiB limit")


# --- shapes and syntax -----------------------------------------------------------------

SHAPES: dict[str, tuple[str, str, str]] = {
    "empty": ("", "{path}", "the config file is empty"),
    "comments_only": ("# nothing here yet\n\n", "{path}", "the config file is empty"),
    "top_level_list": ("- a\n- b\n", "{name}:1", "must be a mapping of sections"),
    "top_level_scalar": ("just text\n", "{name}:1", "found a single value"),
    "tab_indentation": ("name: x\nmodel:\n\tkpi: y\n", "{name}:3", "replace the tab on line 3"),
    "syntax_error": ("name: x\nmodel:\n  kpi revenue\n  media: [tv]\n", "{name}:4", "column 8"),
    "unclosed_bracket": (
        "name: x\nmodel: [a\n",
        "{name}:3",
        "while parsing a flow sequence at line 2",
    ),
    "two_documents": (CONFIG + "---\nname: y\n", "{name}:4", "remove the '---' line"),
    "undefined_alias": ("name: *nope\n", "{name}:1", "found undefined alias 'nope'"),
    "python_tag": ("name: !!python/object/apply:os.system [ls]\n", "{name}:1", "without a !!tag"),
    "impossible_date": (
        CONFIG + "description: 2024-13-45\n",
        "{name}:4",
        "month must be in 1..12",
    ),
    "huge_number": (CONFIG + "seed: " + "9" * 5000 + "\n", "{name}:4", "cannot read the value"),
    "bad_bool_tag": (CONFIG + "description: !!bool maybe\n", "{name}:4", "not a valid bool"),
    "nul_escape": (CONFIG + 'description: "a\\0b"\n', "{name}:4", "holds a NUL"),
    "list_as_key": (CONFIG + "? [a, b]\n: 1\n", "{name}:4", "write keys as plain names"),
    "number_as_key": (CONFIG + "1: x\n", "1", "key 1 is not a name"),
}


@pytest.mark.parametrize("case", SHAPES)
def test_empty_misshapen_and_malformed_configs(tmp_path: Path, case: str) -> None:
    text, location, message = SHAPES[case]
    config = _write(tmp_path, f"{case}.yaml", text)
    _refused(config, location.format(path=config, name=config.name), message)


def test_syntax_errors_give_line_and_column(tmp_path: Path) -> None:
    config = _write(tmp_path, "syntax.yaml", "name: x\nmodel:\n  kpi revenue\n  media: [tv]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert "is not valid YAML (line 4, column 8)" in caught.value.message
    [problem] = caught.value.problems
    assert problem.message.startswith("mapping values are not allowed here")
    assert "check line 4 and the line before it" in problem.fix


# --- the config path -------------------------------------------------------------------


def test_a_folder_as_config(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    problem = _refused(folder, str(folder), "config file is a folder, not a file")
    assert "a file inside it" in problem.fix


def test_a_symlink_loop_as_config(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    config = tmp_path / "a.yaml"
    problem = _refused(config, str(config), "config file is a symbolic link loop")
    assert "ls -l" in problem.fix


def test_a_dangling_symlink_as_config(tmp_path: Path) -> None:
    config = tmp_path / "link.yaml"
    config.symlink_to("gone.yaml")
    problem = _refused(config, str(config), "symbolic link to gone.yaml, which does not exist")
    assert "point the link (or the path) at the real file" in problem.fix


def test_a_missing_config_still_suggests_init(tmp_path: Path) -> None:
    problem = _refused(
        tmp_path / "nope.yaml", str(tmp_path / "nope.yaml"), "config file not found"
    )
    assert "`mmm init --data <csv>`" in problem.fix
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert "mmm init" in caught.value.hint


def test_a_pipe_as_config_is_refused_not_read(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)  # opening it to read would block until someone writes
    _refused(pipe, str(pipe), "not a regular file (a pipe, socket or device")


def _deny_reading(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """Opening ``target`` fails as it does for a file without read permission."""
    real_open = Path.open

    def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == target.name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)


def test_an_unreadable_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _write(tmp_path, "secret.yaml", CONFIG)
    _deny_reading(monkeypatch, config)
    problem = _refused(config, str(config), "config file cannot be read: permission denied")
    assert f"chmod u+r {config}" in problem.fix


# --- data files ------------------------------------------------------------------------


def _with_data(folder: Path, content: bytes | str, name: str = "data.csv") -> Path:
    _write(folder, name, content)
    return _write(folder, "run.yaml", CONFIG.replace("data.csv", name))


def _data_refused(config: Path, location_end: str, text: str) -> Problem:
    result = validate(config)
    assert not result.ok
    matches = [
        p for p in result.errors if p.location.endswith(location_end) and text in p.message + p.fix
    ]
    assert matches, [p.render() for p in result.errors]
    # The config's data.path line, where the config is what points at the problem; a
    # problem located in the data file carries its own line in its location instead.
    assert matches[0].line == (2 if location_end == "data.path" else None)
    _assert_commands_refuse(config, text)
    return matches[0]


def test_the_generated_data_is_a_valid_table(tmp_path: Path) -> None:
    assert read_table(_write(tmp_path, "data.csv", _data())).shape == (30, 3)


def test_data_not_utf8_names_line_column_and_offset(tmp_path: Path) -> None:
    text = _data().encode().replace(b"\n2024-01-05,1004,4", b"\n2024-01-05,1004,4\xe9", 1)
    config = _with_data(tmp_path, text)
    offset = text.index(b"4\xe9") + 1
    problem = _data_refused(
        config,
        "data.csv:line 6",
        f"byte 0xe9 at line 6, column 18 (byte offset {offset}) is not UTF-8",
    )
    assert "re-save the file as UTF-8" in problem.fix


def test_a_bad_byte_past_the_first_megabyte_is_located_exactly(tmp_path: Path) -> None:
    body = "date,revenue,tv\n" + "x" * 49 + "\n"
    body += "".join(f"{i:09d},{'é' * 20},1\n" for i in range(40_000))  # 2.1 MB
    data = body.encode() + b"bad,\xff,1\n"
    assert data[1024 * 1024 - 1 : 1024 * 1024 + 1] == "é".encode()  # split between 1 MiB reads
    path = _write(tmp_path, "late.csv", data)
    with pytest.raises(DataError) as caught:
        read_table(path)
    [problem] = caught.value.problems
    assert problem.location.endswith("late.csv:line 40003")
    assert f"byte 0xff at line 40003, column 5 (byte offset {len(body.encode()) + 4})" in (
        problem.message
    )


def test_a_utf8_byte_order_mark_in_data_is_accepted(tmp_path: Path) -> None:
    frame = read_table(_write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + _data().encode()))
    assert list(frame.columns) == ["date", "revenue", "tv"]


DATA_CASES: dict[str, tuple[bytes | str, str, str]] = {
    "empty": (b"", "data.csv", "the file is empty (0 bytes)"),
    "blank": (b"\n   \n\n", "data.csv", "no header row (it is blank)"),
    "header_only": (b"date,revenue,tv\n", "data.csv", "a header row but no data rows"),
    "binary": (bytes(range(256)) * 4, "data.csv", "the file is binary (it has NUL bytes)"),
    "xlsx": (b"PK\x03\x04" + bytes(100), "data.csv", "an Excel .xlsx workbook, not a CSV table"),
    "xls": (b"\xd0\xcf\x11\xe0" + bytes(100), "data.csv", "an Excel .xls workbook"),
    "parquet_named_csv": (b"PAR1" + bytes(100), "data.csv", "a Parquet file, not a CSV table"),
    "gzip_named_csv": (b"\x1f\x8b\x08" + bytes(100), "data.csv", "name it .csv.gz"),
    "utf16": (_data().encode("utf-16"), "data.csv", "saved as UTF-16 text"),
    "ragged_row": (
        _data(3) + "2024-02-01,1,2,3\n",
        "data.csv:line 5",
        "Expected 3 fields in line 5, saw 4",
    ),
    "late_nul": (
        _data(600) + "2024-12-01,1\x00,2\n",  # past the first 8 KiB
        "data.csv:line 602",
        "line 602 has a NUL byte",
    ),
    "huge_line": (
        _data(3) + "1," * (MAX_LINE_CHARS // 2 + 10) + "\n",
        "data.csv:line 5",
        f"line 5 is longer than {MAX_LINE_CHARS:,} characters",
    ),
    "no_line_breaks": ("a," * (MAX_LINE_CHARS // 2 + 10), "data.csv:line 1", "line 1 is longer"),
}


@pytest.mark.parametrize("case", DATA_CASES)
def test_data_files_that_are_not_tables(tmp_path: Path, case: str) -> None:
    content, location_end, text = DATA_CASES[case]
    _data_refused(_with_data(tmp_path, content), location_end, text)


def test_a_folder_as_data(tmp_path: Path) -> None:
    (tmp_path / "data.csv").mkdir()
    config = _write(tmp_path, "run.yaml", CONFIG)
    _data_refused(config, "data.path", "data.csv is a folder, not a file")


def test_a_dangling_symlink_as_data(tmp_path: Path) -> None:
    (tmp_path / "data.csv").symlink_to("exported.csv")
    config = _write(tmp_path, "run.yaml", CONFIG)
    # the message names the link as configured and the target it points to
    _data_refused(config, "data.path", "is a symbolic link to exported.csv, which does not exist")
    with pytest.raises(DataError) as caught:
        read_table(tmp_path / "data.csv")
    assert "(it is a symbolic link to exported.csv, which does not exist)" in (
        caught.value.problems[0].message
    )


def test_a_symlink_loop_as_data_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to("b.csv")
    (tmp_path / "b.csv").symlink_to("a.csv")
    with pytest.raises(DataError) as caught:
        read_table(tmp_path / "a.csv")
    [problem] = caught.value.problems
    assert problem.location == "data.path"
    assert "a.csv is a symbolic link loop" in problem.message


def test_a_symlink_loop_as_data_through_validate(tmp_path: Path) -> None:
    (tmp_path / "data.csv").symlink_to("other.csv")
    (tmp_path / "other.csv").symlink_to("data.csv")
    config = _write(tmp_path, "run.yaml", CONFIG)
    _data_refused(config, "data.path", "is a symbolic link loop")


def test_a_pipe_as_data_is_refused_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "data.csv")
    config = _write(tmp_path, "run.yaml", CONFIG)
    _data_refused(config, "data.path", "is not a regular file")


def test_an_unreadable_data_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _with_data(tmp_path, _data())
    _deny_reading(monkeypatch, tmp_path / "data.csv")
    problem = _data_refused(config, "data.path", "data.csv cannot be read: permission denied")
    assert "chmod u+r" in problem.fix


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*_: object, **__: object) -> None:
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow'")

    monkeypatch.setattr(pd, "read_parquet", missing)  # as where pyarrow is not installed
    config = _with_data(tmp_path, b"PAR1" + bytes(100) + b"PAR1", name="data.parquet")
    _data_refused(config, "data.path", "Parquet support needs pyarrow")
