"""Request bodies of the services routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartIn(Body):
    service: str = Field(max_length=40)
    enterprise: str | None = Field(
        None, max_length=18, description="the USCC of the enterprise the application is for"
    )


class FormIn(Body):
    form: dict[str, Any]


class SupplementIn(Body):
    form: dict[str, Any] | None = None
    note: str | None = Field(None, max_length=4000)


class NoteIn(Body):
    note: str | None = Field(None, max_length=4000)


class ApplicationRatingIn(Body):
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=4000)


class ReasonIn(Body):
    reason: str = Field(min_length=1, max_length=4000)


class StepDecisionIn(Body):
    reason: str | None = Field(None, max_length=4000)
    legal_basis: str | None = Field(None, max_length=4000)
    items: list[str] | None = Field(None, max_length=20)


class FeeIn(Body):
    receipt: str = Field(min_length=1, max_length=80)


class ActiveIn(Body):
    active: bool


class ConsentIn(Body):
    consent: bool = Field(description="the applicant allows reading their records for this form")


class PresentIn(Body):
    disclose: list[str] = Field(default_factory=list, max_length=50)


class RevokeIn(Body):
    reason: str = Field(min_length=1, max_length=500)
