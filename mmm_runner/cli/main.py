"""The `mmm` command line: thin commands over the package."""

from __future__ import annotations

import typer

from mmm_runner import __version__
from mmm_runner.cli import batch, compare, doctor, forecast, init, priors, reproduce, run, validate
from mmm_runner.cli.common import state

app = typer.Typer(
    name="mmm",
    help="Bayesian marketing mix models on Stan, from one YAML file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mmm_runner {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Bayesian marketing mix models on Stan, from one YAML file."""
    state["verbose"] = verbose


app.command()(doctor.doctor)
app.command("validate")(validate.validate_command)
app.command("init")(init.init_command)
app.command("run")(run.run_command)
app.command("priors")(priors.priors_command)
app.command("compare-runs")(compare.compare_command)
app.command("reproduce")(reproduce.reproduce_command)
app.command("forecast")(forecast.forecast_command)
app.command("batch")(batch.batch_command)


if __name__ == "__main__":
    app()
