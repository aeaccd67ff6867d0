"""`python -m leaklint`."""
import os
import sys

# `-m` puts the working directory first on sys.path. leaklint is imported by now; drop
# it so a linted folder's own `json.py` or `libcst.py` can never be imported in its place.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from leaklint.cli import main  # noqa: E402

sys.exit(main())
