"""``python -m askfiles.annotator [MODEL]``: one annotation process (see ``nlp._annotate_spawned``)."""

from __future__ import annotations

import sys

from .nlp import serve_annotations


def main() -> int:
    """Annotate JSON lines of texts from stdin until it closes."""
    try:
        serve_annotations(sys.argv[1] if len(sys.argv) > 1 else "", sys.stdin.buffer,
                          sys.stdout.buffer)
    except (BrokenPipeError, KeyboardInterrupt):  # the parent went away
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
