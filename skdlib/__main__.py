"""``python -m skdlib``: see :mod:`skdlib.cli`."""

import sys

from .cli import main

sys.exit(main())
