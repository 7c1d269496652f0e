"""Reading a config file: the only place YAML is read.

Every mistake comes back at once as a Problem naming its YAML path
(``model.media[2].adstock.l_max``), its line, the bad value and a fix; an
unknown key gets a "did you mean" from the keys allowed there.

Hostile files are refused before they cost time or memory (docs/config.md,
"Limits and file problems"): anything that is not a regular file, files over
``MAX_CONFIG_BYTES``, bytes that are not UTF-8, and YAML whose aliases would
expand past ``MAX_YAML_NODES`` values or nest deeper than ``MAX_YAML_DEPTH``.
A key written twice in one mapping is an error, never "the last one wins".
"""

from __future__ import annotations

import codecs
import difflib
import errno
import os
import stat
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ValidationError

from mmm_runner.config.models import RunConfig
from mmm_runner.errors import ConfigError, Problem

Loc = tuple[str | int, ...]

MAX_CONFIG_BYTES: Final = 1024 * 1024  # a config holds settings, not data
MAX_YAML_NODES: Final = 100_000  # values after alias expansion; real configs have hundreds
MAX_YAML_DEPTH: Final = 50  # nesting levels after alias expansion; real configs use under 10

_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_NULL_TAG: Final = "tag:yaml.org,2002:null"
_INIT_HINT: Final = "Start from a commented starter config: `mmm init --data <csv>`."


@dataclass(frozen=True)
class LoadedConfig:
    """A valid config with where it came from."""

    config: RunConfig
    path: Path
    raw: dict[str, Any]  # as given (for the run folder)
    lines: dict[Loc, int]  # YAML path -> line number

    @property
    def folder(self) -> Path:
        return self.path.parent

    def line(self, loc: Loc) -> int | None:
        """The line of a YAML path, or of its nearest ancestor."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return None


def format_loc(loc: Loc) -> str:
    """('model', 'media', 2, 'adstock') -> 'model.media[2].adstock'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_config(path: Path) -> LoadedConfig:
    """Reads and validates a config file; raises ConfigError listing every problem."""
    path = Path(path)
    text = _read_text(path)
    raw, lines, problems = _read_yaml(text, path)
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems += [_problem(err, lines) for err in exc.errors(include_url=False)]
    if problems:
        raise ConfigError(
            f"{path}: {len(problems)} problem(s) in the config",
            problems,
            hint="Fix the lines above; `mmm validate --config` rechecks without running.",
        )
    return LoadedConfig(config, path.resolve(), raw, lines)


def read_document(path: Path) -> tuple[dict[str, Any], dict[Loc, int]]:
    """A YAML file of settings (e.g. a sweep) read under the config file's guards.

    Returns the mapping and the line of every YAML path; raises ConfigError for the
    same file, encoding and YAML problems as a config (size, alias bombs, keys
    written twice).
    """
    path = Path(path)
    raw, lines, problems = _read_yaml(_read_text(path), path)
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s) in the file", problems)
    return raw, lines


def pydantic_problem(err: Any, lines: dict[Loc, int]) -> Problem:
    """One of pydantic's findings on a config as a located Problem (with typo suggestions)."""
    return _problem(err, lines)


# --- the file -------------------------------------------------------------------------


@dataclass(frozen=True)
class FileTrouble:
    """Why a path cannot be read as a file: what is wrong (no subject) and what to do."""

    message: str
    fix: str
    missing: bool = False


