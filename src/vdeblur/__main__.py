"""`python -m vdeblur` and `torchrun -m vdeblur` run the command-line tool."""

import sys

from vdeblur.cli import main

sys.exit(main())
