"""``python -m ovntrace.lab provision|lab ...``: the lab commands on their own."""

import sys

from ovntrace.lab.cli import main

sys.exit(main())
