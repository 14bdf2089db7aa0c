"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from cityloop.base.db import Base
from cityloop.base.idempotency import IdempotencyRecord
from cityloop.base.outbox import OutboxDelivery, OutboxEvent
from cityloop.domains.governance.models import (
    Case,
    CaseEvent,
    Category,
    Dispute,
    Rating,
    Report,
    RoutingRule,
    SlaTarget,
)
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.application.identity.models import ApiKey, AuditEntry, Department, User
from cityloop.platforms.application.media.models import Media
from cityloop.platforms.application.notify.models import (
    Notification,
    WebhookDelivery,
    WebhookSourceStats,
)
from cityloop.platforms.data.perception.alarm_models import (
    Alarm,
    AlarmRule,
    RuleState,
    TelemetryRollup,
)
from cityloop.platforms.data.perception.models import (
    Device,
    DeviceProfile,
    LatestValue,
    Measurement,
    ProvisioningGroup,
)
from cityloop.platforms.data.perception.ngsild.models import (
    NgsiContext,
    NgsiEntity,
    NgsiSubscription,
    NgsiTenant,
)

__all__ = [
    "Alarm",
    "AlarmRule",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Case",
    "CaseEvent",
    "Category",
    "Department",
    "Device",
    "DeviceProfile",
    "Dispute",
    "IdempotencyRecord",
    "Jurisdiction",
    "LatestValue",
    "Measurement",
    "Media",
    "NgsiContext",
    "NgsiEntity",
    "NgsiSubscription",
    "NgsiTenant",
    "Notification",
    "OutboxDelivery",
    "OutboxEvent",
    "ProvisioningGroup",
    "Rating",
    "Report",
    "RoutingRule",
    "RuleState",
    "SlaTarget",
    "TelemetryRollup",
    "User",
    "WebhookDelivery",
    "WebhookSourceStats",
]
