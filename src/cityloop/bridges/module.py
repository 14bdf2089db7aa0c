"""The bridges: a sensor alarm opens a case; case events keep the operations read model; a
hotspot's proactive task becomes a case; application events keep its application facts. (A
rule's case category is checked through the ``cityloop.case_target_checks`` entry point, so
perception finds it without importing a domain.)"""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob
from cityloop.base.outbox import ConsumerRegistry
from cityloop.bridges import alarm_cases, application_facts, case_facts, proactive_tasks


def _alarm_cases(consumers: ConsumerRegistry, ctx: AppContext) -> None:
    alarm_cases.subscribe(consumers)


MODULE = Module(
    name="bridges",
    consumers=(
        _alarm_cases,
        case_facts.subscribe,
        application_facts.subscribe,
        proactive_tasks.subscribe,
    ),
    jobs=(
        ScheduledJob(
            "case-facts-reconcile",
            lambda s: s.case_facts_reconcile_seconds,
            case_facts.reconcile_job,
        ),
        # The application facts reconcile on the same schedule as the case facts.
        ScheduledJob(
            "application-facts-reconcile",
            lambda s: s.case_facts_reconcile_seconds,
            application_facts.reconcile_job,
        ),
    ),
    setup=(case_facts.register_dataset,),
    commands=(case_facts.install,),
)
