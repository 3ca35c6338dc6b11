"""Where the extension lives on disk: in a source checkout, or under PREFIX/share/ptmalloc once
installed (the same layout), so that it can find files that travel with it."""

import os

# gdb/ptmalloc: the C walk helper is installed here.
PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))
# The folder holding gdb/: the source checkout (with build/) or PREFIX/share/ptmalloc.
TREE_ROOT = os.path.dirname(os.path.dirname(PACKAGE_DIR))
