#!/usr/bin/env python
"""The plan's ``scripts/train.py``: a shim for ``drumscribe train``.

    python scripts/train.py --config configs/medium_test_config.yaml [--resume CKPT] [--set KEY=VALUE ...]
"""

import sys
from pathlib import Path

try:
    from drumscribe.cli import main
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from drumscribe.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
