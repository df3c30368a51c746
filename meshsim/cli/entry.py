"""The ``meshsim`` console script: Ctrl-C while the command line is still importing (pandas,
matplotlib, the simulator: over a second) ends with one line and exit 130, like Ctrl-C
during a run (:func:`meshsim.cli.common.user_errors`), not with a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    """Import the command line, then run it."""
    try:
        from meshsim.cli.main import main as run
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    run()
