"""Money (金额): integer fen (分) everywhere, yuan (元) only when shown.

Pure Python: no database, no I/O.  An amount is an ``int`` of fen, never a float: 0.1 + 0.2 is
not 0.3 in binary floating point, and a price that is off by a fen is a complaint.  Sums are
Python ints (unbounded) and BIGINT columns in PostgreSQL; the domain limits of
``domain/orders/model.py`` keep every stored amount far below 2^63 however many are summed.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

#: The range of a BIGINT (and of the API's ``Fen`` scalar): what PostgreSQL can store.
FEN_MIN = -(2**63)
FEN_MAX = 2**63 - 1


class Currency(StrEnum):
    """ISO 4217 code of an amount; orderflow's sellers sell in renminbi (人民币) only."""

    CNY = "CNY"


def yuan(fen: int) -> Decimal:
    """``29900`` -> ``Decimal("299.00")``: exact, always two decimals (``5`` -> ``0.05``).

    Built from the digits rather than by dividing, so no rounding context is involved."""
    return Decimal(f"{fen}E-2")


def format_yuan(fen: int) -> str:
    """``29900`` -> ``"¥299.00"``, for messages a person reads."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(yuan(fen)):,}"
