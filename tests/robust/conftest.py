"""Lets the robustness tests import their shared helpers (robusttools)."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