def file_trouble(path: Path) -> FileTrouble | None:
    """What stops ``path`` being opened as a regular file, or None when nothing does.

    Checked before opening so that a folder, a symlink loop, or a pipe or device (which
    would block or never end) is named as such instead of failing somewhere inside a parser.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return FileTrouble(
                f"is a symbolic link to {_link_target(path)}, which does not exist",
                "point the link (or the path) at the real file",
                missing=True,
            )
        return FileTrouble("not found", "check the path", missing=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return FileTrouble(
                "is a symbolic link loop (links that point at each other, never at a file)",
                f"use the real file's path; `ls -l {path}` shows where each link points",
            )
        if exc.errno == errno.EACCES:
            return FileTrouble(
                "cannot be reached: permission denied on a folder in its path",
                "make the folders readable (chmod u+rx) or copy the file somewhere readable",
            )
        return FileTrouble(
            f"cannot be opened: {exc.strerror or exc}", "check the path and the file"
        )
    if stat.S_ISDIR(info.st_mode):
        return FileTrouble("is a folder, not a file", "give the path of a file inside it")
    if not stat.S_ISREG(info.st_mode):
        return FileTrouble(
            "is not a regular file (a pipe, socket or device, which may never end)",
            "save the content to a file and give that file's path",
        )
    return None


def open_trouble(error: OSError, path: Path) -> FileTrouble:
    """An error from opening or reading a file that passed ``file_trouble``."""
    if isinstance(error, PermissionError):
        return FileTrouble(
            "cannot be read: permission denied",
            f"make it readable (`chmod u+r {path}`) or ask its owner for a copy",
        )
    return FileTrouble(
        f"cannot be read: {error.strerror or error}", "check the file and the disk it is on"
    )


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "a path"


def _file_error(path: Path, trouble: FileTrouble) -> ConfigError:
    fix = trouble.fix
    if trouble.missing:
        fix += ", or write a starter config with `mmm init --data <csv>`"
    return ConfigError(
        f"config file {path} {trouble.message}",
        [Problem(str(path), f"config file {trouble.message}", fix)],
        hint=_INIT_HINT if trouble.missing else "",
    )


def _read_text(path: Path) -> str:
    """The config's text: a regular, readable file of at most MAX_CONFIG_BYTES of UTF-8."""
    trouble = file_trouble(path)
    if trouble is not None:
        raise _file_error(path, trouble)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise _too_big(path, size)
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)  # never more, whatever stat said
    except OSError as exc:
        raise _file_error(path, open_trouble(exc, path)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise _too_big(path, len(data))
    return _decode(data, path)


def _too_big(path: Path, size: int) -> ConfigError:
    limit = f"{MAX_CONFIG_BYTES // 1024 // 1024} MiB"
    message = f"config file is {_size(size)}, over the {limit} limit for configs"
    return ConfigError(
        f"{path}: {message}",
        [
            Problem(
                str(path),
                message,
                "a config holds settings, not data: put the data in the file named by "
                "data.path, and check --config points at the YAML file",
            )
        ],
    )


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); anything else is refused."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or data.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        message = "config file is saved as UTF-16 or UTF-32, not UTF-8"
        fix = "save it as UTF-8, or convert it with `iconv -f UTF-16 -t UTF-8 old.yaml > new.yaml`"
        _raise(path, str(path), message, fix)
    if b"\x00" in data:
        line, column = _position(data, data.index(b"\x00"))
        message = (
            f"config file contains a NUL byte (line {line}, column {column}): "
            "it is a binary file, not YAML text"
        )
        _raise(path, f"{path.name}:{line}", message, "check --config names the YAML file")
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        where = start + exc.start
        line, column = _position(data, where)
        message = (
            f"byte {data[where]:#04x} at line {line}, column {column} (byte offset {where}) "
            f"is not UTF-8{_guess(data[where : where + 1])}"
        )
        _raise(path, f"{path.name}:{line}", message, _SAVE_AS_UTF8)


_SAVE_AS_UTF8: Final = (
    "save the file as UTF-8 (in most editors: Save As, encoding UTF-8), or convert it with "
    "`iconv -f WINDOWS-1252 -t UTF-8 old.yaml > new.yaml`"
)


def _raise(path: Path, location: str, message: str, fix: str) -> typing.NoReturn:
    raise ConfigError(f"{path}: {message}", [Problem(location, message, fix)])


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (in characters, from 1) of a byte offset in valid-up-to-there UTF-8."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    before = data[line_start:offset].decode("utf-8", errors="replace")
    return data.count(b"\n", 0, offset) + 1, len(before.removeprefix("\ufeff")) + 1


