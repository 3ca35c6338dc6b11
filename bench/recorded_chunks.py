#!/usr/bin/env python3
"""Whether a `heap chunks` listing names every chunk bench/million_chunks made: the program's
own record of them (its argv[3], pairs of 64-bit words: the pointer malloc returned and the
chunk size it asked for) against the listing's rows: the address and size of each row of `heap
chunks` (its first two columns) or of `heap chunks --json` (each row's "address" and "size").

A recorded chunk counts as listed when a row has its header address (the pointer less the two
header words of a 64-bit ptmalloc chunk, prev_size and size) and its size.  The listing also
has chunks the program did not record (the allocator's own, the thread arenas' tcache, the
main heap's padding); those are counted, not judged.

Usage: recorded_chunks.py RECORD LISTING  (exit status 0 when every recorded chunk is listed)"""

import array
import re
import sys

# mem2chunk on a 64-bit target: the user pointer lies past the prev_size and size words.
HEADER_BYTES = 16
_ROW = re.compile(rb"^\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)\s")
# A chunk row of the JSON listing begins so; a heap or an arena has no "size" after "address".
_JSON_ROW = re.compile(rb'\{"address":(\d+),"size":(\d+)[,}]')
_BLOCK = 64 << 20


def recorded(path):
    words = array.array("Q")
    with open(path, "rb") as handle:
        words.frombytes(handle.read())
    if words.itemsize != 8 or len(words) % 2:
        raise SystemExit("recorded_chunks: %s is not pairs of 64-bit words" % path)
    return words


def listed(path):
    """{header address: size} of every row of the listing."""
    rows = {}
    with open(path, "rb") as handle:
        first = handle.read(_BLOCK)
        if b'{"arenas"' not in first:
            handle.seek(0)
            for line in handle:
                match = _ROW.match(line)
                if match:
                    rows[int(match.group(1), 16)] = int(match.group(2), 16)
            return rows
        # The JSON listing is one line of hundreds of megabytes: read in blocks, each cut after
        # its last complete row.
        block = first
        while block:
            more = handle.read(_BLOCK)
            cut = block.rfind(b"}") + 1 if more else len(block)
            for match in _JSON_ROW.finditer(block, 0, cut):
                rows[int(match.group(1))] = int(match.group(2))
            block = block[cut:] + more
    return rows


def compare(record_path, listing_path):
    """The counts of the comparison, and up to five recorded chunks the listing lacks."""
    record, rows = recorded(record_path), listed(listing_path)
    made = len(record) // 2
    missing = wrong_size = 0
    examples = []
    for index in range(made):
        header = record[2 * index] - HEADER_BYTES
        size = rows.get(header)
        if size is None:
            missing += 1
        elif size != record[2 * index + 1]:
            wrong_size += 1
        else:
            continue
        if len(examples) < 5:
            examples.append("%#x: recorded size %#x, listed %s" % (
                header, record[2 * index + 1], "no row" if size is None else "%#x" % size))
    return {"made": made, "rows": len(rows), "missing": missing, "wrong_size": wrong_size,
            "unrecorded_rows": len(rows) - (made - missing), "examples": examples}


def describe(result):
    return ("%d chunks made, %d listing rows; %d not listed, %d listed with another size; %d "
            "rows the program did not record" % (
                result["made"], result["rows"], result["missing"], result["wrong_size"],
                result["unrecorded_rows"]))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[-1])
    result = compare(sys.argv[1], sys.argv[2])
    print("recorded_chunks: " + describe(result))
    for example in result["examples"]:
        print("  " + example)
    return 1 if result["missing"] or result["wrong_size"] else 0


if __name__ == "__main__":
    sys.exit(main())
