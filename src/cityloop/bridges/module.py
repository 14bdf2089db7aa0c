"""The bridges: a sensor alarm opens a case. (A rule's case category is checked through the
``cityloop.case_target_checks`` entry point, so perception finds it without importing a domain.)"""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module
from cityloop.base.outbox import ConsumerRegistry
from cityloop.bridges import alarm_cases


def _alarm_cases(consumers: ConsumerRegistry, ctx: AppContext) -> None:
    alarm_cases.subscribe(consumers)


MODULE = Module(name="bridges", consumers=(_alarm_cases,))