def _guess(byte: bytes) -> str:
    """What a stray byte most likely meant, as Windows-1252 (the usual culprit)."""
    try:
        char = byte.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return f"; as Windows-1252 it would be {char!r}" if char.isprintable() else ""


# --- the YAML -------------------------------------------------------------------------


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses alias bombs and deep nesting while it composes.

    Aliases share nodes, so composing stays cheap, but everything after it
    (construction, the line index, pydantic) walks the document as a tree and
    visits every alias expansion: a few hundred bytes of nested aliases
    expand to billions of values.  Counting each node at its expanded size as
    it is composed keeps all of that under MAX_YAML_NODES and MAX_YAML_DEPTH,
    and names the alias where the limit was hit.
    """

    def __init__(self, text: str, path: Path) -> None:
        super().__init__(text)
        self.path = path
        self.expanded = 0  # values in the document so far, aliases expanded
        self.depth = 0
        self.measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, levels)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            measured = self.measured.get(id(node))
            if measured is None:  # the anchor is still open: *a inside &a
                self._refuse(
                    line,
                    f"alias *{event.anchor} is used inside the value it names (a loop)",
                    f"an alias can only repeat a value that is complete: move *{event.anchor} "
                    "out of it",
                )
            values, levels = measured
            alias = f"alias *{event.anchor}"
            if self.depth + levels > MAX_YAML_DEPTH:
                self._refuse(
                    line,
                    f"{alias} nests the config more than {MAX_YAML_DEPTH} levels deep",
                    "use fewer levels of aliases",
                )
            self._count(values, line, alias)
            return node
        self.depth += 1
        if self.depth > MAX_YAML_DEPTH:
            self._refuse(
                line,
                f"the config nests more than {MAX_YAML_DEPTH} levels deep",
                "a config needs a few levels: check the brackets and indentation here",
            )
        node = super().compose_node(parent, index)
        self.depth -= 1
        assert node is not None  # an event that is not an alias always makes a node
        values, levels = 1, 1
        for child in _children(node):
            child_values, child_levels = self.measured[id(child)]
            values += child_values
            levels = max(levels, child_levels + 1)
        self.measured[id(node)] = (values, levels)
        self._count(1, line, "")
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep)
        except (ArithmeticError, LookupError, ValueError, TypeError, AttributeError) as exc:
            # a date 2024-13-45, a 5000-digit number, `!!bool maybe`: PyYAML lets these escape
            reason = (
                str(exc).split(";")[0]
                if isinstance(exc, (ValueError, ArithmeticError))
                else f"it is not a valid {node.tag.rsplit(':', 1)[-1]}"
            )
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {_show(node.value)}: {reason}", node.start_mark
            ) from None
        if isinstance(value, str) and ("\x00" in value or not _encodable(value)):
            # "\0" or "\ud800" escapes: no path, column or file name can hold them
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"the value {_show(value)} holds a NUL or an unpaired surrogate character",
                node.start_mark,
            )
        return value

    def _count(self, values: int, line: int, alias: str) -> None:
        self.expanded += values
        if self.expanded > MAX_YAML_NODES:
            what = (
                f"{alias} expands the config past {MAX_YAML_NODES:,} values (nested aliases "
                "multiply: an alias bomb)"
                if alias
                else f"the config has more than {MAX_YAML_NODES:,} values"
            )
            self._refuse(
                line,
                what,
                "write a config of settings (a few hundred values); repeat values with "
                "one level of aliases, not aliases of aliases",
            )

    def _refuse(self, line: int, message: str, fix: str) -> typing.NoReturn:
        _raise(self.path, f"{self.path.name}:{line}", f"{message}, at line {line}", fix)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _read_yaml(text: str, path: Path) -> tuple[dict[str, Any], dict[Loc, int], list[Problem]]:
    """The document, the line of every YAML path, and keys written twice."""
    try:
        loader = _BoundedLoader(text, path)  # rejects control characters already
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, path) from None
    try:
        node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            raise ConfigError(
                f"{path} is empty",
                [Problem(str(path), "the config file is empty (no settings)", _INIT_HINT)],
                hint=_INIT_HINT,
            )
        if not isinstance(node, yaml.MappingNode):
            found = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            message = (
                f"the config must be a mapping of sections (name, data, model, ...), found {found}"
            )
            _raise(
                path,
                f"{path.name}:{node.start_mark.line + 1}",
                message,
                "write one `section: value` per line at the left margin, e.g. `name: my_run`",
            )
        lines: dict[Loc, int] = {}
        repeated: list[Problem] = []
        _index(node, (), lines, repeated, set())
        raw = loader.construct_document(node)  # after _index: merges rewrite the nodes
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, path) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, path) from None
    except yaml.YAMLError as exc:
        _raise(path, str(path), f"is not valid YAML: {exc}", "check the file is a YAML config")
    except (ArithmeticError, LookupError, ValueError, TypeError, AttributeError) as exc:
        # what a !!tag can still raise outside construct_object (no node to point at)
        _raise(
            path,
            str(path),
            f"a value cannot be read: {type(exc).__name__}: {exc}",
            "remove the !!tags from the config; it needs only plain values",
        )
    finally:
        loader.dispose()
    return raw, lines, repeated


def _yaml_error(exc: yaml.MarkedYAMLError, path: Path) -> ConfigError:
    """A YAML syntax error as a located problem; the context line often is the culprit."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 0
    column = mark.column + 1 if mark else 0
    problem = str(exc.problem or exc.context)
    context = exc.context_mark
    if exc.context and context is not None and context.line + 1 != line:
        problem += f" ({exc.context} at line {context.line + 1})"
    return ConfigError(
        f"{path} is not valid YAML (line {line}, column {column}): {problem}",
        [Problem(f"{path.name}:{line}", f"{problem}, at column {column}", _syntax_fix(exc, line))],
        hint="YAML needs 'key: value' with a space after ':', spaces (no tabs) for "
        "indentation, and quotes around text containing ': ' or ' #'.",
    )


