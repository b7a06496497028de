"""BPF code generation through libLLVM-14's C API, for the one case llc-14 refuses but SBPF accepts.

Upstream LLVM reports a stack frame over 512 bytes as an error ("Looks like the BPF stack limit of 512 bytes
is exceeded") and llc then deletes its output. SBPF allows 4 KiB frames, so the generated code is valid.
Installing our own diagnostic handler on the LLVM context lets code generation finish; only diagnostics
matching the given pattern become warnings, every other error still fails. Same options as the llc route:
triple bpfel, CPU v2, static relocation model, default (-O2) code generation."""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from pathlib import Path

LIBLLVM_CANDIDATES = ("/usr/lib/llvm-14/lib/libLLVM-14.so", "libLLVM-14.so", "libLLVM-14.so.1")

_LLVMCodeGenLevelDefault = 2
_LLVMRelocStatic = 1
_LLVMCodeModelDefault = 0
_LLVMObjectFile = 1
_LLVMDSError = 0

_DiagnosticHandler = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


class CodegenError(Exception):
    """libLLVM is missing or code generation failed; the message carries LLVM's diagnostics."""


@dataclass
class CodegenResult:
    """The object file and the diagnostics that were downgraded to warnings."""

    obj: bytes
    warnings: list[str] = field(default_factory=list)


def _load() -> ctypes.CDLL:
    for name in LIBLLVM_CANDIDATES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        c_void_p, c_char_p = ctypes.c_void_p, ctypes.c_char_p
        pp = ctypes.POINTER
        sigs = {
            "LLVMContextCreate": ([], c_void_p),
            "LLVMContextDispose": ([c_void_p], None),
            "LLVMContextSetDiagnosticHandler": ([c_void_p, _DiagnosticHandler, c_void_p], None),
            "LLVMGetDiagInfoDescription": ([c_void_p], c_void_p),
            "LLVMGetDiagInfoSeverity": ([c_void_p], ctypes.c_int),
            "LLVMDisposeMessage": ([c_void_p], None),
            "LLVMCreateMemoryBufferWithContentsOfFile": (
                [c_char_p, pp(c_void_p), pp(c_void_p)],
                ctypes.c_int,
            ),
            "LLVMParseBitcodeInContext2": ([c_void_p, c_void_p, pp(c_void_p)], ctypes.c_int),
            "LLVMDisposeMemoryBuffer": ([c_void_p], None),
            "LLVMDisposeModule": ([c_void_p], None),
            "LLVMGetTargetFromTriple": ([c_char_p, pp(c_void_p), pp(c_void_p)], ctypes.c_int),
            "LLVMCreateTargetMachine": (
                [c_void_p, c_char_p, c_char_p, c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int],
                c_void_p,
            ),
            "LLVMDisposeTargetMachine": ([c_void_p], None),
            "LLVMSetTarget": ([c_void_p, c_char_p], None),
            "LLVMTargetMachineEmitToMemoryBuffer": (
                [c_void_p, c_void_p, ctypes.c_int, pp(c_void_p), pp(c_void_p)],
                ctypes.c_int,
            ),
            "LLVMGetBufferStart": ([c_void_p], c_void_p),
            "LLVMGetBufferSize": ([c_void_p], ctypes.c_size_t),
            "LLVMInitializeBPFTargetInfo": ([], None),
            "LLVMInitializeBPFTarget": ([], None),
            "LLVMInitializeBPFTargetMC": ([], None),
            "LLVMInitializeBPFAsmPrinter": ([], None),
        }
        for fname, (args, res) in sigs.items():
            fn = getattr(lib, fname)
            fn.argtypes = args
            fn.restype = res
        lib.LLVMInitializeBPFTargetInfo()
        lib.LLVMInitializeBPFTarget()
        lib.LLVMInitializeBPFTargetMC()
        lib.LLVMInitializeBPFAsmPrinter()
        return lib
    raise CodegenError("libLLVM-14.so not found (apt-get install llvm-14)")


def _take_message(lib: ctypes.CDLL, ptr: int | None) -> str:
    if not ptr:
        return ""
    text = ctypes.string_at(ptr).decode(errors="replace")
    lib.LLVMDisposeMessage(ptr)
    return text


def codegen_with_stack_warnings(bitcode: Path, allowed: re.Pattern[str]) -> CodegenResult:
    """Generates a BPF object from bitcode, downgrading only errors matching `allowed` to warnings.

    Args:
        bitcode: the linked module (output of llvm-link-14).
        allowed: pattern of the error messages to treat as warnings.

    Returns:
        The object bytes and the downgraded messages.

    Raises:
        CodegenError: libLLVM is missing, the bitcode is unreadable, or another error was reported.
    """
    lib = _load()
    errors: list[str] = []
    warnings: list[str] = []

    def handler(info: int, _ctx: int) -> None:
        desc = _take_message(lib, lib.LLVMGetDiagInfoDescription(info))
        if lib.LLVMGetDiagInfoSeverity(info) == _LLVMDSError:
            (warnings if allowed.search(desc) else errors).append(desc)

    c_handler = _DiagnosticHandler(handler)  # kept alive for the whole function
    ctx = lib.LLVMContextCreate()
    lib.LLVMContextSetDiagnosticHandler(ctx, c_handler, None)
    buf, mod, msg = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    tm = None
    try:
        if lib.LLVMCreateMemoryBufferWithContentsOfFile(
            str(bitcode).encode(), ctypes.byref(buf), ctypes.byref(msg)
        ):
            raise CodegenError(f"cannot read {bitcode}: {_take_message(lib, msg.value)}")
        failed = lib.LLVMParseBitcodeInContext2(ctx, buf, ctypes.byref(mod))
        lib.LLVMDisposeMemoryBuffer(buf)
        if failed:
            raise CodegenError(f"cannot parse bitcode {bitcode}: {'; '.join(errors)}")
        triple = b"bpfel"
        lib.LLVMSetTarget(mod, triple)
        target = ctypes.c_void_p()
        if lib.LLVMGetTargetFromTriple(triple, ctypes.byref(target), ctypes.byref(msg)):
            raise CodegenError(f"no BPF target in libLLVM: {_take_message(lib, msg.value)}")
        tm = lib.LLVMCreateTargetMachine(
            target, triple, b"v2", b"", _LLVMCodeGenLevelDefault, _LLVMRelocStatic, _LLVMCodeModelDefault
        )
        out = ctypes.c_void_p()
        if lib.LLVMTargetMachineEmitToMemoryBuffer(
            tm, mod, _LLVMObjectFile, ctypes.byref(msg), ctypes.byref(out)
        ):
            errors.append(_take_message(lib, msg.value))
        if errors:
            if out.value:
                lib.LLVMDisposeMemoryBuffer(out)
            raise CodegenError("\n".join(e for e in errors if e))
        obj = ctypes.string_at(lib.LLVMGetBufferStart(out), lib.LLVMGetBufferSize(out))
        lib.LLVMDisposeMemoryBuffer(out)
        return CodegenResult(obj=obj, warnings=warnings)
    finally:
        if tm:
            lib.LLVMDisposeTargetMachine(tm)
        if mod.value:
            lib.LLVMDisposeModule(mod)
        lib.LLVMContextDispose(ctx)
