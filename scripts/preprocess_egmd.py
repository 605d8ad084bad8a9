#!/usr/bin/env python
"""Plan step 1/3: ``python scripts/preprocess_egmd.py --config C --num-workers N [--force]``.

A thin shim over ``drumscribe preprocess`` (same flags).
"""

import sys
from pathlib import Path

try:
    from drumscribe.cli import main
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from drumscribe.cli import main

if __name__ == "__main__":
    sys.exit(main(["preprocess", *sys.argv[1:]]))
