"""Amount units of the program tests: their IO mint has 8 decimals."""

from backend.money import io_unit

DECIMALS = 8
IO = io_unit(DECIMALS)  # base units per IO
