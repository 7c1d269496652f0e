"""`mmm doctor`: which Stan toolchain is in use, and what is missing."""

from __future__ import annotations

import typer
from rich.markup import escape

from mmm_runner.backend import toolchain
from mmm_runner.cli.common import err, handled, out, print_json
from mmm_runner.constants import EXIT_COMPILE


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object on stdout."),
    build: bool = typer.Option(
        False, "--build", help="Assemble the bundled toolchain now if it is missing."
    ),
) -> None:
    """Report the Stan toolchain: source, Stan version, path, compiler and problems."""
    with handled():
        if build:
            toolchain.locate(progress=lambda msg: err.print(f"[dim]{escape(msg)}[/]"))
        found = toolchain.diagnose()
        if as_json:
            print_json(found.as_dict())
        else:
            _print(found)
        if found.problems:
            raise typer.Exit(EXIT_COMPILE)


def _print(found: toolchain.Diagnosis) -> None:
    rows = [
        ("toolchain", found.source or "none"),
        ("path", found.cmdstan_path or "-"),
        ("Stan version", found.stan_version or "-"),
        (
            "C++ compiler",
            f"{found.compiler} ({found.compiler_path})" if found.compiler else "missing",
        ),
        ("make", found.make_path or "missing"),
        ("cmdstanpy", found.cmdstanpy_version or "missing"),
        ("ready", "yes" if found.ready else "no"),
    ]
    for label, value in rows:
        out.print(f"{label:>13}: {escape(str(value))}")
    for problem, fix in found.problems:
        out.print(f"[red]✗[/] {escape(problem)}\n    fix: {escape(fix)}")
    if found.note:
        out.print(f"[dim]{escape(found.note)}[/]")
