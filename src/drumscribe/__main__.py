import sys

from drumscribe.cli import main

sys.exit(main())
