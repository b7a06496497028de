"""The linker refuses what the SBPFv0 loader would refuse, naming the symbol or section."""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from programs.toolchain.build import BuildError, compile_to_object
from programs.toolchain.link import LinkError, link_object

ENTRY = "uint64_t entrypoint(const uint8_t *input) { return %s; }\n"


def _object(tmp_path: Path, source: str) -> bytes:
    src = tmp_path / "t.c"
    src.write_text('#include "iog_sdk.h"\n' + source)
    return compile_to_object([src], tmp_path)


def _link_error(tmp_path: Path, source: str) -> str:
    obj = _object(tmp_path, source)
    with pytest.raises(LinkError) as info:
        link_object(obj)
    return str(info.value)


class TestWritableData:
    def test_initialized_global_is_refused_naming_symbol_and_section(self, tmp_path: Path) -> None:
        msg = _link_error(tmp_path, "uint64_t counter = 7;\n" + ENTRY % "counter++")
        assert "counter" in msg and ".data" in msg

    def test_zero_initialized_global_is_refused(self, tmp_path: Path) -> None:
        msg = _link_error(tmp_path, "uint64_t total;\n" + ENTRY % "total++")
        assert "total" in msg and ".bss" in msg

    def test_static_mutable_local_is_refused(self, tmp_path: Path) -> None:
        src = (
            "uint64_t entrypoint(const uint8_t *input) {\n"
            "  static uint64_t calls = 3;\n"
            "  return calls++ + input[0];\n"
            "}\n"
        )
        msg = _link_error(tmp_path, src)
        assert "calls" in msg and ".data" in msg

    def test_const_data_is_accepted(self, tmp_path: Path) -> None:
        src = "static const uint64_t TABLE[4] = {1, 2, 3, 4};\n" + ENTRY % "TABLE[input[0] & 3]"
        assert link_object(_object(tmp_path, src))[:4] == b"\x7fELF"


class TestSymbols:
    def test_undefined_function_is_refused_by_name(self, tmp_path: Path) -> None:
        msg = _link_error(tmp_path, "uint64_t not_here(uint64_t);\n" + ENTRY % "not_here(input[0])")
        assert "not_here" in msg and "undefined" in msg

    def test_unknown_syscall_name_is_refused(self, tmp_path: Path) -> None:
        msg = _link_error(tmp_path, "void sol_frobnicate_(void);\n" + ENTRY % "(sol_frobnicate_(), 0)")
        assert "sol_frobnicate_" in msg

    def test_missing_entrypoint_is_refused(self, tmp_path: Path) -> None:
        msg = _link_error(tmp_path, "uint64_t main_entry(const uint8_t *input) { return input[0]; }\n")
        assert "entrypoint" in msg

    def test_static_entrypoint_is_refused(self, tmp_path: Path) -> None:
        # the SDK declares entrypoint extern; declare a fresh static one without the SDK
        src = tmp_path / "s.c"
        src.write_text(
            "static unsigned long long entrypoint(const unsigned char *i) { return i[0]; }\n"
            "unsigned long long other(const unsigned char *i) { return entrypoint(i) + 1; }\n"
        )
        with pytest.raises(LinkError, match="entrypoint"):
            link_object(compile_to_object([src], tmp_path))


class TestRelocations:
    def test_unknown_relocation_type_is_refused_naming_symbol(self, tmp_path: Path) -> None:
        obj = bytearray(_object(tmp_path, ENTRY % '(IOG_LOG("x"), 0)'))
        elf = ELFFile(io.BytesIO(bytes(obj)))
        rel = elf.get_section_by_name(".rel.text")
        first = next(iter(rel.iter_relocations()))
        name = elf.get_section(rel["sh_link"]).get_symbol(first["r_info_sym"]).name or "(section)"
        info_at = rel["sh_offset"] + 8  # r_info of the first Elf64_Rel entry
        struct.pack_into("<Q", obj, info_at, (first["r_info_sym"] << 32) | 3)  # R_BPF_64_ABS32
        with pytest.raises(LinkError) as info:
            link_object(bytes(obj))
        assert "R_BPF_64_ABS32" in str(info.value) and name in str(info.value)

    def test_non_bpf_object_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(LinkError, match="relocatable BPF"):
            link_object(Path("/bin/true").read_bytes())


class TestStackFrames:
    def test_frame_over_4_kib_is_refused_naming_function(self, tmp_path: Path) -> None:
        src = (
            "__attribute__((noinline)) uint64_t huge_frame(const uint8_t *in) {\n"
            "  volatile uint8_t buf[6000]; for (int i = 0; i < 6000; i++) buf[i] = in[i & 7];\n"
            "  return buf[in[0]] + buf[5999]; }\n" + ENTRY % "huge_frame(input)"
        )
        msg = _link_error(tmp_path, src)
        assert "huge_frame" in msg and "4096" in msg


class TestInstructionSet:
    def test_jmp32_from_mcpu_v3_is_refused(self, tmp_path: Path) -> None:
        src = tmp_path / "v3.c"
        src.write_text(
            "unsigned long long entrypoint(const unsigned char *in) {\n"
            "  unsigned int x = *(const unsigned int *)(in + 16);\n"
            "  return x < 7 ? 1 : x == 9 ? 2 : 3;\n}\n"
        )
        bc, obj = tmp_path / "v3.bc", tmp_path / "v3.o"
        subprocess.run(
            ["clang-14", "-target", "bpf", "-O2", "-emit-llvm", "-c", str(src), "-o", str(bc)], check=True
        )
        subprocess.run(
            ["llc-14", "-march=bpf", "-mcpu=v3", "-filetype=obj", str(bc), "-o", str(obj)], check=True
        )
        with pytest.raises(LinkError, match="JMP32.*-mcpu=v2"):
            link_object(obj.read_bytes())


class TestCompileErrors:
    def test_c_error_is_reported_with_the_compiler_message(self, tmp_path: Path) -> None:
        src = tmp_path / "broken.c"
        src.write_text("uint64_t entrypoint(const uint8_t *input) { return undeclared_thing; }\n")
        with pytest.raises(BuildError, match="undeclared_thing"):
            compile_to_object([src], tmp_path)

    def test_missing_source_is_reported(self, tmp_path: Path) -> None:
        with pytest.raises(BuildError, match="source not found"):
            compile_to_object([tmp_path / "nope.c"], tmp_path)
