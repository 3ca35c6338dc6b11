"""Whether an objfile's ELF file defines `malloc` in its dynamic symbol table.

A stripped libptmalloc.so keeps only .dynsym, which gdb turns into minimal symbols that Python
cannot look up per objfile.  Without this check, a stripped clone that has no layout manifest
would be skipped and glibc's never-used main_arena read instead ("not initialised"), when the
truth is that malloc is served by a library we cannot describe."""

import struct

_SHT_DYNSYM = 11
_SHN_UNDEF = 0
_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")
# A .dynsym is a few thousand entries even for libc; a bound keeps a hostile file cheap.
_MAX_READ = 64 << 20

_cache = {}


def defines_symbol(path, name):
    """True/False when the file's .dynsym does/doesn't define `name`; None when unreadable."""
    key = (path, name)
    if key not in _cache:
        try:
            _cache[key] = _scan(path, name.encode())
        except (OSError, struct.error, ValueError, IndexError):
            _cache[key] = None
    return _cache[key]


def _scan(path, wanted):
    with open(path, "rb") as handle:
        header = _ELF_HEADER.unpack(handle.read(_ELF_HEADER.size))
        ident, section_offset, entry_size, count = header[0], header[6], header[11], header[12]
        if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            return None
        if entry_size != _SECTION_HEADER.size or count == 0:
            return False
        handle.seek(section_offset)
        table = handle.read(entry_size * count)
        sections = [_SECTION_HEADER.unpack_from(table, i * entry_size) for i in range(count)]
        for section in sections:
            if section[1] != _SHT_DYNSYM:
                continue
            symbols_offset, symbols_size, link = section[4], section[5], section[6]
            strings = sections[link]
            if symbols_size > _MAX_READ or strings[5] > _MAX_READ:
                return None
            handle.seek(strings[4])
            names = handle.read(strings[5])
            handle.seek(symbols_offset)
            data = handle.read(symbols_size)
            for offset in range(0, len(data) - _SYMBOL.size + 1, _SYMBOL.size):
                name_offset, _info, _other, section_index, _value, _size = \
                    _SYMBOL.unpack_from(data, offset)
                if section_index == _SHN_UNDEF:
                    continue
                end = names.find(b"\0", name_offset)
                if names[name_offset:end] == wanted:
                    return True
        return False
