"""The build route: C -> clang-14 -> llvm-link-14 -> llc-14 -> our linker -> a program LiteSVM runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction_status import InstructionErrorFieldless

from programs.toolchain.build import build_program
from programs.toolchain.link import KNOWN_SYSCALLS, LinkError
from tests.programs.toolchain.fixtures import PROBE_SOURCE, Builder
from tests.programs.toolchain.svm import deploy_capable_svm, deploy_upgradeable, send

REPO = Path(__file__).resolve().parents[3]

HELLO = r"""
#include "iog_sdk.h"
static const char *const GREETINGS[] = {"even", "odd"};   /* pointer table: relocated read-only data */
uint64_t entrypoint(const uint8_t *input) {
  SolParameters *p;
  uint64_t err = iog_params_on_heap(input, &p);
  if (err) return err;
  IOG_LOG("hello, world");
  iog_log(GREETINGS[p->data_len & 1]);
  return IOG_SUCCESS;
}
"""

# Two translation units calling each other through global functions (PC-relative calls fixed by our linker).
TU_A = r"""
#include "iog_sdk.h"
uint64_t helper_twice(uint64_t x);
uint64_t entrypoint(const uint8_t *input) {
  (void)input;
  uint64_t v = helper_twice(21);
  sol_set_return_data((const uint8_t *)&v, 8);
  return IOG_SUCCESS;
}
"""
TU_B = r"""
#include "iog_sdk.h"
__attribute__((noinline)) uint64_t helper_twice(uint64_t x) { IOG_LOG("in helper"); return 2 * x; }
"""

# A frame of about 1.5 KiB: an upstream LLVM error, valid on SBPF (4 KiB frames).
BIG_FRAME = r"""
#include "iog_sdk.h"
__attribute__((noinline)) static uint64_t fill(const uint8_t *input) {
  volatile uint8_t buf[1536];
  for (int i = 0; i < 1536; i++) buf[i] = (uint8_t)i;
  uint64_t sum = 0;
  for (int i = 0; i < 1536; i += 97) sum += buf[i];
  return sum + input[16]; /* first instruction data byte when no account is passed */
}
uint64_t entrypoint(const uint8_t *input) {
  uint64_t v = fill(input);
  sol_set_return_data((const uint8_t *)&v, 8);
  return IOG_SUCCESS;
}
"""


# No SDK, no syscall, no read-only data: empty .rodata and .rel.dyn.
MINIMAL = (
    "unsigned long long entrypoint(const unsigned char *in) {\n"
    "  return in[16] == 0 ? 0 : 0x100000000ULL * 2; /* first data byte (no accounts); InvalidArgument */\n"
    "}\n"
)

# Function pointers in read-only data (lddw of .text addresses) called through callx.
FUNCTION_TABLE = r"""
#include "iog_sdk.h"
typedef uint64_t (*handler_t)(uint64_t);
__attribute__((noinline)) uint64_t h_double(uint64_t x) { return 2 * x; }
__attribute__((noinline)) uint64_t h_square(uint64_t x) { return x * x; }
static const handler_t HANDLERS[2] = {h_double, h_square};
uint64_t entrypoint(const uint8_t *input) {
  const uint8_t *data = input + 16; /* no accounts: u64 count, u64 data length, data */
  uint64_t v = HANDLERS[data[0] & 1](data[1]);
  sol_set_return_data((const uint8_t *)&v, 8);
  return 0;
}
"""


# Variable-size and large copies: upstream LLVM emits memcpy/memset libcalls (and calls them unsupported); the
# build resolves them to the SDK's memcpy/memset over the runtime syscalls.
LIBCALLS = r"""
#include "iog_sdk.h"
typedef struct { uint8_t b[1500]; } Big;
uint64_t entrypoint(const uint8_t *input) {
  uint64_t len = *(const uint64_t *)(input + 8);  /* no accounts: u64 count, u64 data length, data */
  const uint8_t *data = input + 16;
  Big *a = (Big *)iog_alloc(sizeof(Big)), *b = (Big *)iog_alloc(sizeof(Big));
  __builtin_memset(a, 0xEE, data[0]);          /* variable size */
  __builtin_memcpy(a->b + data[0], data, len);   /* variable size */
  *b = *a;                                      /* 1,500-byte struct copy */
  sol_set_return_data(b->b, data[0] + len);
  return 0;
}
"""


def _load(elf: bytes, deploy: bool) -> tuple[LiteSVM, Pubkey]:
    """Loads a program directly (add_program) or through the upgradeable loader's deploy checks."""
    if not deploy:
        svm = LiteSVM()
        pid = Pubkey.new_unique()
        svm.add_program(pid, elf)
        return svm, pid
    svm = deploy_capable_svm()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 100_000_000_000)
    pid, _ = deploy_upgradeable(svm, payer, elf)
    svm.warp_to_slot(svm.get_clock().slot + 2)
    return svm, pid


