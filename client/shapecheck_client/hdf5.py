"""A small, read-only HDF5 reader in pure Python, for the files h5py writes for Keras.

Keras keeps a model's weights in HDF5: the ``model.weights.h5`` inside a ``.keras`` archive,
and the whole legacy ``.h5`` file, whose root attribute ``model_config`` is the architecture.
This module reads both without h5py. Section numbers refer to the *HDF5 File Format
Specification Version 3.0* (docs.hdfgroup.org, "File Format Specification").

Supported: superblock versions 0 to 3 (II.A); object headers version 1 and 2, with their
continuation blocks (IV.A.1); old-style groups (a symbol table message, III.A.1 v1 B-tree
group nodes, III.B symbol table nodes, III.D local heap) and compact new-style groups (link
messages, IV.A.2.g); attributes (IV.A.2.m) of fixed-length and variable-length strings (the
latter in the global heap, III.E), integers and floats, scalar or simple dataspaces; datasets
of contiguous or compact layout (IV.A.2.i) of little-endian float16/32/64, int8 to int64,
uint8 to uint64, and bool as h5py stores it (an enumeration of int8, ``FALSE`` 0 and ``TRUE``
1). Anything else (chunked or compressed data, big-endian numbers, dense groups in a fractal
heap, shared messages) raises ``UnsupportedHDF5``, a ValueError naming the file and the
feature; ``read_hdf5`` then falls back to h5py when it is installed. A damaged or truncated
file raises a plain ValueError naming the file: every read is bounds-checked, and the walks
through B-trees, continuation blocks and groups remember the addresses they visited.
"""

from __future__ import annotations

import base64
import contextlib
import io
import math
import mmap
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

SIGNATURE = b"\x89HDF\r\n\x1a\n"
T = TypeVar("T")

# Header message types (IV.A.2)
NIL, DATASPACE, LINK_INFO, DATATYPE, LAYOUT = 0x00, 0x01, 0x02, 0x03, 0x08
LINK, EXTERNAL_FILES, ATTRIBUTE, CONTINUATION, SYMBOL_TABLE = 0x06, 0x07, 0x0C, 0x10, 0x11
ATTRIBUTE_INFO = 0x15

MAX_MESSAGES = 1 << 16
"""More header messages than any object h5py writes; past it a file is taken as damaged."""

STRUCT_CODES = {"int8": "b", "int16": "h", "int32": "i", "int64": "q",
                "uint8": "B", "uint16": "H", "uint32": "I", "uint64": "Q",
                "float16": "e", "float32": "f", "float64": "d", "bool": "?"}
IEEE_MANTISSA = {2: 10, 4: 23, 8: 52}
"""The mantissa bits of IEEE 754 half, single and double precision floats, by size."""
DATATYPE_CLASSES = {0: "fixed-point", 1: "floating-point", 2: "time", 3: "string",
                    4: "bitfield", 5: "opaque", 6: "compound", 7: "reference", 8: "enumeration",
                    9: "variable-length", 10: "array"}


def is_hdf5(path: Path) -> bool:
    """Whether the file at ``path`` starts as an HDF5 file (at offset 0, as Keras writes it)."""
    with path.open("rb") as file:
        return file.read(len(SIGNATURE)) == SIGNATURE


class UnsupportedHDF5(ValueError):
    """A well-formed HDF5 file that uses a feature this reader does not implement."""


class Bytes:
    """The bytes of an HDF5 file (or a piece of it), read with bounds checks: running past
    the end raises a ValueError that names the file, never an IndexError or struct.error."""

    def __init__(self, data: bytes | mmap.mmap, name: str, offset_size: int = 8,
                 length_size: int = 8) -> None:
        self.data = data
        self.name = name
        self.offset_size = offset_size
        self.length_size = length_size

    def damaged(self, what: str) -> ValueError:
        return ValueError(f"{self.name} is not a readable HDF5 file: {what}")

    def unsupported(self, feature: str) -> UnsupportedHDF5:
        return UnsupportedHDF5(f"{self.name} uses an HDF5 feature this reader does not "
                               f"support: {feature} (pip install h5py to read it)")

    def take(self, at: int, size: int, what: str) -> bytes:
        if at < 0 or size < 0 or at + size > len(self.data):
            raise self.damaged(f"{what} at byte {at} runs past the end ({len(self.data)} bytes)")
        return bytes(self.data[at:at + size])

    def cursor(self, at: int, size: int, what: str) -> Cursor:
        return Cursor(self.take(at, size, what), self, what)

    def is_undefined(self, address: int) -> bool:
        """The all-ones address stands for "none" (I.B)."""
        return address == (1 << (8 * self.offset_size)) - 1


