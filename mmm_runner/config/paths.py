"""YAML paths as `mmm validate` prints them, read and written: ``model.media[tv].adstock``.

Keys are joined by dots; list items are given by position (``media[0]``) or, in lists
of named entries, by name (``media[tv]``). Sweeps set values at such paths.
"""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any

from mmm_runner.config.loader import Loc, format_loc

_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\[\]]+)\]|(\.)")


class PathError(ValueError):
    """A path that is not one, or that the document does not have."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


def parse_path(text: str) -> list[str | int]:
    """``model.media[tv].adstock`` -> ['model', 'media', 'tv' as an item, 'adstock'].

    List items come back as ``int`` positions or as ``_Named`` names.
    """
    parts: list[str | int] = []
    position, expect_key = 0, True
    for match in _SEGMENT.finditer(text):
        if match.start() != position:
            break
        key, item, dot = match.groups()
        if dot:
            if expect_key:
                break
            expect_key = True
        elif key is not None:
            if not expect_key:
                break
            parts.append(key.strip())
            expect_key = False
        else:
            if not parts:
                break
            parts.append(int(item) if item.strip().isdigit() else _Named(item.strip()))
            expect_key = False
        position = match.end()
    if position != len(text) or expect_key or not parts:
        raise PathError(
            f"'{text}' is not a YAML path",
            "write keys joined by dots and list items in brackets, e.g. "
            "model.media[tv].adstock.type or model.media[0].adstock.l_max",
        )
    return parts


class _Named(str):
    """A list item named in brackets: ``media[tv]``."""


def apply(document: dict[str, Any], text: str, value: Any) -> Loc:
    """Sets ``value`` at the YAML path ``text`` in ``document``; returns the path as a Loc.

    Missing keys are created (the schema decides later whether they exist); list
    items must exist. A list entry given by name alone (``media: [tv]``) becomes
    ``{name: tv}`` when the path goes inside it.
    """
    parts = parse_path(text)
    node: Any = document
    loc: list[str | int] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(part, (int, _Named)):
            if not isinstance(node, list):
                raise PathError(
                    f"{format_loc(tuple(loc))} is not a list in the base config, "
                    f"so it has no item [{part}]",
                    "check the path against the base config",
                )
            index = _item(node, part, tuple(loc))
            loc.append(index)
            if last:
                node[index] = copy.deepcopy(value)
            else:
                if isinstance(node[index], str):  # `media: [tv]` shorthand
                    node[index] = {"name": node[index]}
                node = node[index]
            continue
        if not isinstance(node, dict):
            raise PathError(
                f"{format_loc(tuple(loc))} is a single value in the base config, not a section",
                "set the whole value at that path instead",
            )
        loc.append(part)
        if last:
            node[part] = copy.deepcopy(value)
        elif not isinstance(node.get(part), (dict, list)):
            node[part] = {}  # absent (or null) in the base: the run gets the section
        node = node[part]
    return tuple(loc)


def _item(items: list[Any], part: str | int, loc: Loc) -> int:
    if isinstance(part, int):
        if part >= len(items):
            raise PathError(
                f"{format_loc(loc)} has {len(items)} item(s), so no item [{part}]",
                f"use a position from 0 to {len(items) - 1}, or the item's name",
            )
        return part
    names = [_entry_name(entry) for entry in items]
    if part in names:
        return names.index(part)
    known = [n for n in names if n is not None]
    close = difflib.get_close_matches(part, known, n=1)
    fix = f"did you mean [{close[0]}]?" if close else f"names there: {', '.join(known) or 'none'}"
    raise PathError(f"{format_loc(loc)} has no item named '{part}'", fix)


def _entry_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        return str(entry["name"])
    return None
