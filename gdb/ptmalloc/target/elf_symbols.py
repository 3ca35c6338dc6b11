"""Two questions answered from an objfile's ELF symbol tables, read straight from its file.

- `defines_symbol(path, "malloc")`: whether .dynsym defines a name.  A stripped libptmalloc.so
  keeps only .dynsym, which gdb turns into minimal symbols that Python cannot look up per
  objfile.  Without this check, a stripped clone that has no layout manifest would be skipped
  and glibc's never-used main_arena read instead ("not initialised"), when the truth is that
  malloc is served by a library we cannot describe.
- `symbol_table(path, build_id)`: the types, values and sizes of the file's .symtab symbols, when the
  file still has the build-id gdb loaded.  Two variables of one module keep their distance in
  memory (and two thread-local ones in every thread's TLS block), so the address of one variable
  gdb has found gives the others' without asking gdb for their symbols: a lookup can make gdb
  expand a whole compilation unit's debug info, milliseconds on a session's first command."""

import os
import struct

_SHT_SYMTAB = 2
_SHT_RELA = 4
_SHT_NOTE = 7
_SHT_DYNSYM = 11
_SHN_UNDEF = 0
_NT_GNU_BUILD_ID = 3
STT_OBJECT = 1
STT_FUNC = 2
STT_TLS = 6
_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
_R_X86_64_TPOFF64 = 18
# A symbol table is a few thousand entries even for libc; a bound keeps a hostile file cheap.
_MAX_READ = 64 << 20

_cache = {}


def defines_symbol(path, name):
    """True/False when the file's .dynsym does/doesn't define `name`; None when unreadable."""
    found = _defined(path, _SHT_DYNSYM)
    return None if found is None else name.encode() in found


def is_dynamic_linker(path):
    """Whether the file is ld.so, known by the _rtld_global only it defines, under any name
    (ld-linux-x86-64.so.2, 2.31's ld-2.31.so)."""
    return defines_symbol(path, "_rtld_global") is True


def symbol_table(path, build_id):
    """{name as bytes: (symbol type, value), or None for a name defined more than once} of the
    file's .symtab, or {} when it has none (stripped), cannot be read, or its build-id is not
    `build_id` (rebuilt since gdb read it)."""
    if not _built_as(path, build_id):
        return {}
    return _defined(path, _SHT_SYMTAB) or {}


def tls_offset_slots(path, build_id):
    """[(GOT slot's link-time address, addend)] of the file's R_X86_64_TPOFF64 relocations
    against the module itself (symbol 0), when its build-id is `build_id`; else [].

    Each such slot is where the dynamic linker writes a thread-local variable's offset from the
    thread pointer for initial-exec accesses: the addend (the variable's place in the module's
    TLS block) minus the block's offset.  Reading one slot in memory gives the block's offset."""
    if not _built_as(path, build_id):
        return []
    return _cached(path, _SHT_RELA, _read_tls_slots) or []


def _built_as(path, build_id):
    """Whether the file on disk still has `build_id`, the one gdb read (gdb.Objfile.build_id)."""
    return bool(build_id) and _cached(path, _SHT_NOTE, _read_build_id) == build_id


def _defined(path, section_type):
    """{name: (symbol type, value)} of the defined symbols in the file's first section of
    `section_type`; {} when it has none; None when the file is unreadable or not ELF64 LE."""
    return _cached(path, section_type, lambda opened: _read_symbols(opened, section_type))


def _cached(path, what, read):
    """read(path), once per version of the file (its size and modification time)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    key = (path, status.st_size, status.st_mtime_ns, what)
    if key not in _cache:
        try:
            _cache[key] = read(path)
        except (OSError, struct.error, ValueError, IndexError):
            _cache[key] = None
    return _cache[key]


def _section_headers(handle):
    """The file's section headers as tuples; None when it is not ELF64 little-endian."""
    header = _ELF_HEADER.unpack(handle.read(_ELF_HEADER.size))
    ident, section_offset, entry_size, count = header[0], header[6], header[11], header[12]
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
        return None
    if entry_size != _SECTION_HEADER.size or count == 0:
        return []
    handle.seek(section_offset)
    table = handle.read(entry_size * count)
    return [_SECTION_HEADER.unpack_from(table, i * entry_size) for i in range(count)]


def _contents(handle, section_type):
    """(section header, contents) of each section of `section_type` in the open file."""
    for section in _section_headers(handle) or []:
        if section[1] == section_type and section[5] <= _MAX_READ:
            handle.seek(section[4])
            yield section, handle.read(section[5])


def _read_build_id(path):
    """The GNU build-id note's bytes as lowercase hex (as gdb.Objfile.build_id), or None."""
    with open(path, "rb") as handle:
        for _section, notes in _contents(handle, _SHT_NOTE):
            at = 0
            while at + 12 <= len(notes):
                name_size, description_size, note_type = struct.unpack_from("<III", notes, at)
                name_at = at + 12
                description_at = name_at + (name_size + 3) // 4 * 4
                if note_type == _NT_GNU_BUILD_ID and notes[name_at:name_at + name_size] == b"GNU\0":
                    return notes[description_at:description_at + description_size].hex()
                at = description_at + (description_size + 3) // 4 * 4
    return None


def _read_tls_slots(path):
    slots = []
    with open(path, "rb") as handle:
        for _section, data in _contents(handle, _SHT_RELA):
            for offset, info, addend in _RELA.iter_unpack(data[:len(data) - len(data) % _RELA.size]):
                if info & 0xFFFFFFFF == _R_X86_64_TPOFF64 and info >> 32 == 0:
                    slots.append((offset, addend))
    return slots


def _read_symbols(path, section_type):
    with open(path, "rb") as handle:
        sections = _section_headers(handle)
        if sections is None:
            return None
        for section in sections:
            if section[1] != section_type:
                continue
            symbols_offset, symbols_size, link = section[4], section[5], section[6]
            strings = sections[link]
            if symbols_size > _MAX_READ or strings[5] > _MAX_READ:
                return None
            handle.seek(strings[4])
            names = handle.read(strings[5])
            handle.seek(symbols_offset)
            data = handle.read(symbols_size)
            symbols = {}
            for name_offset, info, _other, section_index, value, size in \
                    _SYMBOL.iter_unpack(data[:len(data) - len(data) % _SYMBOL.size]):
                if section_index == _SHN_UNDEF or name_offset == 0:
                    continue
                name = names[name_offset:names.find(b"\0", name_offset)]
                # Two file-local symbols may share a name: such a name says nothing certain.
                symbols[name] = None if name in symbols else (info & 0xF, value, size)
            return symbols
        return {}
