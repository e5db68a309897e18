"""User-facing input errors, and how command-line entry points report them."""

from __future__ import annotations

import functools
import sys
from typing import Callable, NoReturn, TypeVar

EXIT_STATUS = 2
"""Exit status of a command stopped by bad input (argparse and tyro use 2 for usage errors)."""

_F = TypeVar("_F", bound=Callable[..., object])


class DataError(ValueError):
    """Bad user input, naming the file or flag and what is wrong with it.

    A ``ValueError``, so library callers catch it with ``except ValueError``/``except Exception``;
    command-line entry points turn it into one line and exit status 2 (:func:`exits_on_data_error`).
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"error: {self.path}: {problem}")

    def __str__(self) -> str:
        return f"error: {self.path}: {self.problem}"


def exit_with(error: DataError) -> NoReturn:
    """Print ``error`` as one line on stderr and exit with :data:`EXIT_STATUS`."""
    print(str(error), file=sys.stderr, flush=True)
    raise SystemExit(EXIT_STATUS)


def exits_on_data_error(entrypoint: _F) -> _F:
    """Decorate a command-line entry point: a :class:`DataError` becomes one line and exit status 2."""

    @functools.wraps(entrypoint)
    def wrapped(*args: object, **kwargs: object) -> object:
        try:
            return entrypoint(*args, **kwargs)
        except DataError as error:
            exit_with(error)

    return wrapped  # type: ignore[return-value]
