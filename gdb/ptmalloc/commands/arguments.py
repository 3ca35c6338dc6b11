"""A command's argument text split the way `print` reads an expression.

gdb.string_to_argv splits `v[1] + 8` into three words and strips the quotes of `'prog.c'::v`.
Here the text is cut into words at blanks outside quotes and brackets, each word kept exactly as
typed (quotes included); words that are the command's own options (`--limit`, `--arena=...`)
are picked out, an option's value is the expression that follows it (words joined by
operators: `--arena $a + 0x10`), and the words left are handed to the
command, which joins them back into expressions (HeapCommand.group_positionals).  The argv built
for argparse puts `--` before those, so an expression starting with `-` is never an option.

Evaluating never runs code in the program nor writes it: `may-call-functions`, `may-write-memory`
and `may-write-registers` are off while gdb evaluates (`heap chunk (char*)malloc(5000)`, `p = 0`
are refused in one line)."""

import contextlib
import re

import gdb

from ..errors import HeapError

_OPEN = "([{"
_CLOSE = ")]}"


def words(text, separates=str.isspace):
    """The words of `text`: characters for which `separates` is true (blanks by default; a
    comma for a call's arguments) split words only outside quotes and brackets.  Words are
    kept as typed, without the blanks around them."""
    found = []
    depth = 0
    quote = None
    start = None
    index = 0
    while index < len(text):
        char = text[index]
        if start is None and not char.isspace():
            start = index
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif separates(char) and depth == 0 and start is not None:
            found.append(text[start:index].strip())
            start = None
        index += 1
    if quote:
        raise HeapError("unterminated %s quote in %r" % (quote, text))
    if start is not None:
        found.append(text[start:].strip())
    return found


def _option_table(parser):
    """{option string: takes a value} for the parser's options."""
    table = {}
    for action in parser._actions:  # argparse keeps no public list of its options
        for option in action.option_strings:
            table[option] = action.nargs != 0
    return table


def split(parser, text):
    """(option argv, positional words) of a command's argument text."""
    table = _option_table(parser)
    options = []
    positionals = []
    pending = None  # the option whose value is being read, and its words so far
    only_positionals = False
    for word in words(text):
        name = word.split("=", 1)[0]
        if not only_positionals and word == "--":
            only_positionals = True
            continue
        if not only_positionals and word.startswith("--") and (name in table or
                                                               _prefix_of(name, table)):
            if pending:
                options += [pending[0], " ".join(pending[1])]
                pending = None
            option = name if name in table else _prefix_of(name, table)
            if "=" in word:
                options.append("%s=%s" % (option, word.split("=", 1)[1]))
            elif table[option]:
                pending = (option, [])
            else:
                options.append(option)
            continue
        if pending is not None:
            if not pending[1] or continues(pending[1][-1], word):
                pending[1].append(word)
                continue
            options += [pending[0], " ".join(pending[1])]
            pending = None
        if not only_positionals and word.startswith("--"):
            options.append(word)  # argparse says it is unknown
            continue
        positionals.append(word)
    if pending:
        if not pending[1]:
            options.append(pending[0])  # argparse says the value is missing
        else:
            options += [pending[0], " ".join(pending[1])]
    return options, positionals


_OPERATOR_START = "+-*/%&|^<>=?:.,[("
_OPERATOR_END = "+-*/%&|^<>=?:,(!~"


def continues(previous, word):
    """True when `word` goes on with the expression `previous` ends (an operator between
    them): an option's value is one expression, `--arena $a + 0x10`, and the words after it
    are the command's own."""
    return word[:1] in _OPERATOR_START or previous[-1:] in _OPERATOR_END


def _prefix_of(name, table):
    """The one option `name` abbreviates (argparse's rule), or None."""
    matches = [option for option in table if option.startswith(name) and len(name) > 2]
    return matches[0] if len(matches) == 1 else None


def expressions(words):
    """Words joined into expressions: a word goes on with the one before when an operator
    stands between them (`p + 8 100` is `p + 8` and `100`)."""
    found = []
    for word in words:
        if found and continues(found[-1], word):
            found[-1] += " " + word
        else:
            found.append(word)
    return found


def argv(parser, text, group):
    """The argv for parser.parse_args: options, then `--` and the command's grouped words."""
    options, positionals = split(parser, text)
    grouped = group(positionals)
    return options + (["--"] + grouped if grouped else [])


def unquoted(text):
    """The text inside quotes that enclose all of `text`, or None."""
    text = text.strip()
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        inner = text[1:-1]
        if text[0] not in inner.replace("\\" + text[0], ""):
            return inner
    return None


_GUARDS = ("may-call-functions", "may-write-memory", "may-write-registers")


@contextlib.contextmanager
def read_only_evaluation():
    """gdb refuses inferior calls and writes to memory and registers meanwhile."""
    saved = []
    for name in _GUARDS:
        try:
            value = gdb.parameter(name)
        except (gdb.error, RuntimeError):
            continue
        if value:
            try:
                gdb.execute("set %s off" % name, to_string=True)
                saved.append(name)
            except gdb.error:
                pass
    try:
        yield
    finally:
        for name in saved:
            try:
                gdb.execute("set %s on" % name, to_string=True)
            except gdb.error:
                pass


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_ASSIGNMENT = re.compile(r"(?<![=!<>])=(?!=)|\+\+|--")


def evaluate(text):
    """gdb.parse_and_eval under read_only_evaluation(), failing with one line.  An assignment
    is refused before gdb sees it (gdb cannot forbid writing registers while the program
    runs)."""
    if _ASSIGNMENT.search(_QUOTED.sub("''", text)):
        raise HeapError("cannot evaluate %r: it assigns, and heap commands never change the "
                        "program or gdb's variables" % text)
    with read_only_evaluation():
        try:
            return gdb.parse_and_eval(text)
        except gdb.error as error:
            message = str(error)
            if "may-call-functions is off" in message:
                message = "it calls a function in the program, which heap commands never do"
            elif "may-write-" in message or "writing" in message.lower():
                message = "it writes to the program, which heap commands never do"
            raise HeapError("cannot evaluate %r: %s" % (text, message)) from None
