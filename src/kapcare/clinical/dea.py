"""DEA registration numbers: the shape and the check digit (docs/clinical-reference.md §12).

A DEA number is two letters and seven digits. The seventh digit checks the first six: add
digits 1, 3 and 5, add twice the sum of digits 2, 4 and 6; the last digit of the total is the
seventh digit. Source: DEA Diversion Control Division, registration number format (the check
used by pharmacies and wholesalers before filling an order).
"""

from __future__ import annotations

import re

from kapcare.errors import FieldInvalid

_SHAPE = re.compile(r"[A-Z]{2}[0-9]{7}")


def check_digit(first_six: str) -> int:
    """The check digit of a DEA number's first six digits."""
    if len(first_six) != 6 or not first_six.isdigit():
        raise FieldInvalid("dea_number", "format", "six digits are needed for the check digit")
    digits = [int(c) for c in first_six]
    total = digits[0] + digits[2] + digits[4] + 2 * (digits[1] + digits[3] + digits[5])
    return total % 10


def normalise(value: str) -> str:
    """Upper case, without spaces or dashes (a number copied from a form)."""
    return re.sub(r"[\s-]", "", value).upper()


def validate(value: str, field: str = "dea_number") -> str:
    """The number, normalised; FieldInvalid naming ``field`` (rule ``format`` for the shape,
    ``check_digit`` for a wrong seventh digit) otherwise."""
    number = normalise(value)
    if not _SHAPE.fullmatch(number):
        raise FieldInvalid(field, "format", "a DEA number is two letters and seven digits")
    if check_digit(number[2:8]) != int(number[8]):
        raise FieldInvalid(field, "check_digit", "the check digit (the seventh digit) is wrong")
    return number


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except FieldInvalid:
        return False
    return True
