"""``python -m planning.app.cli``: the same as the ``rdsplan`` command."""

import sys

from planning.app.cli import main

sys.exit(main())
