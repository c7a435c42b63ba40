"""Money in the API: the ``Money`` object and the ``Fen`` scalar, shaped like Shopify's MoneyV2.

GraphQL's ``Int`` is 32-bit: an amount above ¥21,474,836.47 cannot be one, and a total that
was stored anyway failed to serialise ("Unexpected error."), taking the whole order board with
it.  So amounts travel as ``Fen``, a 64-bit scalar:

- **out**, always a JSON *string* of base-10 digits (``"29900"``, ``"-500"``), like Shopify's
  ``UnsignedInt64`` and like GraphQL's own ``ID``.  A JSON number above 2^53 silently loses
  digits in JavaScript, and one type per field (never "a number, unless large") is what a client
  can rely on; ``Number(fen)`` is exact for every single order's amount (the domain limits keep
  them below 2^53), ``BigInt(fen)`` for anything summed;
- **in**, that string or a JSON integer (``unitPriceFen: 1990`` keeps working), within the range
  of a BIGINT; a fraction, a float, a boolean or anything out of range is refused with
  ``INVALID_INPUT`` before a resolver runs.

``Money { amount currency fen }`` is what money fields answer: ``amount`` the yuan as a decimal
string with exactly two decimals (``"299.00"``, ``"0.05"``), for display; ``fen`` the same amount
for arithmetic; ``currency`` always ``CNY`` today, there so that clients need not assume it.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from api.errors import ApiError
from domain.errors import ErrorCode
from domain.money import FEN_MAX, FEN_MIN, Currency, yuan

#: An amount of fen (分) as the API carries it (an ``int`` in Python).
Fen = NewType("Fen", int)

_DIGITS = re.compile(r"-?[0-9]{1,19}")

FEN_DESCRIPTION = (
    "An amount of fen (分; 100 fen = ¥1), a signed 64-bit integer. Answered as a string of "
    'digits ("29900"): a JSON number above 2^53 loses digits in JavaScript. Accepted as that '
    "string or as a JSON integer."
)


def _refuse(message: str) -> ApiError:
    # A GraphQLError with a code: reported as it is, where another exception would be masked.
    return ApiError(ErrorCode.INVALID_INPUT, message)


def _shown(value: object) -> str:
    """The value as the client wrote it (JSON), not as Python prints it."""
    return json.dumps(value, ensure_ascii=False, default=repr)


def serialize_fen(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Fen is an int, not {type(value).__name__}")
    if not FEN_MIN <= value <= FEN_MAX:
        raise ValueError(f"{value} is beyond the 64-bit range of Fen")
    return str(value)


def parse_fen(value: object) -> Fen:
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise _refuse(
            f"Fen is a whole number of fen (1990 for ¥19.90), as a string of digits or a JSON "
            f"integer; got {_shown(value)}"
        )
    if not FEN_MIN <= number <= FEN_MAX:
        raise _refuse(f"Fen is a 64-bit integer; {_shown(value)} is out of range")
    return Fen(number)


FEN_SCALAR: ScalarDefinition = strawberry.scalar(
    name="Fen",
    description=FEN_DESCRIPTION,
    serialize=serialize_fen,
    parse_value=parse_fen,
)

#: For ``StrawberryConfig(scalar_map=...)``.
SCALARS: dict[object, ScalarDefinition] = {Fen: FEN_SCALAR}


@strawberry.type(
    description="An amount of money (like Shopify's MoneyV2). Every amount orderflow holds is "
    "exact: integer fen, shown in yuan."
)
class Money:
    amount: Decimal = strawberry.field(
        description='The amount in yuan (元), a decimal string with two decimals: "299.00", '
        '"0.05", "-5.00"; for display.'
    )
    currency: Currency = strawberry.field(description="Always CNY (人民币) today.")
    fen: Fen = strawberry.field(description="The same amount in fen (分), exact; for arithmetic.")

    @classmethod
    def of(cls, fen: int) -> Money:
        return cls(amount=yuan(fen), currency=Currency.CNY, fen=Fen(fen))