def _run(svm: LiteSVM, program_id: Pubkey, data: bytes = b"") -> object:
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 10_000_000_000)
    return send(svm, payer, [Instruction(program_id, data, [])])


class TestHelloProgram:
    def test_builds_loads_and_logs(self, sbf_build: Builder) -> None:
        so = sbf_build([("hello.c", HELLO)])
        svm = LiteSVM()
        pid = Pubkey.new_unique()
        svm.add_program(pid, so.read_bytes())
        res = _run(svm, pid, b"x")
        assert res.ok, res.logs
        assert "Program log: hello, world" in res.logs
        assert "Program log: odd" in res.logs

    def test_calls_across_translation_units(self, sbf_build: Builder) -> None:
        so = sbf_build([("a.c", TU_A), ("b.c", TU_B)])
        svm = LiteSVM()
        pid = Pubkey.new_unique()
        svm.add_program(pid, so.read_bytes())
        res = _run(svm, pid)
        assert res.ok, res.logs
        assert "Program log: in helper" in res.logs
        assert int.from_bytes(res.return_data, "little") == 42


class TestEdgePrograms:
    @pytest.mark.parametrize("deploy", [False, True], ids=["add_program", "loader_v3"])
    def test_minimal_program_without_syscalls_or_rodata(self, sbf_build: Builder, deploy: bool) -> None:
        elf = sbf_build([("min.c", MINIMAL)]).read_bytes()
        svm, pid = _load(elf, deploy)
        assert _run(svm, pid, b"\x00").ok
        failed = _run(svm, pid, b"\x01")
        assert failed.error.err == InstructionErrorFieldless.InvalidArgument  # type: ignore[attr-defined]

    @pytest.mark.parametrize("deploy", [False, True], ids=["add_program", "loader_v3"])
    def test_function_pointer_table_and_callx(self, sbf_build: Builder, deploy: bool) -> None:
        elf = sbf_build([("fp.c", FUNCTION_TABLE)]).read_bytes()
        svm, pid = _load(elf, deploy)
        assert int.from_bytes(_run(svm, pid, bytes([0, 21])).return_data, "little") == 42
        assert int.from_bytes(_run(svm, pid, bytes([1, 9])).return_data, "little") == 81


class TestMemoryLibcalls:
    def test_large_and_variable_copies_use_the_sdk_memcpy(self, sbf_build: Builder) -> None:
        svm, pid = _load(sbf_build([("copy.c", LIBCALLS)]).read_bytes(), deploy=False)
        data = bytes([5]) + bytes(range(100, 140))
        res = _run(svm, pid, data)
        assert res.ok, res.logs
        assert res.return_data == b"\xee" * 5 + data

    def test_libcall_without_the_sdk_is_refused_with_a_hint(self, sbf_build: Builder) -> None:
        src = (
            "unsigned long long entrypoint(const unsigned char *in) {\n"
            "  unsigned char buf[64]; __builtin_memcpy(buf, in, in[16]); return buf[3];\n}\n"
        )
        with pytest.raises(LinkError, match="memcpy.*iog_sdk.h"):
            sbf_build([("nosdk.c", src)])


class TestKnownSyscalls:
    def test_every_syscall_the_linker_accepts_resolves_at_deploy(self, sbf_build: Builder) -> None:
        names = sorted(KNOWN_SYSCALLS)
        decls = "".join(f"void {n}(void);\n" for n in names)
        calls = "".join(f"    {n}();\n" for n in names)
        src = decls + (
            "unsigned long long entrypoint(const unsigned char *in) {\n"
            f"  if (in[16] == 77) {{\n{calls}  }}\n"  # never taken: only the relocations matter
            "  return 0;\n}\n"
        )
        svm, pid = _load(sbf_build([("all.c", src)]).read_bytes(), deploy=True)
        assert _run(svm, pid, b"\x00").ok


