"""The answers of the case routes, as Pydantic models: the contract the OpenAPI document states
and the front ends' generated types follow.

Public and staff answers are separate models, so a public answer cannot carry a staff field, not
even as null: the public timeline row has no ``actor`` or ``data``, the public case has no
``channel``, ``routing`` or ``reports``. A key that only some rows carry (``by`` on a public row
written by staff) is left out rather than sent as null. Builders live in ``presenters.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cityloop.base.contracts import Answer, JsonObject, Named, Timestamp, omit_when_none
from cityloop.domains.governance.contacts import ContactPurpose
from cityloop.domains.governance.workflow import Channel, Priority, Resolution, Status

# ------------------------------------------------------------------ the catalogue


class CategoryAttribute(Answer):
    """An Open311 service-definition attribute the report form asks for."""

    code: str
    description: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    order: int
    values: list[tuple[str, str]] = Field(description="(key, name) pairs for the list datatypes")
    # The city's Chinese texts, where its data has them (categories.yaml).
    description_zh: str = ""
    values_zh: list[tuple[str, str]] = Field(
        default_factory=list, description="(key, Chinese name) pairs, where the city has them"
    )
    question: str = Field(default="", description="the question in the reader's language")
    choices: list[tuple[str, str]] = Field(
        default_factory=list, description="(key, name) pairs in the reader's language"
    )


class Category(Answer):
    code: str
    kind: Literal["component", "event"]
    major_class: str
    group: str
    group_zh: str
    name: str
    name_zh: str
    description: str
    keywords: list[str]
    icon: str
    priority: Priority
    auto_dispatch: bool
    moderated: bool = Field(
        description="reports' descriptions and photos stay off public answers until accepted"
    )
    default_department: str
    dedupe_radius_m: int
    attributes: list[CategoryAttribute]


# ------------------------------------------------------------------ timeline rows


class _TimelineRow(Answer):
    id: int
    at: Timestamp
    action: str
    from_status: Status | None
    status: Status
    message: str | None = Field(description="the public status line in English")
    message_zh: str | None = Field(description="the same line in Chinese")
    message_code: str | None
    note: str | None
    attachments: list[str]


class PublicTimelineRow(_TimelineRow):
    """A row citizens may see: its public note and photos only."""

    by: Literal["city staff"] | None = Field(
        default=None, exclude_if=omit_when_none, description="present when staff wrote the row"
    )


class StaffTimelineRow(_TimelineRow):
    """A row as staff see it: who wrote it, internal notes, the stored event data."""

    actor: str
    actor_role: str
    department: str | None
    note_public: bool
    data: JsonObject


# ------------------------------------------------------------------ cases


class Photos(Answer):
    before: list[str] = Field(description="the reporters' photos")
    after: list[str] = Field(description="the department's proof photos")


class _CaseBase(Answer):
    id: int
    service_request_id: str
    status: Status
    open311_status: Literal["open", "closed"]
    category: Named
    priority: Priority
    description: str | None
    lat: float
    lon: float
    address: str | None
    district: Named | None
    street: Named | None
    grid: Named | None
    department: Named | None
    created_at: Timestamp
    updated_at: Timestamp
    expected_at: Timestamp | None
    closed_at: Timestamp | None
    resolution: Resolution | None
    resolution_note: str | None
    referred_to: str | None
    duplicate_of: int | None
    merged_into: int | None
    supporters: int
    dispute_open: bool
    photos: Photos


class PublicCase(_CaseBase):
    """A case as anyone may read it: no reporter, no internal note; a moderated category's
    description (null) and reporter photos stay off until the case is published."""

    timeline: list[PublicTimelineRow]


class Assignee(Answer):
    """Who in the department works on a case: one field worker or one crew."""

    kind: Literal["worker", "crew"]
    id: int
    name: str
    name_zh: str = Field(default="", description="a worker's Chinese name; empty: name")


class StaffCaseSummary(_CaseBase):
    """A case in the staff queue: deadlines, flags, routing and the caller's allowed actions."""

    description: str
    channel: Channel
    routing: JsonObject
    source_ref: JsonObject
    registered_at: Timestamp | None
    dispatched_at: Timestamp | None
    started_at: Timestamp | None
    resolved_at: Timestamp | None
    response_due: Timestamp | None
    resolution_due: Timestamp | None
    response_overdue: bool
    overdue: bool
    update_overdue: bool
    escalated: bool
    rework_count: int
    on_time: bool | None
    handled_on_time: bool | None
    last_public_update_at: Timestamp
    allowed_actions: list[str]
    assignee: Assignee | None


class CaseReport(Answer):
    """One report of a case (staff only). Its contact details are not here: which ones it left
    is, and a staff member opens them on purpose (``ReportContact``)."""

    id: int
    case_id: int
    channel: Channel
    is_origin: bool
    created_at: Timestamp
    description: str
    lat: float
    lon: float
    media: list[str]
    attributes: JsonObject
    reporter_user_id: int | None
    submitted_by: str | None
    has_contact: bool
    contact_fields: list[Literal["contact_name", "phone", "email"]]
    device_id: str | None


