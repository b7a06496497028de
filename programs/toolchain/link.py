"""The project's SBPFv0 linker: one relocatable BPF object (from llc-14) -> a loadable Solana program (.so).

What it does (the loader rules are in programs/toolchain/README.md):

* merges every executable section into ``.text`` and every read-only data section (``.rodata*``,
  ``.data.rel.ro*``) into ``.rodata``;
* resolves ``lddw`` of read-only data or code addresses statically to ``MM_PROGRAM_START + offset`` and 64-bit
  pointers stored in read-only data the same way (no dynamic relocation needed);
* resolves calls to functions of the program to PC-relative immediates;
* turns calls to syscalls into ``call -1`` plus a dynamic ``R_BPF_64_32`` relocation against a ``.dynsym``
  entry named after the syscall;
* exports ``entrypoint`` (``e_entry`` and ``.dynsym``).

It refuses, with a :class:`LinkError` naming the symbol or section, what the loader would refuse or what
cannot work on chain: writable data (``.data``, ``.bss``, common symbols), relocation types it does not know,
undefined symbols that are not syscalls, a missing entrypoint, a call offset of -1."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import Section, SymbolTableSection

from .elf_writer import (
    MM_PROGRAM_START,
    R_BPF_64_32,  # call immediate (10)
    DynReloc,
    DynSymbol,
    LinkedImage,
    rodata_offset_in_file,
    text_offset_in_file,
    write_elf,
)

ENTRYPOINT = "entrypoint"

KNOWN_SYSCALLS: frozenset[str] = frozenset(
    {
        "abort",
        "sol_panic_",
        "sol_log_",
        "sol_log_64_",
        "sol_log_compute_units_",
        "sol_log_pubkey",
        "sol_log_data",
        "sol_create_program_address",
        "sol_try_find_program_address",
        "sol_sha256",
        "sol_keccak256",
        "sol_secp256k1_recover",
        "sol_get_clock_sysvar",
        "sol_get_epoch_schedule_sysvar",
        "sol_get_fees_sysvar",
        "sol_get_rent_sysvar",
        "sol_get_epoch_rewards_sysvar",
        "sol_memcpy_",
        "sol_memmove_",
        "sol_memcmp_",
        "sol_memset_",
        "sol_invoke_signed_c",
        "sol_invoke_signed_rust",
        "sol_set_return_data",
        "sol_get_return_data",
        "sol_get_stack_height",
        "sol_get_processed_sibling_instruction",
    }
)
"""Syscalls the Agave 2.2 loader resolves (by name hash) when deploying with the default feature set;
pinned by tests/programs/toolchain/test_build.py. Feature-gated ones (sol_get_sysvar, sol_blake3,
sol_remaining_compute_units, sol_get_last_restart_slot) can be allowed with
``link_object(..., extra_syscalls=...)``."""

# Relocation types of the BPF ELF ABI (llvm/BinaryFormat/ELFRelocs/BPF.def).
R_BPF_NONE = 0
R_BPF_64_64 = 1  # lddw: 64-bit absolute address split over two instructions
R_BPF_64_ABS64 = 2  # 64-bit absolute address in data
R_BPF_64_ABS32 = 3  # 32-bit absolute address in data
R_BPF_64_NODYLD32 = 4  # 32-bit, debug info only
_RELOC_NAMES = {
    0: "R_BPF_NONE",
    1: "R_BPF_64_64",
    2: "R_BPF_64_ABS64",
    3: "R_BPF_64_ABS32",
    4: "R_BPF_64_NODYLD32",
    10: "R_BPF_64_32",
}

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHN_UNDEF = 0
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2

OP_CALL = 0x85
OP_LDDW = 0x18
STACK_FRAME_SIZE = 4096  # SBPFv0 stack frame of one function


class LinkError(Exception):
    """The object cannot be turned into a loadable program; the message names the symbol or section."""


@dataclass(frozen=True)
class _Placed:
    """Where an input section landed: output section ('text' or 'rodata') and offset inside it."""

    out: str
    offset: int


def _is_readonly_data(sec: Section) -> bool:
    name = sec.name
    return name.startswith(".rodata") or name.startswith(".data.rel.ro")


def _symbols_in(symtab: SymbolTableSection, shndx: int) -> list[str]:
    return sorted(
        {
            s.name
            for s in symtab.iter_symbols()
            if s.name and s["st_shndx"] == shndx and s["st_info"]["type"] != "STT_SECTION"
        }
    )


class _Linker:
    def __init__(self, obj: bytes, extra_syscalls: frozenset[str]) -> None:
        self.elf = ELFFile(io.BytesIO(obj))
        self.syscalls = KNOWN_SYSCALLS | extra_syscalls
        if self.elf["e_machine"] != "EM_BPF" or self.elf["e_type"] != "ET_REL" or self.elf.elfclass != 64:
            raise LinkError("input is not a 64-bit relocatable BPF object (ET_REL, EM_BPF)")
        if not self.elf.little_endian:
            raise LinkError("input is big-endian; build with -target bpf (bpfel)")
        symtab = self.elf.get_section_by_name(".symtab")
        if not isinstance(symtab, SymbolTableSection):
            raise LinkError("input has no .symtab")
        self.symtab = symtab
        self.placed: dict[int, _Placed] = {}
        self.text = bytearray()
        self.rodata = bytearray()
        self.rodata_align = 8

    # -- layout --
    def classify(self) -> None:
        for idx, sec in enumerate(self.elf.iter_sections()):
            flags = sec["sh_flags"]
            if not flags & SHF_ALLOC or sec["sh_size"] == 0:
                continue  # symbols, strings, relocations, BTF, notes, empty sections
            if flags & SHF_EXECINSTR:
                self._append_text(idx, sec)
            elif _is_readonly_data(sec):
                self._append_rodata(idx, sec)
            elif flags & SHF_WRITE or sec["sh_type"] == "SHT_NOBITS":
                names = ", ".join(_symbols_in(self.symtab, idx)) or "(no symbol)"
                raise LinkError(
                    f"writable section {sec.name} is not supported on chain (symbols: {names}); "
                    "make the data const or keep state in accounts"
                )
            else:
                self._append_rodata(idx, sec)
        for sym in self.symtab.iter_symbols():
            if sym["st_shndx"] == "SHN_COMMON":
                raise LinkError(f"writable common symbol {sym.name} is not supported on chain; make it const")
        if not self.text:
            raise LinkError("input has no executable section (.text)")

    def _append_text(self, idx: int, sec: Section) -> None:
        align = max(8, sec["sh_addralign"])
        self.text += bytes(-len(self.text) % align)
        self.placed[idx] = _Placed("text", len(self.text))
        self.text += sec.data()
        if len(sec.data()) % 8:
            raise LinkError(f"section {sec.name} size is not a multiple of 8")

    def _append_rodata(self, idx: int, sec: Section) -> None:
        align = max(1, sec["sh_addralign"])
        self.rodata_align = max(self.rodata_align, align)
        self.rodata += bytes(-len(self.rodata) % align)
        self.placed[idx] = _Placed("rodata", len(self.rodata))
        if sec["sh_type"] == "SHT_NOBITS":
            raise LinkError(f"section {sec.name} has no contents (NOBITS) and cannot be read-only data")
        self.rodata += sec.data()

    def check_stack_frames(self) -> None:
        """Refuses JMP32 opcodes (-mcpu=v3) and r10-relative accesses beyond the 4 KiB SBPF stack frame."""
        pc = 0
        text = self.text
        frame_copy = -1  # register holding a copy of r10 from the previous instruction, if any
        while pc < len(text):
            op, regs = text[pc], text[pc + 1]
            dst, src = regs & 0x0F, regs >> 4
            off = struct.unpack_from("<h", text, pc + 2)[0]
            imm = struct.unpack_from("<i", text, pc + 4)[0]
            cls = op & 0x07
            if cls == 0x06:
                raise LinkError(
                    f"function {self._function_at(pc)!r} uses a JMP32 instruction (opcode 0x{op:02x}) that "
                    "SBPFv0 rejects; compile with -mcpu=v2"
                )
            base = src if cls == 0x01 else dst if cls in (0x02, 0x03) else None
            access = off if base == 10 else None
            if op == 0x07 and dst == frame_copy:  # rX = r10; rX += imm: address of a stack object
                access = imm
            if access is not None and access < -STACK_FRAME_SIZE:
                raise LinkError(
                    f"function {self._function_at(pc)!r} uses a stack frame over {STACK_FRAME_SIZE} bytes "
                    f"(r10{access:+d}); move large buffers to the heap (iog_alloc)"
                )
            frame_copy = dst if op == 0xBF and src == 10 else -1
            pc += 16 if op == OP_LDDW else 8

    def _function_at(self, text_off: int) -> str:
        best = ("?", -1)
        for sym in self.symtab.iter_symbols():
            shndx = sym["st_shndx"]
            if sym["st_info"]["type"] != "STT_FUNC" or not isinstance(shndx, int) or shndx not in self.placed:
                continue
            start = self.placed[shndx].offset + sym["st_value"]
            if self.placed[shndx].out == "text" and best[1] < start <= text_off:
                best = (sym.name, start)
        return best[0]

    def _out_base(self, out: str) -> int:
        if out == "text":
            return text_offset_in_file()
        return rodata_offset_in_file(len(self.text), self.rodata_align)

    def address_of(self, sym_index: int, addend: int, where: str) -> int:
        """Virtual address of symbol + addend, for a relocation at `where`."""
        sym = self.symtab.get_symbol(sym_index)
        shndx = sym["st_shndx"]
        if shndx == "SHN_UNDEF":
            raise LinkError(f"undefined symbol {sym.name!r} referenced at {where} (not a syscall call)")
        if shndx == "SHN_ABS":
            return sym["st_value"] + addend
        if not isinstance(shndx, int) or shndx not in self.placed:
            sec = self.elf.get_section(shndx) if isinstance(shndx, int) else None
            raise LinkError(
                f"symbol {sym.name or '(section)'!r} at {where} lives in section "
                f"{sec.name if sec else shndx} which is not loaded (not text or read-only data)"
            )
        placed = self.placed[shndx]
        return MM_PROGRAM_START + self._out_base(placed.out) + placed.offset + sym["st_value"] + addend

    # -- relocation --
    def relocate(self) -> tuple[list[DynSymbol], list[DynReloc]]:
        syscall_uses: list[tuple[int, str]] = []
        for rel_sec in self.elf.iter_sections():
            if not isinstance(rel_sec, RelocationSection):
                continue
            target_idx = rel_sec["sh_info"]
            target = self.elf.get_section(target_idx)
            if not target["sh_flags"] & SHF_ALLOC:
                continue  # debug info / BTF: not loaded
            if rel_sec.is_RELA():
                raise LinkError(f"{rel_sec.name}: RELA relocations are not produced by llc for BPF; refusing")
            if target_idx not in self.placed:
                continue  # empty section
            placed = self.placed[target_idx]
            buf = self.text if placed.out == "text" else self.rodata
            for rel in rel_sec.iter_relocations():
                self._apply(rel, target.name, placed, buf, syscall_uses)
        return self._dynamic_tables(syscall_uses)

    def _apply(self, rel, sec_name: str, placed: _Placed, buf: bytearray, syscall_uses: list) -> None:
        rtype = rel["r_info_type"]
        sym_index = rel["r_info_sym"]
        sym = self.symtab.get_symbol(sym_index)
        off = placed.offset + rel["r_offset"]
        where = f"{sec_name}+0x{rel['r_offset']:x}"
        name = sym.name or "(section)"
        if rtype == R_BPF_64_64:
            if placed.out != "text" or buf[off] != OP_LDDW:
                raise LinkError(f"R_BPF_64_64 against {name!r} at {where} is not on an lddw instruction")
            addend = struct.unpack_from("<i", buf, off + 4)[0]
            value = self.address_of(sym_index, addend, where)
            struct.pack_into("<I", buf, off + 4, value & 0xFFFFFFFF)
            struct.pack_into("<I", buf, off + 12, value >> 32)
        elif rtype == R_BPF_64_ABS64:
            if placed.out == "text":
                raise LinkError(f"R_BPF_64_ABS64 against {name!r} at {where}: data relocation inside code")
            addend = struct.unpack_from("<q", buf, off)[0]
            struct.pack_into("<Q", buf, off, self.address_of(sym_index, addend, where))
        elif rtype == R_BPF_64_32:
            if placed.out != "text" or buf[off] != OP_CALL:
                raise LinkError(f"R_BPF_64_32 against {name!r} at {where} is not on a call instruction")
            self._apply_call(sym, sym_index, off, where, buf, syscall_uses)
        elif rtype == R_BPF_NONE:
            return
        else:
            kind = _RELOC_NAMES.get(rtype, f"type {rtype}")
            raise LinkError(f"unsupported relocation {kind} against {name!r} at {where}")

    def _apply_call(
        self, sym, sym_index: int, off: int, where: str, buf: bytearray, syscall_uses: list
    ) -> None:
        if sym["st_shndx"] == "SHN_UNDEF":
            if sym.name not in self.syscalls:
                hint = ""
                if sym.name in ("memcpy", "memset", "memmove", "memcmp"):
                    hint = "; include iog_sdk.h, which defines it over the runtime's syscalls"
                raise LinkError(
                    f"undefined symbol {sym.name!r} called at {where} (not a known syscall){hint}"
                )
            struct.pack_into("<i", buf, off + 4, -1)
            syscall_uses.append((off, sym.name))
            return
        if sym["st_info"]["type"] == "STT_SECTION":
            raise LinkError(f"call at {where} through a section symbol is not supported")
        target = self.address_of(sym_index, 0, where) - MM_PROGRAM_START - text_offset_in_file()
        if target < 0 or target >= len(self.text) or target % 8:
            raise LinkError(f"call at {where} to {sym.name!r} does not land on an instruction of .text")
        imm = (target - off) // 8 - 1
        if imm == -1:
            raise LinkError(
                f"call at {where} to {sym.name!r} has offset -1, which the loader reads as a syscall"
            )
        struct.pack_into("<i", buf, off + 4, imm)

    def _dynamic_tables(self, syscall_uses: list[tuple[int, str]]) -> tuple[list[DynSymbol], list[DynReloc]]:
        entry = self.entry_offset()
        dynsyms = [DynSymbol(ENTRYPOINT, entry, is_function=True, in_text=True)]
        names = sorted({n for _, n in syscall_uses})
        index = {n: i + 2 for i, n in enumerate(names)}  # 0 null, 1 entrypoint
        dynsyms += [DynSymbol(n) for n in names]
        relocs = [DynReloc(off, R_BPF_64_32, index[n]) for off, n in syscall_uses]
        return dynsyms, relocs

    def entry_offset(self) -> int:
        for sym in self.symtab.iter_symbols():
            if sym.name == ENTRYPOINT and sym["st_shndx"] != "SHN_UNDEF":
                if sym["st_info"]["bind"] == "STB_LOCAL":
                    raise LinkError("symbol 'entrypoint' is static; it must be a global function")
                shndx = sym["st_shndx"]
                if shndx not in self.placed or self.placed[shndx].out != "text":
                    raise LinkError("symbol 'entrypoint' is not a function in .text")
                return self.placed[shndx].offset + sym["st_value"]
        raise LinkError("no 'entrypoint' function defined (uint64_t entrypoint(const uint8_t *input))")


def link_object(obj: bytes, extra_syscalls: frozenset[str] = frozenset()) -> bytes:
    """Links one relocatable BPF object into SBPFv0 ELF bytes.

    Args:
        obj: contents of the ``.o`` produced by ``llc-14 -march=bpf -mcpu=v2 --relocation-model=static``.
        extra_syscalls: further syscall names to accept (for runtimes newer than the known list).

    Returns:
        The program's ELF bytes (same input -> same bytes).

    Raises:
        LinkError: the object contains something the SBPFv0 loader refuses or cannot be resolved.
    """
    linker = _Linker(obj, extra_syscalls)
    linker.classify()
    linker.check_stack_frames()
    dynsyms, relocs = linker.relocate()
    image = LinkedImage(
        text=bytes(linker.text),
        rodata=bytes(linker.rodata),
        rodata_align=linker.rodata_align,
        entry_text_offset=linker.entry_offset(),
        dynsyms=dynsyms,
        relocs=relocs,
    )
    return write_elf(image)
