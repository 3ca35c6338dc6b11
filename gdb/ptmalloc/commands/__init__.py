"""The `heap` command family: a shared base class and a registry of command modules.

Every module in this package is imported by `register_all()`; a module adds commands with the
`@command` decorator, so a new family (`heap check`, `heap vis`, ...) is one new file here.
pwndbg-style aliases are declared on the command class and created only where the name is free.

Each command parses its arguments with argparse over the words arguments.py cuts its text into
(expressions kept as `print` takes them), and every failure ends as one `heap: ...` line (a
gdb.GdbError): never a Python traceback.  No command leaves another thread or frame selected
than the user's.

A bad verdict (errors.HeapVerdict: `heap check` found problems) fails the command when gdb runs it
as a command (typed, from a command file, with -ex), so `gdb -batch` exits non-zero; when a
Python script runs it with gdb.execute, the command succeeds and the verdict is in its output
(the JSON's "ok", or a last `heap: ...` line of text), since a failing gdb.execute would throw
away the output that `to_string=True` asked for.  In `gdb -batch`, a failed `heap check` also
makes gdb's exit status 1 whatever command comes last (exit_status.py).  A Python caller is seen
as a Python frame below the command's invoke(): gdb calls invoke() from C with none when the
command is not run from Python."""

import argparse
import importlib
import pkgutil
import sys

import gdb

from .. import constants as C
from ..errors import HeapError, HeapVerdict, one_line
from . import arguments

_COMMANDS = []


def command(cls):
    """Class decorator: register a HeapCommand subclass to be created by register_all()."""
    _COMMANDS.append(cls)
    return cls


def _formatter(prog):
    """argparse's help formatter at gdb's width: given a width, argparse does not import shutil
    (and with it lzma and bz2) to ask the terminal, which would add milliseconds to the first
    command of every gdb session."""
    try:
        width = int(gdb.parameter("width") or 0)
    except (gdb.error, TypeError, ValueError):
        width = 0
    return argparse.HelpFormatter(prog, width=width if 40 <= width <= 200 else 80)


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs):
        super().__init__(formatter_class=_formatter, **kwargs)

    def error(self, message):
        raise HeapError("%s: %s (see `help %s`)" % (self.prog, message, self.prog))

    def exit(self, status=0, message=None):
        raise HeapError(message.strip() if message else "%s: bad arguments" % self.prog)