class TestElfShape:
    def test_elf_is_what_the_sbpfv0_loader_expects(self, probe_elf: bytes) -> None:
        import io

        elf = ELFFile(io.BytesIO(probe_elf))
        assert elf["e_type"] == "ET_DYN"
        assert elf["e_machine"] == "EM_BPF"
        assert elf["e_flags"] == 0
        names = [s.name for s in elf.iter_sections()]
        assert names == ["", ".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
        for sec in elf.iter_sections():
            if sec["sh_flags"] & 0x2:
                assert sec["sh_addr"] == sec["sh_offset"], sec.name
            assert not sec["sh_flags"] & 0x1, f"{sec.name} is writable"
        dynsym = elf.get_section_by_name(".dynsym")
        syms = {s.name: s for s in dynsym.iter_symbols()}
        text = elf.get_section_by_name(".text")
        assert syms["entrypoint"]["st_value"] == elf["e_entry"]
        assert text["sh_addr"] <= elf["e_entry"] < text["sh_addr"] + text["sh_size"]
        assert "sol_log_" in syms and syms["sol_log_"]["st_shndx"] == "SHN_UNDEF"
        rels = list(elf.get_section_by_name(".rel.dyn").iter_relocations())
        assert rels and all(r["r_info_type"] == 10 for r in rels)
        for r in rels:  # every syscall site is `call -1`
            off = r["r_offset"]
            assert probe_elf[off] == 0x85 and probe_elf[off + 4 : off + 8] == b"\xff\xff\xff\xff"


class TestDeterminism:
    def test_same_sources_give_identical_bytes(self, tmp_path: Path) -> None:
        first = build_program([PROBE_SOURCE], tmp_path / "one" / "probe.so").read_bytes()
        second = build_program([PROBE_SOURCE], tmp_path / "two" / "probe.so").read_bytes()
        assert first == second
        moved = tmp_path / "elsewhere" / "probe.c"  # another checkout location: same bytes
        moved.parent.mkdir()
        moved.write_bytes(PROBE_SOURCE.read_bytes())
        assert build_program([moved], tmp_path / "three" / "probe.so").read_bytes() == first

    def test_make_builds_the_staking_program_reproducibly(self, tmp_path: Path) -> None:
        src = sorted((REPO / "programs/staking/src").glob("*.c"))
        if not src:
            pytest.skip("programs/staking/src has no sources yet")
        first = build_program(
            src, tmp_path / "a.so", include_dirs=[REPO / "programs/staking/src"]
        ).read_bytes()
        second = build_program(
            src, tmp_path / "b.so", include_dirs=[REPO / "programs/staking/src"]
        ).read_bytes()
        assert first == second
        svm = LiteSVM()
        svm.add_program(Pubkey.new_unique(), first)  # loads (raises on a bad ELF)


class TestUpgradeableDeploy:
    def test_deploys_through_loader_v3_and_runs(self, probe_elf: bytes) -> None:
        svm = deploy_capable_svm()
        payer = Keypair()
        svm.airdrop(payer.pubkey(), 100_000_000_000)
        program_id, steps = deploy_upgradeable(svm, payer, probe_elf)
        assert any(line.startswith("Deployed program") for line in steps[-1].logs)
        svm.warp_to_slot(svm.get_clock().slot + 2)  # a program deployed in slot N runs from slot N+1
        res = send(svm, payer, [Instruction(program_id, bytes([0]), [])])
        assert res.ok, res.logs
        assert "Program log: hello from the iog sdk" in res.logs


class TestLargeStackFrames:
    def test_frame_over_512_bytes_builds_with_a_warning_and_runs(
        self, sbf_build: Builder, capfd: pytest.CaptureFixture[str]
    ) -> None:
        so = sbf_build([("big.c", BIG_FRAME)])
        assert "BPF stack limit of 512 bytes" in capfd.readouterr().err
        svm = LiteSVM()
        pid = Pubkey.new_unique()
        svm.add_program(pid, so.read_bytes())
        res = _run(svm, pid, bytes([5]))
        assert res.ok, res.logs
        expected = sum(i % 256 for i in range(0, 1536, 97)) + 5
        assert int.from_bytes(res.return_data, "little") == expected


class TestCommandLine:
    def test_script_builds_and_reports_errors(self, tmp_path: Path) -> None:
        script = REPO / "programs/toolchain/build.py"
        out = tmp_path / "probe.so"
        ok = subprocess.run(
            [sys.executable, str(script), "--out", str(out), str(PROBE_SOURCE)],
            capture_output=True,
            text=True,
        )
        assert ok.returncode == 0, ok.stderr
        assert out.read_bytes()[:4] == b"\x7fELF"
        bad = tmp_path / "bad.c"
        bad.write_text(
            "int counter = 1;\nunsigned long long entrypoint(const unsigned char *in) { return counter++; }\n"
        )
        fail = subprocess.run(
            [sys.executable, str(script), "--out", str(tmp_path / "bad.so"), str(bad)],
            capture_output=True,
            text=True,
        )
        assert fail.returncode != 0
        assert "counter" in fail.stderr and ".data" in fail.stderr
        assert not (tmp_path / "bad.so").exists()
