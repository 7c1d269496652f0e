"""The JSON Schema of the config language, for editors' autocompletion.

Regenerate with ``python -m mmm_runner.config.schema``; a test fails when the
committed file in ``schemas/`` is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mmm_runner import __version__
from mmm_runner.config.models import RunConfig

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "run_config.schema.json"
REFERENCE_FILE = Path(__file__).resolve().parents[2] / "docs" / "config_reference.md"


def schema() -> dict[str, Any]:
    """The JSON Schema of a run config."""
    body = RunConfig.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://mmm-runner.invalid/schemas/run_config-{__version__}.json",
        **body,
    }


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if prop.get("type") == "object":
        extra = prop.get("additionalProperties")
        return f"mapping to {_type(extra)}" if isinstance(extra, dict) else "mapping"
    return str(prop.get("type", "any"))


def reference() -> str:
    """docs/config_reference.md: every section and field, from the models' descriptions."""
    body = schema()
    lines = [
        "# Config reference",
        "",
        "Generated from the config models by `python -m mmm_runner.config.schema`; a test",
        "fails when it is stale. The guide is [config.md](config.md).",
        "",
    ]
    sections = [("RunConfig", body), *sorted(body["$defs"].items())]
    for name, section in sections:
        lines += [
            f"## {name}",
            "",
            section.get("description", "").strip(),
            "",
            "| field | type | default | description |",
            "| --- | --- | --- | --- |",
        ]
        required = set(section.get("required", []))
        for field, prop in section.get("properties", {}).items():
            default = (
                "required"
                if field in required
                else (json.dumps(prop["default"]) if "default" in prop else "(section defaults)")
            )
            description = prop.get("description", "").replace("|", "\\|")
            lines.append(f"| `{field}` | {_type(prop)} | {default} | {description} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_FILE.write_text(render())
    REFERENCE_FILE.write_text(reference())
    print(f"wrote {SCHEMA_FILE} and {REFERENCE_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
