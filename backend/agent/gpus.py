"""What GPUs this machine has: ``nvidia-smi`` when present, or ``--simulate MODEL:UNITS``."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable

from backend.errors import InvalidInput

#: Substrings of nvidia-smi names -> the model names the network's parameters use.
KNOWN = (("H100", "H100"), ("A100", "A100"), ("L40S", "L40S"), ("4090", "RTX4090"), ("3090", "RTX3090"))
_ALLOWED = re.compile(r"[^A-Za-z0-9 ._-]")


def normalize(name: str) -> str:
    """A GPU name as nvidia-smi prints it ("NVIDIA A100-SXM4-80GB") -> the model name ("A100")."""
    upper = name.upper()
    for needle, model in KNOWN:
        if needle in upper:
            return model
    cleaned = _ALLOWED.sub("", name.replace("NVIDIA", "")).strip()
    return cleaned[:32] or "unknown"


def parse_simulate(spec: str) -> tuple[str, int]:
    """``MODEL:UNITS`` (e.g. ``A100:8``) -> (model, units)."""
    model, sep, units = spec.rpartition(":")
    if not sep or not model or not units.isdigit() or not 1 <= int(units) <= 65_535:
        raise InvalidInput(f"--simulate must be MODEL:UNITS with 1..65535 units, got {spec!r}")
    if _ALLOWED.search(model) or len(model) > 32:
        raise InvalidInput(f"--simulate model {model!r}: at most 32 of A-Z a-z 0-9 space . _ -")
    return model, int(units)


def detect(run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> tuple[str, int] | None:
    """(model, units) from ``nvidia-smi``; None when it is not installed.

    Raises:
        InvalidInput: nvidia-smi failed, found no GPU, or found GPUs of different models.
    """
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    proc = run([exe, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise InvalidInput(f"nvidia-smi failed ({proc.returncode}): {proc.stderr.strip()[:200]}")
    names = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if not names:
        raise InvalidInput("nvidia-smi lists no GPU")
    models = {normalize(n) for n in names}
    if len(models) > 1:
        raise InvalidInput(f"this machine mixes GPU models ({', '.join(sorted(models))}): one node is one model")
    return models.pop(), len(names)
