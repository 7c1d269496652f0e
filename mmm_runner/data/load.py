"""Reading the data file into a frame."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmm_runner.errors import DataError, Problem


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame; DataError when it cannot be read."""
    if not path.is_file():
        raise DataError(
            f"data file not found: {path}",
            [
                Problem(
                    "data.path",
                    f"no file at {path}",
                    "check data.path; it is relative to the config file's folder",
                )
            ],
        )
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, skipinitialspace=True)
    except ImportError as exc:
        raise DataError(
            f"cannot read Parquet file {path}: {exc}",
            [
                Problem(
                    "data.path",
                    "Parquet support needs pyarrow",
                    "pip install pyarrow, or export the data as CSV",
                )
            ],
        ) from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0]
        raise DataError(
            f"cannot parse {path}: {first}",
            [
                Problem(
                    str(path),
                    f"the file is not a readable table: {first}",
                    "save it as comma-separated values with one header row",
                )
            ],
        ) from exc
    if frame.empty:
        raise DataError(f"{path} has no rows", [Problem(str(path), "the file has no data rows")])
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