def parse_address(text):
    """An address from a gdb expression as `print` takes it: `0x...`, `p`, `$rax+16`, `&obj`,
    `v[1] + 8`, `'prog.c'::v`, `$conv`; never one that calls or writes (arguments.evaluate)."""
    inner = arguments.unquoted(text)
    try:
        value = arguments.evaluate(text)
        if inner is not None and value.type.strip_typedefs().code == gdb.TYPE_CODE_VOID:
            value = arguments.evaluate(inner)
    except HeapError:
        # A whole expression in quotes, as a shell user types it: gdb reads '...' as a symbol's
        # name (or as nothing), so when that fails, the text inside is the expression.
        if inner is None:
            raise
        value = arguments.evaluate(inner)
    try:
        # An array, struct or union names its storage (`main_arena`, `tcache->entries`): its address.
        code = value.type.strip_typedefs().code
        if code in (gdb.TYPE_CODE_ARRAY, gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
            if value.address is None:
                raise HeapError("%r is a %s that is not in the program's memory (gdb made it), "
                                "so it has no address; give a pointer or an integer" % (
                                    text, "struct" if code == gdb.TYPE_CODE_STRUCT else
                                    "union" if code == gdb.TYPE_CODE_UNION else "array"))
            value = value.address
        elif code == gdb.TYPE_CODE_VOID:
            raise HeapError("%r has no value" % text)
        return int(value) & C.MASK64
    except (gdb.error, ValueError, OverflowError, TypeError) as error:
        raise HeapError("cannot evaluate %r: %s" % (text, error)) from None


def arena_argument(snap, text):
    """The Arena at the address `text` evaluates to (a HeapError when no arena is there)."""
    address = parse_address(text)
    arena = snap.arena_by_address(address)
    if arena is None:
        raise HeapError("%#x is not an arena (see `heap arenas`)" % address)
    return arena


def size_argument(text):
    """A size or count: a non-negative integer, decimal or 0x-hex."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("not a size: %r" % text) from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative: %r" % text)
    return value


class HeapCommand(gdb.Command):
    """Base of every heap command: the class docstring is gdb's help text.

    Subclasses set `name` (full command name), optionally `aliases` (((alias, preset argv), ...)),
    implement `add_arguments(parser)` and `run(args)`."""

    name = None
    aliases = ()

    def __init__(self):
        super().__init__(self.name, gdb.COMMAND_DATA)

    def add_arguments(self, parser):
        pass

    def parser(self):
        parser = _Parser(prog=self.name, add_help=False)
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        self.add_arguments(parser)
        return parser

    def invoke(self, argument, from_tty):
        invoke_safely(self, argument, _run_by_python())

    def group_positionals(self, words):
        """The positional arguments from the words left once options are out: with one
        positional argument, one expression (every word, as typed); with more, the words joined
        into expressions at the operators between them (`heap try-realloc p + 8 100`)."""
        if not words:
            return []
        slots = [action for action in self.parser()._actions if not action.option_strings]
        if len(slots) > 1:
            return arguments.expressions(words)
        return [" ".join(words)]

    def options(self):
        """Every option this command takes, for completion."""
        return sorted(option for action in self.parser()._actions
                      for option in action.option_strings if action.help != argparse.SUPPRESS)

    def complete_words(self, words, word):
        """Completions of `word` when it is not an option (the words before it given): None
        lets gdb complete an expression."""
        return None

    def complete(self, text, word):
        """Options after `-`, the command's own words (bin kinds), else gdb's expression
        completion.  gdb breaks `word` at `-`, so matches are cut to what replaces `word`."""
        word = word or ""
        current = "" if not text or text[-1].isspace() else text.split()[-1]
        if current.startswith("-"):
            found = [option for option in self.options() if option.startswith(current)]
        else:
            try:
                before = arguments.words(text[:len(text) - len(current)])
            except HeapError:
                before = []
            found = self.complete_words(before, current)
            if found is None:
                return gdb.COMPLETE_EXPRESSION
        cut = len(current) - len(word)
        return [match[cut:] for match in found if cut >= 0]

    def run(self, args):
        raise NotImplementedError


def _run_by_python():
    """True when the command's invoke() (the caller of this function) was called by Python
    code through gdb.execute, rather than by gdb's command loop: then a frame lies below it."""
    try:
        sys._getframe(2)
    except ValueError:
        return False
    return True


class _KeepSelection:
    """The user's thread and frame as they were: no command leaves another one selected."""

    def __enter__(self):
        try:
            self.thread = gdb.selected_thread()
            self.frame = gdb.selected_frame() if self.thread is not None else None
        except gdb.error:
            self.thread = self.frame = None
        return self

    def __exit__(self, *_exception):
        try:
            if self.thread is not None and self.thread.is_valid() and \
                    gdb.selected_thread() != self.thread:
                self.thread.switch()
            if self.frame is not None and self.frame.is_valid() and \
                    gdb.selected_frame() != self.frame:
                self.frame.select()
        except gdb.error:
            pass
        return False


def invoke_safely(cmd, text, run_by_python=False, preset=""):
    """Run `cmd` on its argument text (`preset` words first: an alias's)."""
    try:
        with _KeepSelection():
            parser = cmd.parser()
            args = parser.parse_args(arguments.argv(parser, ("%s %s" % (preset, text)).strip(),
                                                    cmd.group_positionals))
            cmd.run(args)
    except HeapVerdict as verdict:
        if not run_by_python:
            if cmd.name == "heap check":
                from . import exit_status
                exit_status.check_failed(one_line(verdict))
            raise gdb.GdbError("heap: " + one_line(verdict)) from None
        if not verdict.in_json:
            gdb.write("heap: %s\n" % one_line(verdict))
    except KeyboardInterrupt:
        raise gdb.GdbError("heap: interrupted") from None
    except Exception as error:  # noqa: BLE001 - the one place every failure becomes one line
        raise gdb.GdbError("heap: " + one_line(error)) from None


class HeapPrefix(gdb.Command):
    """Inspect the ptmalloc2 heap (the clone or glibc 2.31/2.36/2.41): arenas, chunks, bins, tcaches.

Usage: heap [--json]   one-screen summary; see `help heap` subcommands below.
Works on a live process and on a core file; every subcommand takes --json."""

    def __init__(self):
        super().__init__("heap", gdb.COMMAND_DATA, gdb.COMPLETE_COMMAND, True)

    def invoke(self, argument, from_tty):
        summary = _by_name.get("heap summary")
        if summary is None:
            raise gdb.GdbError("heap: summary command not loaded")
        invoke_safely(summary, argument, _run_by_python())


class _Alias(gdb.Command):
    def __init__(self, alias, target, preset):
        self.__doc__ = "Alias for `%s%s` (pwndbg's name).\n\n%s" % (
            target.name, "".join(" " + word for word in preset), target.__doc__ or "")
        self._target = target
        self._preset = " ".join(preset)
        super().__init__(alias, gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        invoke_safely(self._target, argument, _run_by_python(), self._preset)

    def complete(self, text, word):
        return self._target.complete(text, word)


_by_name = {}


def _name_is_free(name):
    """True when no gdb command (built-in or user-defined) has this exact name."""
    try:
        listing = gdb.execute("complete %s" % name, to_string=True)
    except gdb.error:
        return True
    return name not in listing.split()


def register_all():
    """Import every module of this package, create the commands, then the free aliases."""
    package = __name__
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        try:
            importlib.import_module("%s.%s" % (package, module.name))
        except Exception as error:  # noqa: BLE001 - one broken module must not hide the others
            gdb.write("heap: cannot load command module %s: %s\n" % (module.name,
                                                                     one_line(error)))
    if "heap" not in _by_name:
        _by_name["heap"] = HeapPrefix()
    for cls in _COMMANDS:
        if cls.name in _by_name:
            continue
        _by_name[cls.name] = cls()
    # `set heap layout-path` must exist from the start, not only once a manifest is first needed.
    importlib.import_module("%s.settings" % package).register()
    created = []
    for cls in _COMMANDS:
        for alias, preset in cls.aliases:
            if alias in _by_name or not _name_is_free(alias):
                continue
            _by_name[alias] = _Alias(alias, _by_name[cls.name], preset)
            created.append(alias)
    return created
