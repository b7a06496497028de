"""Build driver: C -> clang-14 (BPF bitcode) -> llvm-link-14 -> llc-14 (one object) -> our linker -> .so.

Usage::

    python programs/toolchain/build.py --out prog.so src/a.c src/b.c [-I dir] [-D NAME=VALUE]

or, from Python (tests add the repository root to ``sys.path``)::

    from programs.toolchain.build import build_program
    build_program([Path("hello.c")], Path("out/hello.so"), include_dirs=[...])

The SDK headers (``programs/sdk``) are always on the include path. The same sources give the same bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import typer

if __package__ in (None, ""):  # run as a script: make `programs.toolchain` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from programs.toolchain.link import LinkError, link_object  # noqa: E402
    from programs.toolchain.llvm_capi import CodegenError, codegen_with_stack_warnings  # noqa: E402
else:
    from .link import LinkError, link_object
    from .llvm_capi import CodegenError, codegen_with_stack_warnings

SDK_DIR = Path(__file__).resolve().parents[1] / "sdk"
"""The SDK headers, always passed with -I."""

CLANG = "clang-14"
LLVM_LINK = "llvm-link-14"
LLC = "llc-14"

CFLAGS: tuple[str, ...] = (
    "-target",
    "bpf",
    "-mcpu=v2",
    "-O2",
    "-std=c11",
    "-ffreestanding",
    "-fno-builtin",
    "-fno-stack-protector",
    "-fno-ident",
    "-Wall",
    "-Werror=implicit-function-declaration",
    "-Werror=int-conversion",
    "-Werror=incompatible-pointer-types",
)
"""clang flags: BPF target, freestanding (no libc on chain), no compiler identification in the output."""

LLC_FLAGS: tuple[str, ...] = ("-march=bpf", "-mcpu=v2", "--relocation-model=static", "-filetype=obj", "-O2")
"""llc flags: -mcpu=v2 (v3 emits JMP32, which SBPFv0 rejects);
static relocations keep .data.rel.ro read-only."""

STACK_LIMIT_MESSAGE = re.compile(r"Looks like the BPF stack limit of 512 bytes is exceeded")
"""Upstream LLVM's only objection to frames over 512 bytes; SBPF frames are 4 KiB, so the code is valid."""

MEM_LIBCALL_MESSAGE = re.compile(r"A call to built-in function '(memcpy|memset|memmove)' is not supported")
"""Upstream LLVM refuses (but still emits) libcalls for large or variable-size copies; iog_types.h defines
memcpy, memset and memmove over the runtime's syscalls, and the linker refuses the call if they are not
defined."""

DOWNGRADED = re.compile(f"{STACK_LIMIT_MESSAGE.pattern}|{MEM_LIBCALL_MESSAGE.pattern}")
"""The llc errors that are not errors on SBPF; every other one fails the build."""


class BuildError(Exception):
    """A compile, link or tool step failed; the message carries the tool's output."""


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BuildError(
            f"{cmd[0]} not found: install clang-14 and llvm-14 (make -C programs tools)"
        ) from exc


def _check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise BuildError(f"{what} failed:\n{proc.stderr.strip()}")


def require_tools() -> None:
    """Raises BuildError when clang-14, llvm-link-14 or llc-14 is missing."""
    missing = [t for t in (CLANG, LLVM_LINK, LLC) if shutil.which(t) is None]
    if missing:
        raise BuildError(f"missing tools: {', '.join(missing)} (apt-get install clang-14 llvm-14)")


def compile_to_object(
    sources: Sequence[Path],
    workdir: Path,
    include_dirs: Sequence[Path] = (),
    defines: Sequence[str] = (),
) -> bytes:
    """Compiles C sources to one relocatable BPF object and returns its bytes.

    Frames over 512 bytes (an upstream LLVM limit; SBPF allows 4 KiB) are reported on stderr as warnings and
    the object is produced through the LLVM C API; any other LLVM error fails the build.
    """
    if not sources:
        raise BuildError("no sources given")
    require_tools()
    incs = [f"-I{d}" for d in [SDK_DIR, *include_dirs]]
    defs = [f"-D{d}" for d in defines]
    bitcode: list[str] = []
    for i, src in enumerate(sources):
        src = Path(src)
        if not src.is_file():
            raise BuildError(f"source not found: {src}")
        bc = workdir / f"{i:03d}_{src.stem}.bc"
        _check(
            _run([CLANG, *CFLAGS, *incs, *defs, "-emit-llvm", "-c", str(src), "-o", str(bc)]), f"clang {src}"
        )
        bitcode.append(str(bc))
    linked = workdir / "program.bc"
    _check(_run([LLVM_LINK, *bitcode, "-o", str(linked)]), "llvm-link")
    obj = workdir / "program.o"
    proc = _run([LLC, *LLC_FLAGS, str(linked), "-o", str(obj)])
    if proc.returncode == 0:
        return obj.read_bytes()
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    if errors and all(DOWNGRADED.search(line) for line in errors):
        try:
            result = codegen_with_stack_warnings(linked, DOWNGRADED)
        except CodegenError as exc:
            raise BuildError(f"llc failed:\n{exc}") from exc
        for warning in dict.fromkeys(result.warnings):  # LLVM repeats it per stack object
            if MEM_LIBCALL_MESSAGE.search(warning):
                continue  # resolved to the SDK's memcpy/memset/memmove by the linker
            text = " ".join(warning.split())
            print(f"warning: {text} (allowed: SBPF stack frames are 4 KiB)", file=sys.stderr)
        return result.obj
    lines = dict.fromkeys(line for line in proc.stderr.splitlines() if line.strip())
    raise BuildError("llc failed:\n" + "\n".join(lines))


def build_program(
    sources: Sequence[Path],
    out: Path,
    include_dirs: Sequence[Path] = (),
    defines: Sequence[str] = (),
) -> Path:
    """Builds C sources into a loadable SBPFv0 program.

    Args:
        sources: C files, compiled in the given order (the order is part of the output).
        out: path of the .so to write (parent directories are created).
        include_dirs: extra include directories (the SDK directory is always included).
        defines: preprocessor definitions, ``NAME`` or ``NAME=VALUE``.

    Returns:
        ``out``.

    Raises:
        BuildError: a tool failed or is missing.
        LinkError: the object cannot be linked (writable data, unknown relocation, undefined symbol, ...).
    """
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="iog-sbf-") as tmp:
        obj = compile_to_object(sources, Path(tmp), include_dirs, defines)
        elf = link_object(obj)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp_out.write_bytes(elf)
    tmp_out.replace(out)  # atomic: a reader never sees half a program
    return out


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def main(
    sources: list[Path] = typer.Argument(..., help="C source files, compiled and linked in this order."),
    out: Path = typer.Option(..., "--out", "-o", help="Path of the .so to write (written atomically)."),
    include_dirs: list[Path] = typer.Option(
        [], "-I", "--include", help="Extra include directory (programs/sdk is always included); repeatable."
    ),
    defines: list[str] = typer.Option(
        [], "-D", "--define", help="Preprocessor definition NAME or NAME=VALUE."
    ),
) -> None:
    """Build C sources into an SBPFv0 Solana program with clang-14/llc-14 and the project's own linker."""
    try:
        build_program(sources, out, include_dirs, defines)
    except (BuildError, LinkError) as exc:
        kind = "link error" if isinstance(exc, LinkError) else "build error"
        typer.echo(f"{kind}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"built {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    app()
