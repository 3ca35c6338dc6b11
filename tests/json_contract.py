"""The --json contract, enforced: every JSON document a heap command prints in the test suites
is checked against docs/schema/heap-json.schema.json before a test looks at it.

    value = json_contract.checked("heap chunks --json --limit 3", json.loads(line))

`checked` picks the schema's definition for the command (aliases included), and fails with the
command, the path inside the document and what is wrong.  It runs in pytest and inside gdb (the
fuzz driver), so it needs nothing but the standard library and python3-jsonschema."""

import functools
import json
import os

import jsonschema

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                           "schema", "heap-json.schema.json")

# The schema's definition for each command word, pwndbg's aliases included.
DEFINITION_OF_COMMAND = {
    "": "summary", "summary": "summary", "arenas": "arenas", "arena": "arena",
    "chunks": "chunks", "chunk": "chunk", "malloc_chunk": "chunk", "hi": "chunk",
    "bins": "bins", "tcachebins": "bins", "fastbins": "bins", "smallbins": "bins",
    "largebins": "bins", "unsortedbin": "bins", "tcache": "tcache", "top": "top",
    "top_chunk": "top", "mp": "mp", "vis": "vis", "vis_heap_chunks": "vis", "try-free": "try-free",
    "try_free": "try-free", "try-malloc": "try-malloc", "try_malloc": "try-malloc",
    "try-realloc": "try-realloc", "try_realloc": "try-realloc", "find-fake-fast": "find-fake-fast",
    "find_fake_fast": "find-fake-fast", "check": "check", "map": "map", "history": "history",
    "refs": "refs", "snapshot": "snapshot", "diff": "diff",
}


def definition_for(command):
    """The name under $defs that describes `command`'s --json output."""
    words = command.split()
    if words and words[0] == "heap":
        words = words[1:]
    subcommand = words[0] if words and not words[0].startswith("-") else ""
    if subcommand == "chunks" and "--summary" in words:
        return "histogram"
    if subcommand not in DEFINITION_OF_COMMAND:
        raise KeyError("no JSON contract for %r" % command)
    return DEFINITION_OF_COMMAND[subcommand]


@functools.lru_cache(maxsize=None)
def _validator(definition):
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    if definition not in schema["$defs"]:
        raise KeyError("the schema has no definition %r" % definition)
    return jsonschema.Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/" + definition})


def problems(command, value):
    """Every way `value` breaks the contract of `command`, one line each (empty when it holds)."""
    errors = sorted(_validator(definition_for(command)).iter_errors(value),
                    key=lambda error: list(error.absolute_path))
    return ["%s at /%s: %s" % (command, "/".join(str(part) for part in error.absolute_path),
                               error.message[:300]) for error in errors]


def checked(command, value):
    """`value`, after asserting that it is what `command --json` promises."""
    found = problems(command, value)
    assert not found, "--json output breaks docs/schema/heap-json.schema.json:\n  " + \
        "\n  ".join(found[:10])
    return value
