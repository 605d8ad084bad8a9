#!/usr/bin/env python
"""Plan-compatible entry point: `python scripts/transcribe.py ...` == `drumscribe transcribe ...`."""

import sys

from drumscribe.cli import main

if __name__ == "__main__":
    sys.exit(main(["transcribe", *sys.argv[1:]]))