class Cursor:
    """Fields read one after another out of one structure's bytes."""

    def __init__(self, data: bytes, file: Bytes, what: str) -> None:
        self.data = data
        self.file = file
        self.what = what
        self.at = 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise self.file.damaged(f"{self.what} is cut short")
        self.at += size
        return self.data[self.at - size:self.at]

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def offset(self) -> int:
        return self.uint(self.file.offset_size)

    def length(self) -> int:
        return self.uint(self.file.length_size)

    def expect(self, signature: bytes) -> None:
        if self.take(len(signature)) != signature:
            raise self.file.damaged(f"{self.what} lacks its signature {signature!r}")

    def align(self, boundary: int) -> None:
        self.take(-self.at % boundary)

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.at)

    def cstring(self) -> bytes:
        """A null-terminated string (the null is consumed, not returned)."""
        end = self.data.find(b"\0", self.at)
        if end < 0:
            raise self.file.damaged(f"a name in {self.what} is not terminated")
        text = self.data[self.at:end]
        self.at = end + 1
        return text


# -- II.A superblock ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Superblock:
    """Where the root group's object header is, and the sizes of addresses and lengths."""

    base: int
    offset_size: int
    length_size: int
    root: int


def read_superblock(file: Bytes) -> Superblock:
    """The superblock (II.A), at byte 0 or, after a user block, at 512, 1024, 2048, ..."""
    at = 0
    while at + len(SIGNATURE) <= len(file.data):
        if file.take(at, len(SIGNATURE), "the signature") == SIGNATURE:
            return parse_superblock(file, at)
        at = 512 if at == 0 else at * 2
    raise file.damaged("no HDF5 signature")


def parse_superblock(file: Bytes, at: int) -> Superblock:
    fields = Cursor(file.take(at + 8, min(len(file.data) - at - 8, 256), "the superblock"),
                    file, "the superblock")
    version = fields.uint(1)
    if version in (0, 1):
        fields.take(4)  # free-space, root group symbol table entry and shared header versions
        offset_size, length_size = fields.uint(1), fields.uint(1)
        fields.take(1 + 4 + 4 + (4 if version == 1 else 0))  # group K values, flags
        sizes = Bytes(file.data, file.name, check_size(file, offset_size),
                      check_size(file, length_size))
        fields.file = sizes
        base = fields.offset()
        fields.take(3 * offset_size)  # free-space info, end of file, driver info addresses
        entry = read_symbol_table_entry(fields)
        return Superblock(base, offset_size, length_size, entry.header)
    if version in (2, 3):
        offset_size, length_size = fields.uint(1), fields.uint(1)
        fields.file = Bytes(file.data, file.name, check_size(file, offset_size),
                            check_size(file, length_size))
        fields.take(1)  # file consistency flags
        base = fields.offset()
        fields.take(2 * offset_size)  # superblock extension, end of file addresses
        return Superblock(base, offset_size, length_size, fields.offset())
    raise file.unsupported(f"superblock version {version}")


def check_size(file: Bytes, size: int) -> int:
    if size not in (2, 4, 8):
        raise file.damaged(f"{size}-byte addresses or lengths")
    return size


# -- III.C symbol table entry, III.D local heap, III.E global heap -----------------------------
@dataclass(frozen=True)
class SymbolTableEntry:
    name_offset: int
    header: int


def read_symbol_table_entry(fields: Cursor) -> SymbolTableEntry:
    """A symbol table entry (III.C): a name in the local heap, an object header address."""
    name_offset, header = fields.offset(), fields.offset()
    fields.take(4 + 4 + 16)  # cache type, reserved, scratch-pad
    return SymbolTableEntry(name_offset, header)


