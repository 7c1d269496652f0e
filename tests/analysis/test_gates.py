"""Gate judgements and the policy verdict."""

from __future__ import annotations

from mmm_runner.analysis import gates
from mmm_runner.config.models import WarnFail


def test_judge_directions() -> None:
    limits = WarnFail(warn=1.01, fail=1.05)
    assert gates.judge("rhat", 1.0, limits).status == "pass"
    assert gates.judge("rhat", 1.02, limits).status == "warn"
    assert gates.judge("rhat", 1.2, limits).status == "fail"
    ess = WarnFail(warn=400, fail=100)
    assert gates.judge("ess_bulk", 1000, ess).status == "pass"
    assert gates.judge("ess_bulk", 200, ess).status == "warn"
    assert gates.judge("ess_bulk", 50, ess).status == "fail"
    assert gates.judge("ess_bulk", None, ess).status == "skip"
    assert gates.judge("ess_bulk", 50, ess).advice


def test_warn_only_checks_never_fail() -> None:
    limits = WarnFail(warn=0.1, fail=None)
    assert gates.judge("prior_contraction", -5.0, limits).status == "warn"


def test_policy_verdict() -> None:
    rows = [
        gates.judge("rhat", 1.02, WarnFail(warn=1.01, fail=1.05)),
        gates.judge("r2", 0.1, WarnFail(warn=0.8, fail=0.5)),
    ]
    assert gates.verdict(rows, "explore") == []
    assert [g.check for g in gates.verdict(rows, "publish")] == ["r2"]
    assert [g.check for g in gates.verdict(rows, "strict")] == ["rhat", "r2"]
    table = gates.table(rows)
    assert list(table.columns) == ["check", "value", "warn", "fail", "status", "advice", "detail"]
