"""The answers of the services routes: the contract the OpenAPI document states and the front
ends' generated types follow. The applicant's and the staff's views are separate models, so an
applicant's answer cannot carry a staff-only field."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cityloop.base.contracts import Answer, JsonObject, Named, Timestamp


class MaterialRule(Answer):
    code: str
    name: str
    name_zh: str
    description: str
    description_zh: str
    types: list[str]
    max_bytes: int
    required: bool


class Stage(Answer):
    departments: list[Named]
    days: int


class LicenceRule(Answer):
    type: str
    name: str
    name_zh: str
    valid_days: int
    claims: list[str]
    disclosable: list[str]


class Fee(Answer):
    amount_cents: int
    note: str
    note_zh: str


class ServiceSummary(Answer):
    """A service as the hall lists it."""

    code: str
    version: int
    active: bool
    name: str
    name_zh: str
    description: str
    description_zh: str
    topics: list[str]
    audience: list[Literal["person", "enterprise"]]
    department: Named
    online_level: Literal["full_online", "one_visit"]
    in_person: bool
    realname_level: int
    time_limit_days: int
    fee_cents: int


class ServiceGuide(ServiceSummary):
    """A service's whole guide (办事指南): materials, form, approvals, what it issues."""

    co_approvers: list[Named]
    materials: list[MaterialRule]
    fee: Fee | None
    form_schema: JsonObject = Field(description="JSON Schema (2020-12) of the form")
    ui_schema: JsonObject = Field(description="JSON Forms UI schema of the form")
    prefill: dict[str, str] = Field(description="form field -> where it can be filled from")
    workflow: list[Stage]
    supplements_per_step: int
    licence: LicenceRule | None
    legal_basis: str
    legal_basis_zh: str


class ServiceVersionInfo(Answer):
    version: int
    created_at: Timestamp
    created_by: str
    note: str


class ServiceDefinitionText(Answer):
    """A service's definition as the catalogue's data files and the admins' editor write it."""

    code: str
    version: int
    current_version: int
    active: bool
    definition: JsonObject = Field(description="the definition, as PUT /services/{code} takes it")


class Material(Answer):
    id: int
    material_code: str
    filename: str
    content_type: str
    size: int
    uploaded_at: Timestamp


class Step(Answer):
    id: int
    stage: int
    department: Named
    status: Literal["waiting", "active", "approved", "denied", "cancelled"]
    days: int
    started_at: Timestamp | None
    due_at: Timestamp | None
    decided_at: Timestamp | None
    overdue: bool
    supplements_used: int
    supplements_allowed: int


class ApplicationTimelineRow(Answer):
    id: int
    at: Timestamp
    action: str
    status: str
    department: str | None
    message: str | None = Field(description="the line in English")
    message_zh: str | None = Field(description="the line in Chinese")
    note: str | None


class ApplicationStaffTimelineRow(ApplicationTimelineRow):
    actor: str
    actor_role: str
    public: bool
    data: JsonObject


class Rating(Answer):
    score: int
    comment: str
    at: Timestamp


class ApplicationSummary(Answer):
    id: int
    number: str
    service: str
    service_name: str
    service_name_zh: str
    status: str
    enterprise_uscc: str | None
    created_at: Timestamp
    updated_at: Timestamp
    submitted_at: Timestamp | None
    due_at: Timestamp | None


class Application(ApplicationSummary):
    """An application as its applicant sees it."""

    service_version: int
    form: JsonObject
    prefilled: JsonObject
    department: Named
    accepted_at: Timestamp | None
    decided_at: Timestamp | None
    paused: bool
    fee_cents: int
    fee_paid_at: Timestamp | None
    materials: list[Material]
    steps: list[Step]
    timeline: list[ApplicationTimelineRow]
    supplement_items: list[str] = Field(description="what the open supplement request asks for")
    licence_id: str | None
    rating: Rating | None
    actions: list[str] = Field(description="what the applicant may do now")


class PrefillGap(Answer):
    """Form fields prefill left empty: the service's department may not read their source."""

    fields: list[str]
    source: str = Field(description="profile | enterprise")
    reason: str = Field(description="no-grant, grant-expired, grant-revoked, field-not-granted…")
    message: str
    message_zh: str


class PrefillAnswer(Application):
    """The draft after prefill, and what could not be filled and why."""

    not_filled: list[PrefillGap]


class StaffApplication(Application):
    """An application as a reviewing department sees it."""

    applicant_id: int
    fee_receipt: str | None
    staff_timeline: list[ApplicationStaffTimelineRow]


class QueueItem(Answer):
    """One thing a department must do: accept a submitted application, or decide its step."""

    kind: Literal["accept", "review"]
    application_id: int
    number: str
    service: str
    service_name: str
    service_name_zh: str
    status: str
    step_id: int | None
    stage: int | None
    department: str
    submitted_at: Timestamp | None
    due_at: Timestamp | None
    overdue: bool
    enterprise: bool


class ValueName(Answer):
    name: str
    name_zh: str


class ClaimLabel(Answer):
    """What a licence claim is called, and what its coded values (a form's choices) mean."""

    name: str
    name_zh: str
    values: dict[str, ValueName]


class Licence(Answer):
    """A licence in the applicant's wallet (证照夹)."""

    application_id: int
    number: str
    licence_id: str
    type: str
    name: str
    name_zh: str
    issuer: Named
    issued_at: Timestamp
    expires_at: Timestamp | None
    revoked: bool
    claims: JsonObject = Field(description="claims every presentation shows")
    disclosable: JsonObject = Field(description="claims the holder chooses to show or hide")
    labels: dict[str, ClaimLabel] = Field(description="each claim's name in both languages")


class Presentation(Answer):
    """A presentation of a licence, and what a QR code of it holds."""

    presentation: str
    disclosed: list[str]
    qr: str = Field(
        description="the QR code's text: the verify page's link, with the presentation after #"
    )


class DepartmentStats(Answer):
    """A department's counters: the on-time rate of its review steps and its ratings."""

    department: Named
    accepted: int = Field(description="applications it accepted as the responsible department")
    steps_decided: int
    steps_on_time: int
    on_time_rate: float | None = Field(description="steps decided within their limit / decided")
    steps_active: int
    steps_overdue: int = Field(description="active steps past their limit now")
    ratings: int
    average_rating: float | None
    poor_ratings: int = Field(description="ratings of 1 or 2 (差评)")


class PaymentStarted(Answer):
    redirect_url: str
    reference: str


class PaymentRecorded(Answer):
    application_id: int
    paid: bool