class ReportContact(Answer):
    """A report's contact details, opened by a staff member for a purpose (audited; in the
    reporter's access log when they have an account)."""

    case_id: int
    report_id: int
    purpose: ContactPurpose
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    logged_for_reporter: bool


class CaseRating(Answer):
    stars: int
    comment: str
    at: Timestamp


class CaseDispute(Answer):
    id: int
    note: str
    media: list[str]
    at: Timestamp
    outcome: Literal["reopened", "upheld"] | None
    answer_note: str | None


class StaffCase(StaffCaseSummary):
    """One case with everything staff see: the full timeline, reports, ratings, disputes."""

    timeline: list[StaffTimelineRow]
    reports: list[CaseReport]
    merged_cases: list[int]
    ratings: list[CaseRating]
    disputes: list[CaseDispute]


class CasePage(Answer):
    items: list[StaffCaseSummary]
    total: int
    page: int
    page_size: int


class MyWorkCase(StaffCaseSummary):
    """A case in "my work", with the group it is in: assigned to me, to a crew of mine, or
    another open case of my department."""

    group: Literal["mine", "crew", "department"]


class MyWork(Answer):
    items: list[MyWorkCase]


class Load(Answer):
    """Open and overdue cases held by one crew or one worker (``id`` null: nobody)."""

    id: int | None
    name: str
    name_zh: str = Field(default="", description="a worker's Chinese name; empty: name")
    open: int
    overdue: int
    active: bool


class Workload(Answer):
    department: str
    crews: list[Load]
    workers: list[Load]
    unassigned: Load


class QueuedDispute(Answer):
    """An open "still not fixed" dispute, with its case, for the supervision centre."""

    id: int
    case_id: int
    note: str
    media: list[str]
    at: Timestamp
    case: StaffCaseSummary


class BulkDone(Answer):
    case_id: int
    ok: Literal[True]
    status: Status


class BulkRefused(Answer):
    case_id: int
    ok: Literal[False]
    status_code: int
    detail: str


class BulkAnswer(Answer):
    results: list[BulkDone | BulkRefused]
    succeeded: int


# ------------------------------------------------------------------ citizens and the public


class IntakeAnswer(Answer):
    case_id: int
    service_request_id: str
    report_id: int
    tracking_token: str
    short_code: str = Field(description="six characters that, with case_id, track the report")
    joined_existing: bool = Field(description="true when an open case nearby absorbed the report")
    status: Status
    message: str


class PointGeometry(Answer):
    type: Literal["Point"]
    coordinates: tuple[float, float] = Field(description="[lon, lat]")


class PublicCaseProperties(Answer):
    id: int
    status: Status
    category: str
    created_at: Timestamp
    resolution: Resolution | None
    supporters: int
    photo: str | None


class PublicCaseFeature(Answer):
    type: Literal["Feature"]
    id: int
    geometry: PointGeometry
    properties: PublicCaseProperties


class PublicCaseCollection(Answer):
    """GeoJSON of open and recently closed cases, without reporter data."""

    type: Literal["FeatureCollection"]
    features: list[PublicCaseFeature]


class NearbyCase(Answer):
    id: int
    status: Status
    category: str
    distance_m: float
    lat: float
    lon: float
    created_at: Timestamp
    supporters: int
    photo: str | None
    joins_automatically: bool = Field(description="within the category's dedupe radius")


class TrackAnswer(Answer):
    report_id: int
    case: PublicCase


class MyReport(Answer):
    report_id: int
    tracking_token: str
    short_code: str | None
    submitted_at: Timestamp
    case: PublicCase


class RatingAnswer(Answer):
    case_id: int
    stars: int
    comment: str


class DisputeAnswer(Answer):
    dispute_id: int
    case_id: int
    status: Literal["open"]


# ------------------------------------------------------------------ the vocabulary

Phase = Literal["intake", "work", "done", "ended"]


class StatusTerm(Answer):
    code: Status
    open: bool = Field(description="the city still works on the case; new reports may join it")
    terminal: bool = Field(description="no action leads out of it")
    open311_closed: bool = Field(description="Open311 reports it as closed")
    phase: Phase = Field(
        description="intake: the centre has it; work: a department has it; done: finished "
        "with work; ended: finished without (front ends colour statuses by phase)"
    )


class ResolutionTerm(Answer):
    code: Resolution
    phase: Phase = Field(description="done when fixed, else ended")


class ActionTerm(Answer):
    """One row of the case workflow table."""

    code: str
    from_statuses: list[Status]
    to_status: Status | None = Field(description="null when the action keeps the status")
    roles: list[str]
    needs: list[Literal["note", "department", "resolution", "merge_into", "assignee"]]
    note_public: bool = Field(description="citizens see the note by default")
    public_reason: bool = Field(description="the note is the public reason; it cannot be internal")
    counts_as_rework: bool


class Vocabulary(Answer):
    """The workflow's words, so front ends never copy the server's lists."""

    statuses: list[StatusTerm]
    resolutions: list[ResolutionTerm]
    priorities: list[Priority]
    channels: list[Channel]
    actions: list[ActionTerm]
