"""The browser module's exact arithmetic, run in Node against the Python reference: amounts (base units <->
text, never a float), basis points, base58, and the parsing of the server's sign-in text into the Wallet
Standard's ``solana:signIn`` input."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import based58
import pytest

from backend.auth import siws
from backend.errors import InvalidInput
from backend.money import U64_MAX, format_units, to_base_units

SRC = Path(__file__).resolve().parents[3] / "backend" / "web" / "frontend" / "src"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

RUNNER = """
import { formatUnits, parseUnits, formatBps, parseBps } from '%(src)s/units.js';
import { b58encode, b58decode } from '%(src)s/b58.js';
import { signInInput } from '%(src)s/wallets.js';
const input = JSON.parse(await new Promise((ok) => { let s = ''; process.stdin.on('data', (d) => s += d);
  process.stdin.on('end', () => ok(s)); }));
const attempt = (f) => { try { return f(); } catch (e) { return { error: e.message }; } };
const hex = (b) => Buffer.from(b).toString('hex');
console.log(JSON.stringify({
  format: input.format.map(([u, d]) => attempt(() => formatUnits(u, d, { group: false }))),
  grouped: input.format.map(([u, d]) => attempt(() => formatUnits(u, d))),
  parse: input.parse.map(([t, d]) => attempt(() => parseUnits(t, d))),
  bps: input.bps.map((b) => formatBps(b)),
  parseBps: input.parseBps.map((t) => attempt(() => parseBps(t))),
  b58: input.b58.map((h) => b58encode(Buffer.from(h, 'hex'))),
  unb58: input.unb58.map((t) => hex(b58decode(t))),
  signIn: input.signIn.map((t) => signInInput(t)),
}));
"""


def _run(payload: dict[str, Any]) -> dict[str, Any]:
    script = RUNNER % {"src": SRC.as_posix()}
    p = subprocess.run(
        [NODE or "node", "--input-type=module", "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=SRC.parent,  # resolves @wallet-standard/app from the frontend's node_modules
    )
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _py_parse(text: str, decimals: int) -> str | None:
    # The page also takes what people type as ".5" and "7." (the server only ever gets base units).
    text = text.replace(",", "")
    text = ("0" + text if text.startswith(".") else text).removesuffix(".")
    try:
        return str(to_base_units(text, decimals))
    except InvalidInput:
        return None


def test_amounts_bps_base58_and_sign_in_text_match_python() -> None:
    rng = random.Random(13)
    fmt: list[tuple[str, int]] = [
        ("0", 8),
        ("1", 8),
        ("100000000", 8),
        ("1250000000", 8),
        (str(U64_MAX), 8),
        (str(U64_MAX), 0),
        ("000123", 2),
        ("5", 18),
        ("123456789012345678901234567890", 9),
    ]
    fmt += [(str(rng.randrange(0, 10 ** rng.randrange(1, 21))), rng.choice([0, 2, 6, 8, 9, 18])) for _ in range(300)]
    parse = [
        ("12.5", 8),
        ("0.00000001", 8),
        ("0.000000001", 8),
        ("1,000.5", 8),
        ("", 8),
        (".", 8),
        ("-1", 8),
        ("1e3", 8),
        ("abc", 8),
        ("18446744073709551615", 0),
        ("18446744073709551616", 0),
        (".5", 6),
        ("7.", 6),
        ("184467440737.09551615", 8),
        ("184467440737.09551616", 8),
    ]
    parse += [(format_units(int(u), d), d) for u, d in fmt if int(u) <= U64_MAX]
    keys = [bytes(32), b"\x00\x00" + bytes(rng.randrange(256) for _ in range(30))] + [
        bytes(rng.randrange(256) for _ in range(rng.choice([32, 64]))) for _ in range(50)
    ]
    fields = siws.SignInFields("127.0.0.1:8000", str(based58.b58encode(keys[2]).decode()), "Sign in to iog.",
                               "http://127.0.0.1:8000", "1", "localnet", "a" * 16, "2026-12-01T10:00:00Z",
                               "2026-12-01T10:05:00Z")  # fmt: skip
    no_statement = siws.SignInFields(**{**fields.__dict__, "statement": None})
    out = _run(
        {
            "format": fmt,
            "parse": parse,
            "bps": [0, 1, 500, 1050, 10000, 9999],
            "parseBps": ["5", "5.25", "0.01", "5.123", "100", "100.01"],
            "b58": [k.hex() for k in keys],
            "unb58": [based58.b58encode(k).decode() for k in keys],
            "signIn": [siws.render(fields), siws.render(no_statement)],
        }
    )
    assert out["format"] == [format_units(int(u), d) for u, d in fmt]
    for grouped, plain in zip(out["grouped"], out["format"], strict=True):
        assert grouped.replace(",", "") == plain and all(len(g) == 3 for g in grouped.split(".")[0].split(",")[1:])
    for (text, d), got in zip(parse, out["parse"], strict=True):
        want = _py_parse(text, d) if text not in ("", ".") else None
        assert (got if isinstance(got, str) else None) == want, (text, d, got)
    assert out["bps"] == ["0%", "0.01%", "5%", "10.5%", "100%", "99.99%"]
    assert out["parseBps"] == ["500", "525", "1", {"error": "at most 2 decimal places"}, "10000",
                               {"error": "at most 100%"}]  # fmt: skip
    assert out["b58"] == [based58.b58encode(k).decode() for k in keys]
    assert out["unb58"] == [k.hex() for k in keys]
    want = {"domain": fields.domain, "address": fields.address, "statement": fields.statement, "uri": fields.uri,
            "version": "1", "chainId": "localnet", "nonce": fields.nonce, "issuedAt": fields.issued_at,
            "expirationTime": fields.expiration_time}  # fmt: skip
    assert out["signIn"][0] == want
    assert out["signIn"][1] == {k: v for k, v in want.items() if k != "statement"}
