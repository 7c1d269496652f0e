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


def main(argv: list[str] | None = None) -> int:
    target = Path(argv[0]) if argv else SCHEMA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
