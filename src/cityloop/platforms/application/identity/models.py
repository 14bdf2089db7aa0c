"""Users, departments, API keys, the audit trail, real names and enterprises."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class Department(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="department")
    active: Mapped[bool] = mapped_column(default=True)
    # The edit counter of optimistic concurrency: an edit names the version it was made on.
    version: Mapped[int] = mapped_column(default=1)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # The name Chinese readers see; empty falls back to ``display_name``.
    display_name_zh: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    department_code: Mapped[str | None] = mapped_column(
        ForeignKey("departments.code"), default=None
    )
    # A staff account's area scope: a district leader or dispatcher sees only this district's
    # cases and figures. None means city-wide (or no scope at all, for citizens).
    district_code: Mapped[str | None] = mapped_column(
        ForeignKey("jurisdictions.code"), default=None
    )
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when an admin gives the account a temporary password: until its owner picks a new
    # one, the account may do nothing but that (deps.py).
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The TOTP second factor (RFC 6238): the shared secret from enrolment, sealed with a key
    # derived from the app's secret (totp.py), and when the owner confirmed it with a first
    # code. A secret without a confirmation is an enrolment under way and asks nothing at
    # sign-in.
    totp_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # The time step of the last code accepted, so a code seen over a shoulder cannot be used
    # a second time within its window.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The language the account reads ('en' or 'zh-CN'); None follows the browser's
    # Accept-Language (base/locale.py).
    locale: Mapped[str | None] = mapped_column(String(10), default=None)


class Crew(Base):
    """A department's named team of worker accounts (班组). A worker may be in several crews; a
    deactivated crew keeps its members and history but takes no new work."""

    __tablename__ = "crews"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("department_code", "name", name="uq_crew_name"),)


class CrewMember(Base):
    """One worker in one crew."""

    __tablename__ = "crew_members"

    crew_id: Mapped[int] = mapped_column(ForeignKey("crews.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerPosition(Base):
    """Where a field account's device last said it was: one row per account, replaced by each
    report. Personal data: only staff and leaders read it, and each read is audited."""

    __tablename__ = "worker_positions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    # The device's own estimate of its error, in metres, when it gives one.
    accuracy_m: Mapped[float | None] = mapped_column(Float, default=None)
    at: Mapped[datetime] = mapped_column(index=True)


class RecoveryCode(Base):
    """A single-use recovery code for an account's second factor. Only an HMAC keyed with the
    app's secret is stored."""

    __tablename__ = "totp_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_totp_recovery_codes_user", "user_id", "used_at"),)


class ApiKey(Base):
    """A key for machine clients. Only its SHA-256 is stored. Its scopes say which APIs it
    opens: an Open311 client's key must not write NGSI-LD entities."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    scopes: Mapped[list[Any]] = mapped_column(default=lambda: ["open311"])
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only record of every staff action and security-relevant event."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(120), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # The audit screen searches by target, actor and action, newest first.
    __table_args__ = (
        Index("ix_audit_target", "target", "id"),
        Index("ix_audit_actor", "actor", "id"),
        Index("ix_audit_action", "action", "id"),
    )


class LoginThrottle(Base):
    """Recent sign-in attempts against one subject: an attempted account name
    (``account:<name>``, known or not) or a client address (``address:<ip>``). Kept in the
    database so every worker process of a deployment counts the same attempts."""

    __tablename__ = "login_throttle"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Attempts counted as failed: an attempt counts when it starts, and a success gives its
    # count back, so parallel guesses cannot slip past the limit while they are being checked.
    failures: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_login_throttle_last_at", "last_at"),)


class RealName(Base):
    """A citizen's real-name record (实名), one per account. The level follows from what is
    checked: the identity number and the phone make level 2, a counter visit level 3.

    The identity number is kept in clear: a counter compares it with the document shown and an
    enterprise names its legal representative by it. Answers mask it (``numbers.mask``)."""

    __tablename__ = "real_names"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    legal_name: Mapped[str | None] = mapped_column(String(100), default=None)
    id_number: Mapped[str | None] = mapped_column(String(18), default=None, unique=True)
    birth_date: Mapped[date | None] = mapped_column(default=None)
    id_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    phone_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    # Level 3: who checked the person's document, at which counter, when.
    counter_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    counter_verified_by: Mapped[str | None] = mapped_column(String(80), default=None)
    counter_department: Mapped[str | None] = mapped_column(
        ForeignKey("departments.code"), default=None
    )
    counter_name: Mapped[str | None] = mapped_column(String(120), default=None)
    # The address printed on the identity document (户籍地址), copied by the counter clerk, and
    # the district it lies in: what a department asks the address-in-district lookup about.
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    address_district: Mapped[str | None] = mapped_column(
        ForeignKey("jurisdictions.code"), default=None
    )


class PhoneChallenge(Base):
    """A one-time code sent to a phone. Only an HMAC of the code is stored; it expires, allows
    a few tries, and is used once."""

    __tablename__ = "phone_challenges"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    phone: Mapped[str] = mapped_column(String(40))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_phone_challenges_user", "user_id", "created_at"),)


class Enterprise(Base):
    """An enterprise's registration (法人登记), keyed by its unified social credit code."""

    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    legal_rep_name: Mapped[str] = mapped_column(String(100))
    legal_rep_id_number: Mapped[str] = mapped_column(String(18), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    registered_capital_yuan: Mapped[int] = mapped_column(BigInteger, default=0)
    business_scope: Mapped[str] = mapped_column(Text, default="")
    registered_on: Mapped[date] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="active")


class EnterpriseAgent(Base):
    """A citizen account authorised to act for an enterprise (经办人). A revoked grant stays, so
    the list shows who could act when; the rights end at ``revoked_at``."""

    __tablename__ = "enterprise_agents"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_by: Mapped[str] = mapped_column(String(80))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(80), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_enterprise_agents_uscc", "uscc", "id"),
        Index("ix_enterprise_agents_user", "user_id", "revoked_at"),
    )
