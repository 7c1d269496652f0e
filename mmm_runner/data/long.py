"""Long data (a "master flat file") pivoted to the wide frame the checks and the model read.

A long file has one row per period × dimensions × variable: the period column
(``data.date_column``), the dimension columns (``data.dimensions``: geography,
product, ...), the variable's name (``data.variable_column``) and its value
(``data.value_column``).  Only the variables the model uses are pivoted, so a
flat file with thousands of variables costs little more than its rows of those.

Problems of the long file itself (a missing column, an unknown variable, a
repeated or missing period, a value that is not a number) are located at its
rows and stop validation before the wide checks.  The wide checks then run on
the pivoted frame, and ``LongTable.relocate`` moves their ``file:column:row N``
locations back to the rows of the long file that hold those values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.config.loader import LoadedConfig, Loc, format_loc
from mmm_runner.config.models import DataConfig
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.checks import MAX_ROWS_LISTED, column_locations
from mmm_runner.errors import DataError, Problem

GROUP_SEPARATOR = "|"  # joins the dimension values of a row into its group label
_ROWS = re.compile(r"^(?P<column>.*):row (?P<rows>\d+(?:, \d+)*)(?P<more> and \d+ more)?$")

Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LongTable:
    """The wide frame pivoted from a long file, and where each of its values came from.

    ``cell_rows[i, j]`` is the long file's row (from 1, after the header) holding
    variable ``variables[j]`` of wide row ``i + 1``; ``key_rows[i]`` is the first long
    row of that period (and group).
    """

    frame: pd.DataFrame
    file: str
    variable_column: str
    value_column: str
    variables: tuple[str, ...]
    cell_rows: Rows
    key_rows: Rows

    def relocate(self, problems: Sequence[Problem]) -> list[Problem]:
        """The wide checks' problems, located at the long file's rows and columns."""
        return [self._relocate(p) for p in problems]

    def _relocate(self, problem: Problem) -> Problem:
        prefix = f"{self.file}:"
        if not problem.location.startswith(prefix):
            return problem
        rest = problem.location[len(prefix) :]
        match = _ROWS.match(rest)
        column = match.group("column") if match else rest
        message = problem.message
        if column in self.variables:
            message = f"{self.variable_column} '{column}': {message}"
            where = f"{prefix}{self.value_column}"
        else:
            where = f"{prefix}{column}"
        if match:
            wide = np.array([int(r) for r in match.group("rows").split(", ")]) - 1
            if column in self.variables:
                rows = self.cell_rows[wide, self.variables.index(column)]
            else:
                rows = self.key_rows[wide]
            where += f":row {', '.join(str(r) for r in sorted(rows))}{match.group('more') or ''}"
        return Problem(where, message, problem.fix, problem.value, problem.severity, problem.line)


def dimensions(data: DataConfig) -> list[str]:
    """The dimension columns of a long file: as configured, else the group column alone."""
    if data.dimensions:
        return list(data.dimensions)
    return [data.group_column] if data.group_column else []


def pivot(raw: pd.DataFrame, loaded: LoadedConfig, spec: ModelSpec, data_path: Path) -> LongTable:
    """The wide frame of a long file: one row per period (and group), one column per
    variable the model uses; DataError listing every problem of the long file."""
    return _Pivot(raw, loaded, spec, data_path).run()


class _Pivot:
    def __init__(
        self, raw: pd.DataFrame, loaded: LoadedConfig, spec: ModelSpec, data_path: Path
    ) -> None:
        self.raw = raw
        self.loaded = loaded
        self.data = loaded.config.data
        self.spec = spec
        self.file = _display(data_path)
        self.dims = dimensions(self.data)
        self.keys = [self.data.date_column, *self.dims]
        self.problems: list[Problem] = []

    # -- reporting ---------------------------------------------------------------------------

    def config_problem(self, loc: Loc, message: str, fix: str) -> None:
        self.problems.append(Problem(format_loc(loc), message, fix, line=self.loaded.line(loc)))

    def data_problem(
        self, column: str, rows: Rows, message: str, fix: str, value: str | None = None
    ) -> None:
        shown = ", ".join(str(r) for r in rows[:MAX_ROWS_LISTED])
        more = f" and {len(rows) - MAX_ROWS_LISTED} more" if len(rows) > MAX_ROWS_LISTED else ""
        self.problems.append(
            Problem(f"{self.file}:{column}:row {shown}{more}", message, fix, value)
        )

    def fail(self) -> DataError:
        return DataError(
            f"{self.file}: {len(self.problems)} problem(s) in the long data", self.problems
        )

    # -- the pivot ---------------------------------------------------------------------------

    def run(self) -> LongTable:
        if not self._columns_exist():
            raise self.fail()
        wanted = list(dict.fromkeys((*self.spec.columns, *self.spec.cre)))
        variable = self.raw[self.data.variable_column]
        if pd.api.types.is_numeric_dtype(variable.dtype):  # variables named by numbers
            variable = variable.astype(str)
        codes = pd.Index(wanted).get_indexer(pd.Index(variable)).astype(np.int64)  # -1: not used
        self._unknown(variable, wanted, codes)
        self._group_name_is_free(wanted)
        keep = np.flatnonzero(codes >= 0)  # the rows of variables the model uses
        key_codes = [pd.factorize(self.raw[k].to_numpy()[keep])[0] for k in self.keys]
        present = np.ones(len(keep), dtype=bool)
        for name, code in zip(self.keys, key_codes, strict=True):
            empty = code < 0
            if empty.any():
                what = "period" if name == self.data.date_column else f"{name} value"
                self.data_problem(
                    name,
                    keep[empty] + 1,
                    f"{what} is missing (empty) on a row of a variable the model uses",
                    "fill it in, or drop the row",
                )
                present &= ~empty
        keep, var = keep[present], codes[keep[present]]
        key = _combine([code[present] for code in key_codes])
        first = np.flatnonzero(~pd.Series(key).duplicated().to_numpy())  # key k first at [k]
        labels = {name: self.raw[name].to_numpy()[keep[first]] for name in self.keys}
        self._single_valued(labels)
        cell = key * len(wanted) + var
        self._duplicates(cell, keep, var, key, first, labels, wanted)
        values = self._numbers(keep, var, wanted)
        self._missing(cell, first, labels, wanted)
        if self.problems:
            raise self.fail()
        return self._table(cell, keep, values, first, labels, wanted)

    def _columns_exist(self) -> bool:
        data = self.data
        needed: dict[str, Loc] = {
            data.date_column: ("data", "date_column"),
            data.variable_column: ("data", "variable_column"),
            data.value_column: ("data", "value_column"),
        }
        for i, name in enumerate(self.dims):
            needed[name] = (
                ("data", "dimensions", i) if data.dimensions else ("data", "group_column")
            )
        present = sorted(str(c) for c in self.raw.columns)
        ok = True
        for name, loc in needed.items():
            if name in self.raw.columns:
                continue
            ok = False
            what = "dimension column" if loc[1] in ("dimensions", "group_column") else "column"
            self.config_problem(
                loc,
                f"{what} '{name}' is not in {self.file}",
                _did_you_mean(name, present, "columns"),
            )
        return ok

    def _unknown(self, variable: pd.Series, wanted: list[str], codes: Rows) -> None:
        """Variables the model uses that no row names (with a did-you-mean)."""
        found = np.zeros(len(wanted), dtype=bool)
        found[np.unique(codes[codes >= 0])] = True
        if found.all():
            return
        present = sorted(str(v) for v in variable.dropna().unique())
        where = column_locations(self.loaded, self.spec)
        for name, ok in zip(wanted, found, strict=True):
            if not ok:
                self.config_problem(
                    where.get(name, ("model",)),
                    f"variable '{name}' is not in {self.file}: no row has "
                    f"{self.data.variable_column} '{name}'",
                    _did_you_mean(name, present, "variables"),
                )

    def _group_name_is_free(self, wanted: list[str]) -> None:
        group = self.data.group_column
        if group is not None and group not in self.dims and group in wanted:
            self.config_problem(
                ("data", "group_column"),
                f"the group column '{group}' (the joined dimensions) has the name of a variable "
                "the model uses",
                "choose another name for data.group_column",
            )

    def _single_valued(self, labels: dict[str, Any]) -> None:
        """A dimension that is not the group must hold one value: else a period has
        several rows the model cannot tell apart."""
        group = self.data.group_column
        if group is not None and group not in self.dims:
            return  # the group joins every dimension
        for i, name in enumerate(self.dims):
            if name == group:
                continue
            found = pd.unique(labels[name])
            if len(found) < 2:
                continue
            shown = ", ".join(str(v) for v in found[:MAX_ROWS_LISTED])
            more = ", ..." if len(found) > MAX_ROWS_LISTED else ""
            if group is None:
                fix = (
                    f"filter the file to one {name}, or set data.group_column: {name} (with "
                    "model.class: hierarchical) to fit one series per value"
                )
            else:
                fix = (
                    f"filter the file to one {name}, or give data.group_column a new name "
                    f"(e.g. {group}_{name}) to fit each {group}{GROUP_SEPARATOR}{name} "
                    "combination as a group"
                )
            loc: Loc = ("data", "dimensions", i) if self.data.dimensions else ("data",)
            self.config_problem(
                loc,
                f"dimension '{name}' holds {len(found)} values ({shown}{more}) but is not the "
                "group: each period would have several rows",
                fix,
            )

    def _duplicates(
        self,
        cell: Rows,
        keep: Rows,
        var: Rows,
        key: Rows,
        first: Rows,
        labels: dict[str, Any],
        wanted: list[str],
    ) -> None:
        repeated = pd.Series(cell).duplicated(keep=False).to_numpy()
        if not repeated.any():
            return
        what = ", ".join(self.keys)
        for j in np.unique(var[repeated]):
            mine = repeated & (var == j)
            rows = keep[mine] + 1
            example = self._key_label(int(key[mine][0]), labels)
            self.data_problem(
                self.data.variable_column,
                rows,
                f"variable '{wanted[j]}' appears more than once for the same {what}; "
                f"the first repeat is {example}",
                f"keep one row per {what} and variable (add up or drop the repeats)",
            )

    def _numbers(self, keep: Rows, var: Rows, wanted: list[str]) -> npt.NDArray[Any]:
        """The values as floats (the text of categorical controls kept as it is); values
        that are not numbers, or empty, are reported at their rows."""
        raw = self.raw[self.data.value_column].to_numpy()[keep]
        categorical = np.isin(var, [wanted.index(n) for n in self.spec.categorical if n in wanted])
        numeric = np.flatnonzero(~categorical)
        if pd.api.types.is_numeric_dtype(raw.dtype):
            numbers = raw[numeric].astype(float)
            text = np.zeros(len(numeric), dtype=bool)
        else:
            numbers = pd.to_numeric(pd.Series(raw[numeric]), errors="coerce").to_numpy(float)
            text = np.isnan(numbers) & pd.notna(raw[numeric])
        bad = numeric[text]
        for j in np.unique(var[bad]):
            mine = bad[var[bad] == j]
            self._not_a_number(wanted[j], keep[mine] + 1, raw[mine], raw[var == j])
        empty = numeric[np.isnan(numbers) & ~text]
        for j in np.unique(var[empty]):
            self.data_problem(
                self.data.value_column,
                keep[empty[var[empty] == j]] + 1,
                f"value of variable '{wanted[j]}' is missing (empty or NaN)",
                "fill it in (e.g. 0 for media with no activity)",
            )
        if not categorical.any():
            return numbers
        values = raw.astype(object)
        values[numeric] = numbers
        return values

    def _not_a_number(
        self, name: str, rows: Rows, bad: npt.NDArray[Any], every: npt.NDArray[Any]
    ) -> None:
        filled = int(pd.notna(every).sum())
        if name in self.spec.controls and len(bad) >= filled / 2:
            shown = ", ".join(repr(v) for v in list(dict.fromkeys(bad))[:4])
            self.data_problem(
                self.data.value_column,
                rows,
                f"the control '{name}' holds text ({shown}, ...): a category, not a number",
                f"write factor({name}) in model.formula, or `type: categorical` for it under "
                "model.controls (one effect per level); if it is a number, remove the text",
                value=repr(bad[0]),
            )
            return
        self.data_problem(
            self.data.value_column,
            rows,
            f"value of variable '{name}' is not a number",
            "remove units, thousands separators and text from the values",
            value=repr(bad[0]),
        )

    def _missing(self, cell: Rows, first: Rows, labels: dict[str, Any], wanted: list[str]) -> None:
        """Variables without a row for some period (and group) that others have."""
        n_keys, n_vars = len(first), len(wanted)
        have = np.zeros((n_keys, n_vars), dtype=bool)
        have[np.divmod(cell, n_vars)] = True
        known = have.any(axis=0)  # unknown variables are reported as such
        order = self._order(labels)
        what = f"({', '.join(['period', *self.dims])}) combinations" if self.dims else "periods"
        for j in np.flatnonzero(known & ~have.all(axis=0)):
            gaps = order[~have[order, j]]
            shown = ", ".join(self._key_label(int(k), labels) for k in gaps[:MAX_ROWS_LISTED])
            more = (
                f" and {len(gaps) - MAX_ROWS_LISTED} more" if len(gaps) > MAX_ROWS_LISTED else ""
            )
            self.problems.append(
                Problem(
                    f"{self.file}:{self.data.variable_column}",
                    f"variable '{wanted[j]}' has no row for {len(gaps)} of the {n_keys} "
                    f"{what} that other variables have: {shown}{more}",
                    "add the missing rows (0 for media with no activity), or drop those "
                    "periods from the file",
                )
            )

    def _key_label(self, key: int, labels: dict[str, Any]) -> str:
        date = str(labels[self.data.date_column][key])
        if not self.dims:
            return date
        return f"{date} ({', '.join(str(labels[d][key]) for d in self.dims)})"

    def _order(self, labels: dict[str, Any]) -> Rows:
        """Keys sorted by dimensions, then date (read from the unique dates only)."""
        date = labels[self.data.date_column]
        codes, uniques = pd.factorize(date)
        parsed = pd.to_datetime(pd.Series(uniques), errors="coerce", format="mixed")
        columns = {f"d{i}": labels[name] for i, name in enumerate(self.dims)}
        columns["date"] = parsed.to_numpy()[codes]
        columns["text"] = date
        table = pd.DataFrame(columns)
        try:
            return table.sort_values(list(columns), kind="stable").index.to_numpy()
        except TypeError:  # a dimension mixing numbers and text: order it as text
            return table.astype(str).sort_values(list(columns), kind="stable").index.to_numpy()

    def _table(
        self,
        cell: Rows,
        keep: Rows,
        values: npt.NDArray[Any],
        first: Rows,
        labels: dict[str, Any],
        wanted: list[str],
    ) -> LongTable:
        n_keys, n_vars = len(first), len(wanted)
        order = self._order(labels)
        grid = np.empty(n_keys * n_vars, dtype=values.dtype)
        grid[cell] = values
        grid = grid.reshape(n_keys, n_vars)[order]
        rows = np.zeros(n_keys * n_vars, dtype=np.int64)
        rows[cell] = keep + 1
        rows = rows.reshape(n_keys, n_vars)[order]
        columns: dict[str, Any] = {name: labels[name][order] for name in self.keys}
        group = self.data.group_column
        if group is not None and group not in self.dims:
            joined = pd.Series(columns[self.dims[0]]).astype(str)
            for name in self.dims[1:]:
                joined = joined + GROUP_SEPARATOR + pd.Series(columns[name]).astype(str)
            columns[group] = joined.to_numpy()
        for j, name in enumerate(wanted):
            columns[name] = grid[:, j]
            if grid.dtype == object and name not in self.spec.categorical:
                columns[name] = grid[:, j].astype(float)
        return LongTable(
            frame=pd.DataFrame(columns),
            file=self.file,
            variable_column=self.data.variable_column,
            value_column=self.data.value_column,
            variables=tuple(wanted),
            cell_rows=rows,
            key_rows=keep[first][order] + 1,
        )


def _combine(codes: list[Rows]) -> Rows:
    """One code per distinct combination of the key columns' codes, in order of first
    appearance (re-factorised after each column, so the products stay small)."""
    key = pd.factorize(codes[0])[0]
    for code in codes[1:]:
        key = pd.factorize(key * (int(code.max(initial=0)) + 1) + code)[0]
    return np.asarray(key, dtype=np.int64)


def _did_you_mean(name: str, present: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{what} in the file: {', '.join(present[:20])}" + (
        ", ..." if len(present) > 20 else ""
    )


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