def _syntax_fix(exc: yaml.MarkedYAMLError, line: int) -> str:
    problem = str(exc.problem)
    if "'\\t'" in problem:
        return f"replace the tab on line {line} with spaces: YAML indents with spaces only"
    if "undefined alias" in problem:
        return "define the anchor (&name) before the alias (*name) that repeats it"
    if "another document" in problem:
        return "keep one document: remove the '---' line and what follows, or merge them"
    if "unpaired surrogate" in problem:
        return "remove the \\0 or \\uD800-\\uDFFF escape from this value"
    if "cannot read the value" in problem:
        return "correct the value (dates are YYYY-MM-DD), or quote it to keep it as text"
    if "unhashable key" in problem:
        return "write keys as plain names, not lists or mappings"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return "write a plain value without a !!tag, or quote it to keep it as text"
    return (
        f"check line {line} and the line before it for a missing ':' after a key, "
        "a tab, or bad indentation"
    )


def _reader_error(exc: yaml.reader.ReaderError, text: str, path: Path) -> ConfigError:
    """A character YAML forbids (a control character) at its line and column."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else 0
    message = f"control character U+{code:04X} at line {line}, column {column} is not allowed"
    return ConfigError(
        f"{path}: {message}",
        [
            Problem(
                f"{path.name}:{line}",
                message,
                "delete it (most editors do not show it); check --config names a YAML file",
            )
        ],
    )


def _index(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], repeated: list[Problem], seen: set[int]
) -> None:
    """Records the line of every YAML path and every key repeated within one mapping.

    A key that an explicit key overrides after a merge (``<<: *defaults``) is not a
    repeat: overriding merged values is what merges are for.  Each mapping is checked
    for repeats once, however many aliases reach it.
    """
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*loc, index), lines, repeated, seen)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    if id(node) not in seen:
        seen.add(id(node))
        repeated.extend(_repeated_keys(node, loc))
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in node.value:
        if key.tag == _MERGE_TAG:
            merged.extend(_merged_pairs(value))
            continue
        child = (*loc, _key(key))
        lines[child] = key.start_mark.line + 1
        _index(value, child, lines, repeated, seen)
    for key, value in merged:  # merged keys: where the value was written, unless overridden
        child = (*loc, _key(key))
        if child not in lines:
            lines[child] = key.start_mark.line + 1
            _index(value, child, lines, repeated, seen)


def _merged_pairs(value: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
    """The key/value pairs a merge brings in, first source first (the first one wins)."""
    sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for source in sources:
        if isinstance(source, yaml.MappingNode):
            for key, item in source.value:
                pairs.extend(_merged_pairs(item) if key.tag == _MERGE_TAG else [(key, item)])
    return pairs


def _repeated_keys(node: yaml.MappingNode, loc: Loc) -> list[Problem]:
    first: dict[tuple[str, str], yaml.Node] = {}
    problems = []
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        ident = (key.tag, key.value)
        if ident not in first:
            first[ident] = key
            continue
        earlier = first[ident].start_mark
        mark = key.start_mark
        where = f"line {mark.line + 1} repeats line {earlier.line + 1}"
        if mark.line == earlier.line:
            where = f"line {mark.line + 1}, column {mark.column + 1}, repeats column " + str(
                earlier.column + 1
            )
        if key.tag == _MERGE_TAG:
            message = f"merge key '<<' at {where}"
            fix = "merge several mappings with one key: `<<: [*first, *second]`"
        else:
            message = f"key '{key.value}' at {where}"
            fix = "keep one of them: YAML would silently use only the last"
        problems.append(Problem(format_loc((*loc, _key(key))), message, fix, line=mark.line + 1))
    return problems


def _key(key: yaml.Node) -> str:
    return str(key.value) if isinstance(key, yaml.ScalarNode) else "?"


# --- pydantic's findings ----------------------------------------------------------------


def _problem(err: Any, lines: dict[Loc, int]) -> Problem:
    loc: Loc = tuple(err["loc"])
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    given = err.get("input")
    scalar = not isinstance(given, (dict, list)) and kind not in ("missing", "extra_forbidden")
    value = _show(given) if scalar else None
    fix = ""
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        message = f"unknown key '{loc[-1]}'"
        fix = (
            f"did you mean '{close[0]}'?" if close else f"allowed keys here: {', '.join(allowed)}"
        )
    elif kind == "missing":
        message = "this key is required"
        fix = f"add `{loc[-1]}:`"
    elif kind == "literal_error":
        expected = [
            s.strip(" '") for s in str(err["ctx"]["expected"]).replace(" or ", ",").split(",")
        ]
        close = difflib.get_close_matches(str(err.get("input")), expected, n=1)
        fix = f"did you mean '{close[0]}'?" if close else ""
    elif kind == "invalid_key":  # 1:, 2.5: or null: as a key; pydantic's loc holds the value
        loc = (*loc[:-1], "null" if given is None else str(given))
        message = f"key {loc[-1]} is not a name"
        fix = f"write keys as names, or quote this one: '{loc[-1]}':"
        value = None
    elif kind == "string_type" and given is None and "priors" in loc:
        message = "a prior here is not a distribution"
        fix = "quote distributions inside {...} mappings, e.g. {shape: 'gamma(3, 2)'}"
    line = None
    probe = loc
    while probe and line is None:
        line = lines.get(probe)
        probe = probe[:-1]
    return Problem(format_loc(loc), message, fix, value, line=line)


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys a config section accepts, found by walking the models along ``loc``."""
    model: type[BaseModel] | None = RunConfig
    pending_key = False
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int) or pending_key:
            pending_key = False
            continue
        field = _field(model, str(part))
        if field is None:
            return []
        model, pending_key = _inner_model(field.annotation)
    if model is None:
        return []
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside an annotation, and whether a dict key comes first in paths."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if origin in (list, tuple):
        return _inner_model(typing.get_args(annotation)[0])[0], False
    if origin is dict:
        return _inner_model(typing.get_args(annotation)[1])[0], True
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found, keyed = _inner_model(arg)
            if found is not None:
                return found, keyed
    return None, False
