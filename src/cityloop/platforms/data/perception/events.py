"""Outbox event types the perception domain emits. Payloads carry ids and codes only."""

# A new alarm (not a repeat of an open one); governance files a case when it names a category.
ALARM_RAISED = "perception.alarm.raised"
# An alarm ended: ``automatic`` when the device reported normal again, else an operator's clear.
ALARM_CLEARED = "perception.alarm.cleared"

AGGREGATE = "alarm"
