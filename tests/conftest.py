"""Shared by every pytest suite under tests/: the folder itself goes on the import path, so that
a suite can import the modules that belong to all of them (json_contract) by name."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