def local_heap_data(file: Bytes, address: int) -> bytes:
    """The data segment of a local heap (III.D), where a group's member names are."""
    fields = file.cursor(address, 8 + 2 * file.length_size + file.offset_size, "a local heap")
    fields.expect(b"HEAP")
    fields.take(4)  # version, reserved
    size = fields.length()
    fields.length()  # offset to the head of the free list
    return file.take(fields.offset(), size, "a local heap's data")


def heap_name(file: Bytes, heap: bytes, offset: int) -> str:
    end = heap.find(b"\0", offset)
    if offset >= len(heap) or end < 0:
        raise file.damaged("a group member's name lies outside its local heap")
    return heap[offset:end].decode("utf-8", "replace")


def global_heap_object(file: Bytes, collection: int, index: int,
                       cache: dict[int, dict[int, bytes]]) -> bytes:
    """Object ``index`` of the global heap collection at ``collection`` (III.E), where
    variable-length strings are kept."""
    if collection not in cache:
        cache[collection] = parse_global_heap(file, collection)
    objects = cache[collection]
    if index not in objects:
        raise file.damaged(f"no object {index} in the global heap at {collection}")
    return objects[index]


def parse_global_heap(file: Bytes, address: int) -> dict[int, bytes]:
    header = file.cursor(address, 8 + file.length_size, "a global heap collection")
    header.expect(b"GCOL")
    header.take(4)  # version, reserved
    size = header.length()
    body = file.cursor(address, size, "a global heap collection")
    body.take(8 + file.length_size)
    objects = {}
    while len(body.data) - body.at >= 8 + file.length_size:
        index = body.uint(2)
        body.take(2 + 4)  # reference count, reserved
        object_size = body.length()
        if index == 0:  # the free space that ends the collection
            break
        objects[index] = body.take(object_size)
        body.align(8)
    return objects


# -- IV.A.1 object headers ---------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    kind: int
    data: bytes


def read_messages(file: Bytes, address: int) -> list[Message]:
    """The header messages of the object at ``address`` (IV.A.1), in order, with those of
    its continuation blocks (IV.A.2.q); NIL and continuation messages dropped."""
    version_2 = file.take(address, 4, "an object header") == b"OHDR"
    first = first_block_v2(file, address) if version_2 else first_block_v1(file, address)
    blocks, seen, messages = [first], set(), []
    while blocks:
        start, size = blocks.pop(0)
        if start in seen:
            raise file.damaged(f"an object header's continuation loops back to {start}")
        seen.add(start)
        block = file.cursor(start, size, "an object header")
        if version_2:
            new = block_messages_v2(block, start != first[0], with_order=first_block_order(
                file, address))
        else:
            new = block_messages_v1(block)
        messages += new
        if len(messages) > MAX_MESSAGES:
            raise file.damaged(f"more than {MAX_MESSAGES} messages in an object header")
        blocks += [continuation(file, m) for m in new if m.kind == CONTINUATION]
    return [message for message in messages if message.kind not in (NIL, CONTINUATION)]


def first_block_v1(file: Bytes, address: int) -> tuple[int, int]:
    """A version 1 object header's prefix (IV.A.1.a): where its messages are."""
    fields = file.cursor(address, 16, "an object header")
    version = fields.uint(1)
    if version != 1:
        raise file.damaged(f"object header version {version} at {address}")
    fields.take(1 + 2 + 4)  # reserved, number of messages, reference count
    return address + 16, fields.uint(4)


def block_messages_v1(block: Cursor) -> list[Message]:
    """The messages of a version 1 header block, each aligned to 8 bytes."""
    messages = []
    while len(block.data) - block.at >= 8:
        kind, length, flags = block.uint(2), block.uint(2), block.uint(1)
        block.take(3)
        messages.append(header_message(block.file, kind, flags, block.take(length)))
        block.align(8)
    return messages


def first_block_order(file: Bytes, address: int) -> bool:
    """Whether a version 2 object header's messages carry a creation order."""
    return bool(file.take(address + 5, 1, "an object header")[0] & 0x04)


