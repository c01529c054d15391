"""`python -m vdeblur` and `torchrun -m vdeblur` run the command-line tool."""

import sys

from vdeblur.cli import entry_point

sys.exit(entry_point())
