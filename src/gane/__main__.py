"""``python -m gane`` (and ``torchrun -m gane train ...``)."""
import sys

from .cli import main

sys.exit(main())
