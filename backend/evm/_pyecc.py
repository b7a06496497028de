"""Import py_ecc (a dependency of eth_account and web3) without its process-wide side effect.

py_ecc raises the interpreter's recursion limit to 100,000 when imported. With that limit, deep recursion
anywhere in the process (e.g. parsing deeply nested JSON) overflows the C stack and kills the process with a
segfault instead of raising RecursionError. ``backend/evm/__init__.py`` imports this module, so any import of
the EVM rail comes first; py_ecc's import runs once per process, so the limit stays as it was.
"""

import sys

_limit = sys.getrecursionlimit()
import py_ecc  # noqa: E402,F401  (imported here, under the guard, before eth_account/web3 can import it)

sys.setrecursionlimit(_limit)
