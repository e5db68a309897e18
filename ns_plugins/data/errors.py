"""User-facing input errors."""


class DataError(SystemExit):
    """Bad user input: printed as one line (no traceback) when it reaches the top level.

    Subclasses ``SystemExit`` so that ``ns-train`` and our CLIs exit with status 1 and the
    message alone, while library callers and tests can still catch it by type.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"error: {self.path}: {problem}")

    def __str__(self) -> str:
        return f"error: {self.path}: {self.problem}"
