#!/usr/bin/env python
"""Plan-compatible entry point: `python scripts/evaluate.py ...` == `drumscribe evaluate ...`."""

import sys

from drumscribe.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