def first_block_v2(file: Bytes, address: int) -> tuple[int, int]:
    """A version 2 object header's prefix (IV.A.1.b): where its first chunk's messages are."""
    prefix = file.cursor(address, 4 + 2 + 16 + 4 + 8, "an object header")
    prefix.expect(b"OHDR")
    version, flags = prefix.uint(1), prefix.uint(1)
    if version != 2:
        raise file.damaged(f"object header version {version} at {address}")
    if flags & 0x20:
        prefix.take(16)  # access, modification, change and birth times
    if flags & 0x10:
        prefix.take(4)  # attribute storage phase change values
    size = prefix.uint(1 << (flags & 3))
    return address + prefix.at, size


def block_messages_v2(block: Cursor, continued: bool, with_order: bool) -> list[Message]:
    """The messages of a version 2 header chunk; a continuation chunk starts with "OCHK"
    and ends with a checksum, as the first chunk does after its size."""
    if continued:
        block.expect(b"OCHK")
        block.data = block.data[:-4]
    header_size = 6 if with_order else 4
    messages = []
    while len(block.data) - block.at >= header_size:
        kind, length, flags = block.uint(1), block.uint(2), block.uint(1)
        if with_order:
            block.take(2)
        messages.append(header_message(block.file, kind, flags, block.take(length)))
    return messages


def continuation(file: Bytes, message: Message) -> tuple[int, int]:
    """Where a continuation message (IV.A.2.q) says the header goes on, and for how long."""
    fields = Cursor(message.data, file, "a continuation message")
    return fields.offset(), fields.length()


def header_message(file: Bytes, kind: int, flags: int, data: bytes) -> Message:
    if flags & 0x02:
        raise file.unsupported("shared object header messages")
    return Message(kind, data)


# -- IV.A.2.d datatype, IV.A.2.b dataspace -----------------------------------------------------
@dataclass(frozen=True)
class Datatype:
    """A datatype, named as NumPy and the service name it (``float32``, ``uint8``, ``bool``),
    or ``string`` (fixed length) or ``vlen string``."""

    name: str
    size: int


def parse_datatype(fields: Cursor, depth: int = 0) -> Datatype:
    """A datatype message (IV.A.2.d); ``depth``: how deep inside another datatype (an
    enumeration's or a variable-length type's base) it is."""
    file = fields.file
    if depth > 2:
        raise file.damaged("datatypes nested too deep")
    class_and_version = fields.uint(1)
    bits = fields.uint(3)
    size = fields.uint(4)
    kind = class_and_version & 0x0F
    if kind == 0:  # fixed-point
        fields.take(4)  # bit offset, precision
        little_endian(file, bits, "integers")
        signed = "int" if bits & 0x08 else "uint"
        return numeric(file, f"{signed}{8 * size}", size)
    if kind == 1:  # floating-point
        fields.take(4 + 1 + 1 + 1)  # bit offset, precision, exponent location and size,
        mantissa_size = fields.uint(1)  # mantissa location
        fields.take(4)  # exponent bias
        little_endian(file, bits, "floats")
        if IEEE_MANTISSA.get(size) != mantissa_size:
            raise file.unsupported(f"{size}-byte floats with a {mantissa_size}-bit mantissa")
        return numeric(file, f"float{8 * size}", size)
    if kind == 3:
        return Datatype("string", size)
    if kind == 8:
        return parse_enumeration(fields, bits, class_and_version >> 4, size, depth)
    if kind == 9 and bits & 0x0F == 1:  # a variable-length string
        parse_datatype(fields, depth + 1)  # its base type: characters
        return Datatype("vlen string", size)
    what = DATATYPE_CLASSES.get(kind, f"class {kind}")
    raise file.unsupported(f"{what} data" + (" (a sequence)" if kind == 9 else ""))


def little_endian(file: Bytes, bits: int, what: str) -> None:
    if bits & 0x01:
        raise file.unsupported(f"big-endian {what}")


def numeric(file: Bytes, name: str, size: int) -> Datatype:
    if name not in STRUCT_CODES:
        raise file.unsupported(f"{size}-byte {name.rstrip('0123456789')} numbers")
    return Datatype(name, size)


