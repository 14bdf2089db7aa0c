"""Outbox event types the governance domain emits. Payloads carry ids and codes, never PII."""

CASE_CREATED = "case.created"
CASE_SUPPORTED = "case.supported"
CASE_TRANSITIONED = "case.transitioned"
# A change a citizen can see: notify the reporter and every supporter.
CASE_PUBLIC_UPDATE = "case.public_update"
# The department head and the supervisors must look at this case.
CASE_ESCALATED = "case.escalated"
CASE_FLAGGED = "case.flagged"

AGGREGATE = "case"
