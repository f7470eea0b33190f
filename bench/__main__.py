"""`python -m bench`: the one benchmark command (bench/runner.py; bench/README.md, "One command")."""

import sys

from bench.runner import main

sys.exit(main())