def parse_enumeration(fields: Cursor, bits: int, version: int, size: int,
                      depth: int) -> Datatype:
    """An enumeration: bool if it is h5py's, int8 with ``FALSE`` 0 and ``TRUE`` 1."""
    base = parse_datatype(fields, depth + 1)
    names = []
    for _ in range(bits & 0xFFFF):
        name = fields.cstring()
        names.append(name)
        if version < 3:  # each name padded to a multiple of 8 bytes, its null included
            fields.take(-(len(name) + 1) % 8)
    values = [fields.uint(base.size) for _ in names]
    if base.name == "int8" and dict(zip(names, values, strict=True)) == {b"FALSE": 0,
                                                                         b"TRUE": 1}:
        return Datatype("bool", size)
    raise fields.file.unsupported("enumerations other than h5py's bool")


def parse_dataspace(fields: Cursor) -> tuple[int, ...] | None:
    """A dataspace message (IV.A.2.b): the shape, () when scalar, None when null (empty)."""
    version, rank, flags = fields.uint(1), fields.uint(1), fields.uint(1)
    if version == 1:
        fields.take(5)
        null = False
    elif version == 2:
        null = fields.uint(1) == 2
    else:
        raise fields.file.damaged(f"dataspace version {version}")
    shape = tuple(fields.length() for _ in range(rank))
    if flags & 0x01:
        fields.take(rank * fields.file.length_size)  # maximum dimensions
    return None if null else shape


# -- values ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Array:
    """A dataset's values as stored: little-endian, C order."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes

    def encoded(self) -> dict[str, Any]:
        """The service's encoded-array object."""
        return {"dtype": self.dtype, "shape": list(self.shape),
                "base64": base64.b64encode(self.data).decode("ascii")}


def decode_values(file: Bytes, datatype: Datatype, shape: tuple[int, ...] | None, data: bytes,
                  heap_cache: dict[int, dict[int, bytes]]) -> Any:
    """An attribute's value: a scalar, or nested lists of ``shape``; text as ``str``."""
    if shape is None:
        return None
    count = math.prod(shape)
    if len(data) < count * datatype.size:
        raise file.damaged("an attribute's value is cut short")
    items = [element(file, datatype, data[i * datatype.size:(i + 1) * datatype.size],
                     heap_cache) for i in range(count)]
    return items[0] if shape == () else nest(items, shape)


def element(file: Bytes, datatype: Datatype, raw: bytes,
            heap_cache: dict[int, dict[int, bytes]]) -> Any:
    if datatype.name == "string":
        return raw.rstrip(b"\0 ").decode("utf-8", "replace")
    if datatype.name == "vlen string":
        fields = Cursor(raw, file, "a variable-length string")
        length, collection, index = fields.uint(4), fields.offset(), fields.uint(4)
        if length == 0:
            return ""
        text = global_heap_object(file, collection, index, heap_cache)[:length]
        return text.decode("utf-8", "replace")
    return struct.unpack("<" + STRUCT_CODES[datatype.name], raw)[0]


