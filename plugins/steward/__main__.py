"""``python -m steward``: the command line of :mod:`steward.cli`."""

from __future__ import annotations

from steward.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
