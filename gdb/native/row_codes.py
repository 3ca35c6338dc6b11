"""Writes the C header of the row codes the walk's C helper shares with the extension
(`python3 gdb/native/row_codes.py OUT.h`, run by mk/native.mk): the codes are defined once, as
ptmalloc.model.states.ROW_STATES, and the C side takes them from this generated file."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ptmalloc.model.states import ROW_STATES  # noqa: E402 - the package is found through the path above


def header_text():
    names = ["\tROW_%s = %d," % (state.name, code) for code, state in enumerate(ROW_STATES)]
    return "\n".join([
        "/* Generated from gdb/ptmalloc/model/states.py by gdb/native/row_codes.py: do not edit. */",
        "#ifndef HEAPWALK_ROW_CODES_H",
        "#define HEAPWALK_ROW_CODES_H",
        "",
        "/* A row's state in a segment scan; a listed row's code is its list's kind. */",
        "enum heapwalk_row_code {",
        *names,
        "\tROW_CODE_COUNT = %d" % len(ROW_STATES),
        "};",
        "",
        "#endif",
        ""])


def main(path):
    # Written whole under another name first, so no build ever includes half a header.
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(header_text())
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main(sys.argv[1])