def nest(items: list[Any], shape: tuple[int, ...]) -> list[Any]:
    """Flat C-order items as nested lists of ``shape``."""
    if len(shape) <= 1:
        return items
    step = len(items) // shape[0] if shape[0] else 0
    return [nest(items[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


# -- objects: groups and datasets --------------------------------------------------------------
class Node:
    """A group or a dataset of the file, read when asked."""

    def __init__(self, file: HDF5File, address: int, path: str) -> None:
        self.file = file
        self.address = address
        self.path = path
        self._messages: list[Message] | None = None
        self._members: dict[str, int] | None = None

    @property
    def messages(self) -> list[Message]:
        if self._messages is None:
            self._messages = read_messages(self.file.bytes, self.address)
        return self._messages

    def _first(self, kind: int) -> Message | None:
        return next((m for m in self.messages if m.kind == kind), None)

    @property
    def is_dataset(self) -> bool:
        return self._first(LAYOUT) is not None

    @property
    def attrs(self) -> dict[str, Any]:
        """The attributes (IV.A.2.m) stored in the object header."""
        if self._first(ATTRIBUTE_INFO) is not None and self._dense_attributes():
            raise self.file.bytes.unsupported("attributes in dense storage (a fractal heap)")
        return dict(self.file.attribute(m.data) for m in self.messages if m.kind == ATTRIBUTE)

    def _dense_attributes(self) -> bool:
        info = self._first(ATTRIBUTE_INFO)
        assert info is not None
        fields = Cursor(info.data, self.file.bytes, "an attribute info message")
        fields.take(1)
        flags = fields.uint(1)
        if flags & 0x01:
            fields.take(2)  # maximum creation index
        return not self.file.bytes.is_undefined(fields.offset())

    def members(self) -> dict[str, int]:
        """Each member's name and object header address, a group's (sorted by name)."""
        if self._members is None:
            self._members = self._read_members()
        return self._members

    def _read_members(self) -> dict[str, int]:
        table = self._first(SYMBOL_TABLE)
        if table is not None:
            return self.file.symbol_table_members(table.data)
        info = self._first(LINK_INFO)
        if info is not None and self.file.has_dense_links(info.data):
            raise self.file.bytes.unsupported("a group in dense storage (a fractal heap)")
        links = dict(self.file.link(m.data) for m in self.messages if m.kind == LINK)
        if not links and info is None:
            raise ValueError(f"{self.file.bytes.name}: {self.path or '/'} is not a group")
        return dict(sorted(links.items()))

    def keys(self) -> list[str]:
        return list(self.members())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, path: str) -> bool:
        try:
            self[path]
        except KeyError:
            return False
        return True

    def __getitem__(self, path: str) -> Node:
        node = self
        for name in filter(None, path.split("/")):
            members = node.members()
            if name not in members:
                raise KeyError(f"{node.path}/{name}")
            node = Node(self.file, members[name], f"{node.path}/{name}")
        return node

    def walk(self) -> Iterator[Node]:
        """Every object below this group, each one once: a hard link back to an object
        already seen (a cycle, or a second name) is not followed again."""
        seen = {self.address}
        stack = [self]
        while stack:
            group = stack.pop()
            for name in group:
                child = group[name]
                if child.address in seen:
                    continue
                seen.add(child.address)
                yield child
                if not child.is_dataset:
                    stack.append(child)

    def array(self) -> Array:
        """A dataset's values."""
        return self.file.dataset(self)


class HDF5File:
    """An HDF5 file's structures, read from its bytes (a file's memory map, or a member of a
    zip archive)."""

    def __init__(self, data: bytes | mmap.mmap, name: str) -> None:
        probe = Bytes(data, name)
        superblock = read_superblock(probe)
        self.bytes = Bytes(data, name, superblock.offset_size, superblock.length_size)
        if superblock.base:
            raise self.bytes.unsupported("a base address other than 0")
        self.root = Node(self, superblock.root, "")
        self._heap_cache: dict[int, dict[int, bytes]] = {}

    def attribute(self, data: bytes) -> tuple[str, Any]:
        """One attribute message (IV.A.2.m): its name and value."""
        fields = Cursor(data, self.bytes, "an attribute message")
        version = fields.uint(1)
        if version not in (1, 2, 3):
            raise self.bytes.damaged(f"attribute message version {version}")
        flags = fields.uint(1)
        if version > 1 and flags & 0x03:
            raise self.bytes.unsupported("shared datatypes or dataspaces in attributes")
        name_size, type_size, space_size = fields.uint(2), fields.uint(2), fields.uint(2)
        if version == 3:
            fields.take(1)  # the name's character set
        pad = 8 if version == 1 else 1
        name = fields.take(name_size).rstrip(b"\0").decode("utf-8", "replace")
        fields.align(pad)
        datatype = parse_datatype(Cursor(fields.take(type_size), self.bytes, "a datatype"))
        fields.align(pad)
        shape = parse_dataspace(Cursor(fields.take(space_size), self.bytes, "a dataspace"))
        fields.align(pad)
        return name, decode_values(self.bytes, datatype, shape, fields.rest(), self._heap_cache)

    def symbol_table_members(self, data: bytes) -> dict[str, int]:
        """An old-style group's members: its v1 B-tree (III.A.1) of symbol table nodes
        (III.B), named in its local heap (III.D)."""
        fields = Cursor(data, self.bytes, "a symbol table message")
        btree, heap_address = fields.offset(), fields.offset()
        heap = local_heap_data(self.bytes, heap_address)
        members = {}
        for node in self.group_btree_leaves(btree):
            for entry in self.symbol_table_node(node):
                members[heap_name(self.bytes, heap, entry.name_offset)] = entry.header
        return dict(sorted(members.items()))

    def group_btree_leaves(self, root: int) -> Iterator[int]:
        """The symbol table node addresses a group's v1 B-tree (III.A.1) points to."""
        file = self.bytes
        seen: set[int] = set()
        stack = [root]
        while stack:
            address = stack.pop()
            if address in seen:
                raise file.damaged(f"a group B-tree loops back to {address}")
            seen.add(address)
            head = file.cursor(address, 8 + 2 * file.offset_size, "a B-tree node")
            head.expect(b"TREE")
            node_type, level, used = head.uint(1), head.uint(1), head.uint(2)
            if node_type != 0:
                raise file.damaged(f"a B-tree node of type {node_type} in a group")
            entry = file.length_size + file.offset_size
            body = file.cursor(address + head.at + 2 * file.offset_size,
                               used * entry + file.length_size, "a B-tree node")
            children = []
            for _ in range(used):
                body.length()  # the key: a name's offset in the local heap
                children.append(body.offset())
            if level == 0:
                yield from children
            else:
                stack += reversed(children)

    def symbol_table_node(self, address: int) -> list[SymbolTableEntry]:
        """A symbol table node ("SNOD", III.B): the entries of some of a group's members."""
        file = self.bytes
        head = file.cursor(address, 8, "a symbol table node")
        head.expect(b"SNOD")
        head.take(2)  # version, reserved
        count = head.uint(2)
        entry_size = 2 * file.offset_size + 24
        body = file.cursor(address + 8, count * entry_size, "a symbol table node")
        return [read_symbol_table_entry(body) for _ in range(count)]

    def link(self, data: bytes) -> tuple[str, int]:
        """A link message (IV.A.2.g) of a compact new-style group: a hard link's name and
        object header address."""
        fields = Cursor(data, self.bytes, "a link message")
        fields.take(1)  # version
        flags = fields.uint(1)
        kind = fields.uint(1) if flags & 0x08 else 0
        if flags & 0x04:
            fields.take(8)  # creation order
        if flags & 0x10:
            fields.take(1)  # the name's character set
        name = fields.take(fields.uint(1 << (flags & 0x03))).decode("utf-8", "replace")
        if kind != 0:
            raise self.bytes.unsupported(f"a soft or external link ({name})")
        return name, fields.offset()

    def has_dense_links(self, data: bytes) -> bool:
        """Whether a link info message (IV.A.2.c) points to a fractal heap of links."""
        fields = Cursor(data, self.bytes, "a link info message")
        fields.take(1)
        if fields.uint(1) & 0x01:
            fields.take(8)  # maximum creation index
        return not self.bytes.is_undefined(fields.offset())

    def dataset(self, node: Node) -> Array:
        """A dataset's values (its datatype, dataspace and data layout messages)."""
        messages = {m.kind: m.data for m in reversed(node.messages)}
        if EXTERNAL_FILES in messages:
            raise self.bytes.unsupported(f"data in external files ({node.path})")
        if not {DATATYPE, DATASPACE} <= messages.keys():
            raise self.bytes.damaged(f"{node.path} lacks its datatype or dataspace")
        datatype = parse_datatype(Cursor(messages[DATATYPE], self.bytes, "a datatype"))
        if datatype.name not in STRUCT_CODES:
            raise self.bytes.unsupported(f"datasets of {datatype.name}s ({node.path})")
        shape = parse_dataspace(Cursor(messages[DATASPACE], self.bytes, "a dataspace")) or ()
        size = math.prod(shape) * datatype.size
        data = self.layout_data(messages[LAYOUT], size, node.path)
        return Array(datatype.name, shape, data)

    def layout_data(self, data: bytes, size: int, path: str) -> bytes:
        """The ``size`` bytes a data layout message (IV.A.2.i) places: compact (in the
        message) or contiguous (at an address); chunked and virtual layouts are refused."""
        fields = Cursor(data, self.bytes, "a data layout message")
        version = fields.uint(1)
        if version in (1, 2):
            rank, layout = fields.uint(1), fields.uint(1)
            fields.take(5)
            address = fields.offset() if layout != 0 else None
            fields.take(4 * rank)
            stored = fields.uint(4) if layout == 0 else size
        elif version in (3, 4):
            layout = fields.uint(1)
            address = fields.offset() if layout == 1 else None
            stored = fields.uint(2) if layout == 0 else fields.length() if layout == 1 else 0
        else:
            raise self.bytes.unsupported(f"data layout version {version} ({path})")
        if layout == 0:
            if stored < size:
                raise self.bytes.damaged(f"compact data of {path} is cut short")
            return fields.take(size)
        if layout != 1:
            what = {2: "chunked (possibly compressed)", 3: "virtual"}.get(layout, "unknown")
            raise self.bytes.unsupported(f"{what} dataset layout ({path})")
        assert address is not None
        if size == 0:
            return b""
        if self.bytes.is_undefined(address) or stored < size:
            raise self.bytes.damaged(f"{path} has no data stored")
        return self.bytes.take(address, size, f"the data of {path}")


# -- opening a file, and h5py for what this reader does not support ----------------------------
class Group(Protocol):
    """What the Keras readers need of a group, from this reader or from h5py."""

    path: str

    @property
    def attrs(self) -> dict[str, Any]: ...

    @property
    def is_dataset(self) -> bool: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[str]: ...

    def __contains__(self, path: str) -> bool: ...

    def __getitem__(self, path: str) -> Group: ...

    def walk(self) -> Iterator[Group]: ...

    def array(self) -> Array: ...


def read_hdf5(source: Path | bytes, name: str, read: Callable[[Group], T]) -> T:
    """``read(root group)`` of the HDF5 file ``source`` (a path, or the bytes of a zip
    member named ``name``); with h5py when the file uses a feature this reader does not
    support and h5py is installed."""
    try:
        with opened(source) as data:
            return read(HDF5File(data, name).root)
    except UnsupportedHDF5:
        h5py = optional_h5py()
        if h5py is None:
            raise
    with h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r") as file:
        return read(H5pyGroup(file, name))


def optional_h5py() -> Any:
    """The h5py module, or None where it is not installed."""
    try:
        import h5py
    except ImportError:
        return None
    return h5py


@contextlib.contextmanager
def opened(source: Path | bytes) -> Iterator[bytes | mmap.mmap]:
    """The bytes of ``source``: a memory map of a file (a big model file is not read whole
    to find its architecture), or the bytes themselves."""
    if isinstance(source, bytes):
        yield source
        return
    with source.open("rb") as handle:
        if source.stat().st_size == 0:
            yield b""
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


class H5pyGroup:
    """An h5py group or dataset behind the ``Group`` interface, its text as ``str``."""

    def __init__(self, node: Any, name: str) -> None:
        self.node = node
        self.name = name
        self.path = node.name.rstrip("/")

    @property
    def attrs(self) -> dict[str, Any]:
        return {key: as_text(value) for key, value in self.node.attrs.items()}

    @property
    def is_dataset(self) -> bool:
        return not hasattr(self.node, "keys")

    def keys(self) -> list[str]:
        return sorted(self.node.keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, path: str) -> bool:
        return path in self.node

    def __getitem__(self, path: str) -> H5pyGroup:
        return H5pyGroup(self.node[path], self.name)

    def walk(self) -> Iterator[H5pyGroup]:
        found: list[H5pyGroup] = []
        self.node.visititems(lambda _, node: found.append(H5pyGroup(node, self.name)))
        yield from found

    def array(self) -> Array:
        import numpy as np
        value = np.ascontiguousarray(self.node[()])
        dtype = value.dtype.newbyteorder("<")
        if value.dtype.name not in STRUCT_CODES:
            raise ValueError(f"{self.name}: {self.path} holds {value.dtype} values, which the "
                             "service does not read")
        return Array(dtype.name, tuple(value.shape), value.astype(dtype).tobytes())


def as_text(value: Any) -> Any:
    """h5py's attribute value with bytes as ``str`` and arrays as lists, as this reader
    gives them."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "tolist"):
        return as_text(value.tolist())
    if isinstance(value, list):
        return [as_text(item) for item in value]
    return value
