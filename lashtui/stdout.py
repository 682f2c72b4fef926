"""The command line's standard output, as `main` hands it to every command: a failed write
is told apart from every other OSError, so that it is said in one sentence.

A write to stdout fails when the disk under a redirected file is full (`lashtui ls
>/dev/full`: ENOSPC) or when there is no stdout at all (`lashtui ls >&-`, where Python sets
`sys.stdout` to None and `print` silently writes nothing). Both ended in a traceback and
exit 1, which `check`'s monitor reads as WARNING; a reader that went away (EPIPE) is not
this, and stays the quiet exit 141 `main` gives it. The failure is raised where it happens
as `StdoutFailed`, an OSError (code that suppresses OSError around a flush still does),
whose kind says it was stdout and nothing else: the registry's own OSErrors reach the
command line as LashError, and any other is a bug to see whole. Standard library only, as
`lashtui --help` loads nothing more.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any, TextIO


class StdoutFailed(OSError):
    """A write to stdout, or its flush, failed; `strerror` says why."""


class Stdout:
    """`stream` (None: stdout is closed) with its writes' failures raised as StdoutFailed;
    anything else is the stream's own."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        # The first failure, kept for `check`: argparse swallows an OSError from its
        # `--help`, which then exited 0 having printed nothing.
        self.failed: StdoutFailed | None = None

    def write(self, text: str) -> int:
        if self.stream is None:
            raise self._failed(StdoutFailed(errno.EBADF, "it is closed"))
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._failed(StdoutFailed(error.errno, error.strerror or str(error))) from None

    def flush(self) -> None:
        if self.stream is None:
            return  # nothing was written (a write would have raised)
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._failed(StdoutFailed(error.errno, error.strerror or str(error))) from None

    def check(self) -> None:
        """Flush, and raise the first failure even if someone caught it."""
        self.flush()
        if self.failed is not None:
            raise self.failed

    def _failed(self, error: StdoutFailed) -> StdoutFailed:
        if self.failed is None:
            self.failed = error
        return error

    def isatty(self) -> bool:
        return self.stream is not None and self.stream.isatty()

    def discard(self) -> None:
        """Point the file descriptor at /dev/null, so that what is still buffered goes there
        when Python flushes stdout at exit (a second failure there is printed, exit 120)."""
        if self.stream is None:
            return
        with contextlib.suppress(OSError, ValueError):  # a stream with no descriptor
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        if self.stream is None:
            raise AttributeError(name)
        return getattr(self.stream, name)
