"""Writes the SBPFv0 shared object: ELF header, sections, dynamic tables and section headers.

The layout is fixed and deterministic: ``.text``, ``.rodata``, ``.dynamic``, ``.dynsym``, ``.dynstr``,
``.rel.dyn``, ``.shstrtab``, then the section header table. Every allocated section has ``sh_addr ==
sh_offset`` (the SBPFv0 loader maps the file at ``MM_PROGRAM_START + file offset``)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

MM_PROGRAM_START = 0x1_0000_0000
"""Virtual address where the loader maps file offset 0 (text and read-only data)."""

EM_BPF = 247
ET_DYN = 3

SHT_PROGBITS = 1
SHT_STRTAB = 3
SHT_DYNAMIC = 6
SHT_REL = 9
SHT_DYNSYM = 11

SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

DT_NULL = 0
DT_STRTAB = 5
DT_SYMTAB = 6
DT_STRSZ = 10
DT_SYMENT = 11
DT_REL = 17
DT_RELSZ = 18
DT_RELENT = 19

STB_GLOBAL = 1
STT_NOTYPE = 0
STT_FUNC = 2

R_BPF_64_64 = 1
R_BPF_64_RELATIVE = 8
R_BPF_64_32 = 10

EHDR_SIZE = 64
SHDR_SIZE = 64
SYM_SIZE = 24
REL_SIZE = 16
DYN_SIZE = 16


@dataclass(frozen=True)
class DynSymbol:
    """One ``.dynsym`` entry: the exported entrypoint or an imported syscall."""

    name: str
    value: int = 0
    is_function: bool = False
    in_text: bool = False


@dataclass(frozen=True)
class DynReloc:
    """One ``.rel.dyn`` entry: offset from the start of ``.text``, type, index into ``.dynsym``."""

    text_offset: int
    rtype: int
    symbol: int


@dataclass
class LinkedImage:
    """Everything the writer needs, already resolved by the linker."""

    text: bytes
    rodata: bytes
    rodata_align: int
    entry_text_offset: int
    dynsyms: list[DynSymbol] = field(default_factory=list)
    relocs: list[DynReloc] = field(default_factory=list)


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


class _StrTab:
    """A string table with deterministic insertion order."""

    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[str, int] = {"": 0}

    def add(self, name: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.data)
            self.data += name.encode() + b"\0"
        return self.index[name]


def text_offset_in_file() -> int:
    """File offset (== address offset) of ``.text``: right after the ELF header."""
    return EHDR_SIZE


def rodata_offset_in_file(text_len: int, rodata_align: int) -> int:
    """File offset of ``.rodata`` given the size of ``.text``."""
    return _align(EHDR_SIZE + text_len, max(8, rodata_align))


def write_elf(image: LinkedImage) -> bytes:
    """Serialises a linked image into SBPFv0 ELF bytes.

    Args:
        image: resolved text, read-only data, dynamic symbols and dynamic relocations.

    Returns:
        The ELF file contents.
    """
    shstr = _StrTab()
    dynstr = _StrTab()

    text_off = text_offset_in_file()
    rodata_off = rodata_offset_in_file(len(image.text), image.rodata_align)
    if len(image.text) % 8:
        raise ValueError(".text size must be a multiple of 8")

    # .dynsym (index 0 is the null symbol)
    dynsym = bytearray(SYM_SIZE)
    for sym in image.dynsyms:
        st_info = (STB_GLOBAL << 4) | (STT_FUNC if sym.is_function else STT_NOTYPE)
        shndx = 1 if sym.in_text else 0
        value = text_off + sym.value if sym.in_text else 0
        dynsym += struct.pack("<IBBHQQ", dynstr.add(sym.name), st_info, 0, shndx, value, 0)
    dynstr_bytes = bytes(dynstr.data)

    rel_entries = sorted(image.relocs, key=lambda r: (r.text_offset, r.rtype, r.symbol))
    rel_dyn = b"".join(
        struct.pack("<QQ", text_off + r.text_offset, (r.symbol << 32) | r.rtype) for r in rel_entries
    )

    dynamic_off = _align(rodata_off + len(image.rodata), 8)
    n_dyn = 4 + (3 if rel_dyn else 0) + 1
    dynsym_off = dynamic_off + n_dyn * DYN_SIZE
    dynstr_off = dynsym_off + len(dynsym)
    rel_off = _align(dynstr_off + len(dynstr_bytes), 8)
    dyn_entries = [
        (DT_SYMTAB, dynsym_off),
        (DT_SYMENT, SYM_SIZE),
        (DT_STRTAB, dynstr_off),
        (DT_STRSZ, len(dynstr_bytes)),
    ]
    if rel_dyn:
        dyn_entries += [(DT_REL, rel_off), (DT_RELSZ, len(rel_dyn)), (DT_RELENT, REL_SIZE)]
    dyn_entries.append((DT_NULL, 0))
    dynamic = b"".join(struct.pack("<qQ", tag, val) for tag, val in dyn_entries)

    names = [".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    name_idx = {n: shstr.add(n) for n in names}
    shstr_off = rel_off + len(rel_dyn)
    shstr_bytes = bytes(shstr.data)
    shdr_off = _align(shstr_off + len(shstr_bytes), 8)

    # (name, type, flags, offset, size, link, info, align, entsize); section indexes: 1 .text .. 7 .shstrtab
    sections = [
        (".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_off, len(image.text), 0, 0, 8, 0),
        (
            ".rodata",
            SHT_PROGBITS,
            SHF_ALLOC,
            rodata_off,
            len(image.rodata),
            0,
            0,
            max(8, image.rodata_align),
            0,
        ),
        (".dynamic", SHT_DYNAMIC, SHF_ALLOC, dynamic_off, len(dynamic), 5, 0, 8, DYN_SIZE),
        (".dynsym", SHT_DYNSYM, SHF_ALLOC, dynsym_off, len(dynsym), 5, 1, 8, SYM_SIZE),
        (".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr_off, len(dynstr_bytes), 0, 0, 1, 0),
        (".rel.dyn", SHT_REL, SHF_ALLOC, rel_off, len(rel_dyn), 4, 0, 8, REL_SIZE),
        (".shstrtab", SHT_STRTAB, 0, shstr_off, len(shstr_bytes), 0, 0, 1, 0),
    ]

    out = bytearray(shdr_off + SHDR_SIZE * (len(sections) + 1))
    e_ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELF64, LSB, version 1, SYSV ABI
    out[0:EHDR_SIZE] = e_ident + struct.pack(
        "<HHIQQQIHHHHHH",
        ET_DYN,
        EM_BPF,
        1,
        text_off + image.entry_text_offset,  # e_entry (address == offset)
        0,  # e_phoff: no program headers
        shdr_off,
        0,  # e_flags 0 selects SBPFv0
        EHDR_SIZE,
        0x38,
        0,
        SHDR_SIZE,
        len(sections) + 1,
        len(sections),  # e_shstrndx
    )
    out[text_off : text_off + len(image.text)] = image.text
    out[rodata_off : rodata_off + len(image.rodata)] = image.rodata
    out[dynamic_off : dynamic_off + len(dynamic)] = dynamic
    out[dynsym_off : dynsym_off + len(dynsym)] = dynsym
    out[dynstr_off : dynstr_off + len(dynstr_bytes)] = dynstr_bytes
    out[rel_off : rel_off + len(rel_dyn)] = rel_dyn
    out[shstr_off : shstr_off + len(shstr_bytes)] = shstr_bytes

    pos = shdr_off + SHDR_SIZE  # entry 0 stays zero
    for name, stype, flags, off, size, link, info, align, entsize in sections:
        addr = off if flags & SHF_ALLOC else 0
        out[pos : pos + SHDR_SIZE] = struct.pack(
            "<IIQQQQIIQQ", name_idx[name], stype, flags, addr, off, size, link, info, align, entsize
        )
        pos += SHDR_SIZE
    return bytes(out)
