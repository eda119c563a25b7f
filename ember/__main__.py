"""``python -m ember`` runs the ``ember`` command line."""

import sys


def main(argv=None) -> int:
    from .cli.commands import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
