"""Checks of the two national numbers an applicant gives, and how answers mask them.

The resident identity number (居民身份证号码, GB 11643) and the unified social credit code
(统一社会信用代码, GB 32100) both carry a check character; python-stdnum checks it, the length,
the format and (for a person) the birth date and region. Each failure is its own 400 problem
naming the field, so an applicant learns which part to correct.
"""

from __future__ import annotations

from datetime import date

from stdnum import exceptions
from stdnum.cn import ric, uscc

from cityloop.base.db import utcnow
from cityloop.base.problems import Problem, bad_request
from cityloop.platforms.application.identity.messages import NUMBER_NAMES, Message


def _problem(field: str, what: str, error: exceptions.ValidationError) -> Problem:
    english, chinese = NUMBER_NAMES[what]
    names = {"what": english, "what_zh": chinese}
    if isinstance(error, exceptions.InvalidLength):
        return bad_request(Message("identity.number_length", names), field, "wrong-length")
    if isinstance(error, exceptions.InvalidFormat):
        return bad_request(Message("identity.number_format", names), field, "wrong-format")
    if isinstance(error, exceptions.InvalidChecksum):
        return bad_request(Message("identity.number_checksum", names), field, "bad-checksum")
    return bad_request(
        Message("identity.number_meaningless", names), field, "invalid-identity-number"
    )


def check_id_number(number: str, *, field: str = "id_number") -> tuple[str, date]:
    """The compact identity number and its birth date; 400 naming what is wrong with it."""
    try:
        compact = ric.validate(number)
    except exceptions.ValidationError as error:
        raise _problem(field, "id_number", error) from error
    born = ric.get_birth_date(compact)
    # stdnum accepts any calendar date; a person cannot be born tomorrow.
    if born > utcnow().date():
        raise bad_request(Message("identity.born_in_future"), field, "invalid-identity-number")
    return compact, born


def check_uscc(code: str, *, field: str = "uscc") -> str:
    """The compact unified social credit code; 400 naming what is wrong with it."""
    try:
        return str(uscc.validate(code))
    except exceptions.ValidationError as error:
        raise _problem(field, "uscc", error) from error


def mask_id_number(number: str | None) -> str | None:
    """An identity number as staff lists and the holder's own screen show it: 1101**********1234."""
    if not number:
        return None
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str | None) -> str | None:
    """A phone number with its middle hidden: 138****5678."""
    if not phone:
        return None
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
