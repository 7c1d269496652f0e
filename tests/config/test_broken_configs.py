"""A folder of deliberately wrong configs and data, each with its exact expected messages.

Each file in ``broken/`` lists what validation must report in lines
``# expect: <location> :: <text>``: some problem at that location must
contain that text (in its message or its fix).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mmm_runner.validation import validate

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))


def _expectations(path: Path) -> list[tuple[str, str]]:
    found = []
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            location, _, text = line.removeprefix("# expect:").partition("::")
            found.append((location.strip(), text.strip()))
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_config_reports_what_it_should(case: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(BROKEN)  # data locations are shown relative to the working folder
    expected = _expectations(case)
    assert expected, f"{case.name} declares no expectations"
    result = validate(case)
    assert not result.ok
    reported = [(p.location, f"{p.message} | fix: {p.fix}") for p in result.errors]
    for location, text in expected:
        assert any(loc == location and text in body for loc, body in reported), (
            f"{case.name}: expected {location!r} with {text!r}; got:\n"
            + "\n".join(f"  {loc}: {body}" for loc, body in reported)
        )
