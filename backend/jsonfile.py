"""Typed, versioned JSON files (the Solana and the EVM bootstrap files): read with a clear error naming the field
that is wrong, written atomically and only when the content changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from backend.errors import AppError

M = TypeVar("M", bound=BaseModel)


def parse_versioned(
    doc: Any, model: type[M], version: int, error: type[AppError], source: str, kind: str, hint: str
) -> M:
    """Validate a decoded document as ``model``; a newer ``version`` or an invalid field raises ``error``."""
    if isinstance(doc, dict) and isinstance(doc.get("version"), int) and doc["version"] > version:
        raise error(f"{source} has version {doc['version']}; this iog reads up to version {version}: upgrade iog")
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise error(f"{source} is not a valid {kind}: {where}: {first['msg']} ({hint})") from None


def read_json(path: Path, error: type[AppError], hint: str) -> Any:
    """The decoded JSON at ``path``; a missing, unreadable or non-JSON file raises ``error`` with ``hint``."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise error(f"{path} not found: {hint}") from None
    except OSError as exc:
        raise error(f"cannot read {path}: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise error(f"{path} is not JSON ({exc}): {hint}") from None


def save_json(doc: Any, path: Path) -> bool:
    """Write ``doc`` (indented, sorted keys) to ``path`` through a temporary file, unless the file already holds
    exactly that; True when written."""
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True
