"""What every command shares: the stderr console, error rendering, exit codes."""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from mmm_runner import constants
from mmm_runner.errors import ConfigError, MMMError

# Messages go to stderr; stdout carries only what a command is asked to print
# (--json output, tables).
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out = Console(highlight=False, soft_wrap=True, emoji=False)

state: dict[str, bool] = {"verbose": False}


def print_json(data: Any) -> None:
    """Machine output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def report(error: MMMError) -> None:
    """Renders an error for a person: what is wrong, where, and what to do."""
    err.print(f"[bold red]error[/]: {escape(error.message)}")
    if isinstance(error, ConfigError):
        for problem in error.problems:
            if problem.severity == "error":
                err.print(f"  [red]✗[/] {escape(problem.render())}")
    if error.hint:
        err.print(f"  [cyan]hint[/]: {escape(error.hint)}")
    if error.run_dir:
        err.print(f"  [cyan]run folder[/]: {escape(error.run_dir)}")


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Turns errors into messages and exit codes; tracebacks only with --verbose."""
    try:
        yield
    except MMMError as error:
        report(error)
        if state["verbose"]:
            err.print(escape(traceback.format_exc()))
        raise typer.Exit(constants.exit_code(error)) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(constants.EXIT_INTERRUPTED) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:  # a bug: say so plainly
        err.print(
            f"[bold red]internal error[/]: {escape(type(error).__name__)}: {escape(str(error))}"
        )
        if state["verbose"]:
            err.print(escape(traceback.format_exc()))
        else:
            err.print("  rerun with --verbose for the traceback, and please report it.")
        raise typer.Exit(constants.EXIT_FAILURE) from None
