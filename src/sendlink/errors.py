"""Errors that the command line turns into a clear message and a non-zero exit.

Every error a user can cause (a bad file, a bad parameter, a bad request)
derives from :class:`SendlinkError`. The CLI prints its message without a
traceback and exits with status 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

#: How many example rows an error message shows before saying "and N more".
MAX_EXAMPLE_ROWS = 5


class SendlinkError(Exception):
    """An error caused by input, parameters or a request, not by a bug."""


class ParameterError(SendlinkError):
    """A value in ``params.yaml`` (or given on the command line) is invalid."""


class InputError(SendlinkError):
    """A file does not meet its contract.

    The message names the file, the column and example rows, so the user can
    find the problem without reading code.

    Parameters
    ----------
    path
        The file that was being read.
    problem
        What is wrong, in plain words.
    column
        The offending column, if the problem is about one.
    rows
        0-based positions of example offending rows in the file's data. The
        message shows them counting from 1, header excluded, as a person
        counts data rows in a spreadsheet.
    values
        The offending values, aligned with ``rows`` when both are given.
    """

    def __init__(
        self,
        path: str | Path,
        problem: str,
        *,
        column: str | None = None,
        rows: Sequence[int] | None = None,
        values: Sequence[object] | None = None,
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.column = column
        self.rows = list(rows) if rows is not None else []
        self.values = list(values) if values is not None else []
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"{self.path}"
        if self.column is not None:
            where += f", column '{self.column}'"
        message = f"{where}: {self.problem}"
        if self.rows:
            shown = _examples([r + 1 for r in self.rows], self.values)
            message += f" (data rows, from 1: {shown})"
        return message


def _examples(rows: Sequence[int], values: Iterable[object]) -> str:
    values = list(values)
    parts = []
    for i, row in enumerate(rows[:MAX_EXAMPLE_ROWS]):
        if i < len(values):
            parts.append(f"{row}: {values[i]!r}")
        else:
            parts.append(str(row))
    text = ", ".join(parts)
    if len(rows) > MAX_EXAMPLE_ROWS:
        text += f", and {len(rows) - MAX_EXAMPLE_ROWS} more"
    return text


class RequestError(SendlinkError):
    """A consent or rights request was refused; nothing was changed."""


class RegisterError(SendlinkError):
    """The consent register cannot be used as it is (damaged, tampered with, half-created or too old).

    The message says what was found and the exact command or step that
    recovers; every consent command stops until then.
    """
