"""The `lashtui` command line (issue 4 builds it out); for now it only says so."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("lashtui: the command line is not built yet; see README.md", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
