"""The byte layout of the allocator's structs in the target, from DWARF (through gdb's types)
or from a layout manifest: where each field is, and raw bytes turned into field values."""

import struct

import gdb

from ..errors import HeapError

_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


class Field:
    """One struct member: byte offset, element size, element count (1 unless an array)."""

    __slots__ = ("name", "offset", "size", "count", "code")

    def __init__(self, name, offset, size, count, signed):
        self.name = name
        self.offset = offset
        self.size = size
        self.count = count
        code = _FORMATS.get(size, None)
        self.code = code.lower() if (code and signed) else code


class StructLayout:
    """Offsets of a struct's fields, with `unpack` turning raw bytes into a dict of values."""

    def __init__(self, name, size, fields):
        self.name = name
        self.size = size
        self.fields = {field.name: field for field in fields}

    def offset(self, field_name):
        try:
            return self.fields[field_name].offset
        except KeyError:
            raise HeapError("the allocator's %s has no field %s" % (self.name, field_name)) from None

    def has(self, field_name):
        return field_name in self.fields

    def unpack(self, data, base=0):
        """{field: int or tuple of ints}, for fields of 1, 2, 4 or 8 bytes (others are skipped)."""
        values = {}
        for field in self.fields.values():
            if field.code is None:
                continue
            if field.count == 1:
                values[field.name] = struct.unpack_from("<" + field.code, data, base + field.offset)[0]
            else:
                values[field.name] = struct.unpack_from("<%d%s" % (field.count, field.code), data,
                                                        base + field.offset)
        return values

    @classmethod
    def from_gdb_type(cls, gdb_type):
        resolved = gdb_type.strip_typedefs()
        fields = []
        for field in resolved.fields():
            if field.name is None or not hasattr(field, "bitpos"):
                continue
            field_type = field.type.strip_typedefs()
            count = 1
            if field_type.code == gdb.TYPE_CODE_ARRAY:
                low, high = field_type.range()
                count = high - low + 1
                field_type = field_type.target().strip_typedefs()
            signed = field_type.code == gdb.TYPE_CODE_INT and getattr(field_type, "is_signed", False)
            fields.append(Field(field.name, field.bitpos // 8, field_type.sizeof, count, signed))
        return cls(str(gdb_type), resolved.sizeof, fields)

    @classmethod
    def from_manifest(cls, name, size, described):
        fields = []
        for field_name, field in described.items():
            count = field.get("count", 1) or 1
            element = field["size"] // count if count > 1 else field["size"]
            fields.append(Field(field_name, field["offset"], element, count,
                                element == 4 and field_name in _SIGNED_INT_FIELDS))
        return cls(name, size, fields)


_SIGNED_INT_FIELDS = {"mutex", "flags", "have_fastchunks", "hp_flags", "n_mmaps", "n_mmaps_max",
                      "max_n_mmaps", "no_dyn_threshold"}
