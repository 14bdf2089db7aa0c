"""Load the demo city into a database through the domains' own service functions."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.demo import alarm_rules
from cityloop.demo.city import DemoCity, build_demo_city
from cityloop.demo.devices import seed_devices
from cityloop.demo.specs import CategorySpec, SlaSpec
from cityloop.demo.vitals import seed_vitals
from cityloop.domains.governance.config import categories as category_config
from cityloop.domains.governance.config.schemas import (
    AttributeIn,
    CategoryCreate,
    ChoiceIn,
    SlaIn,
)
from cityloop.domains.governance.models import Category, RoutingRule
from cityloop.domains.services import catalogue
from cityloop.platforms.application.appointments import counters as appointments
from cityloop.platforms.application.geo import basemap
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.application.identity import enterprises as enterprise_registry
from cityloop.platforms.application.identity import positions, realname
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import Crew, CrewMember, User, WorkerPosition
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import SYSTEM
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.sharing import builtin as builtin_lookups
from cityloop.platforms.data.sharing import reads as sharing_reads
from cityloop.platforms.data.sharing import service as sharing
from cityloop.platforms.data.sharing import targets as sharing_targets

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo"
DEMO_API_KEY = "demo"


def demo_accounts(city: DemoCity) -> list[tuple[str, str, str | None, str, str]]:
    """(username, role, department, display name, Chinese display name) for every demo
    account."""
    # The loader makes sure a city has exactly one supervision and command centre.
    centre = next(d.code for d in city.departments if d.kind == "centre")
    accounts: list[tuple[str, str, str | None, str, str]] = [
        ("admin", Role.ADMIN, None, "Administrator", "系统管理员"),
        ("dispatcher", Role.DISPATCHER, centre, "Command centre dispatcher", "指挥中心派遣员"),
        ("supervisor", Role.SUPERVISOR, centre, "Supervision centre", "监督中心值班长"),
        ("hotline", Role.HOTLINE, centre, "12345 hotline operator", "12345热线话务员"),
        ("inspector", Role.INSPECTOR, centre, "Grid inspector", "网格巡查员"),
        ("clerk", Role.CLERK, centre, "Service counter clerk", "政务服务窗口办事员"),
        ("leader", Role.LEADER, None, "City leader", "市领导"),
        ("citizen", Role.CITIZEN, None, "Demo citizen", "演示市民"),
    ]
    for department in city.departments:
        if department.kind == "centre":
            continue
        accounts.append(
            (
                f"handler-{department.code}",
                Role.HANDLER,
                department.code,
                f"{department.name} handler",
                f"{department.name_zh}处置员",
            )
        )
        accounts.append(
            (
                f"worker-{department.code}",
                Role.WORKER,
                department.code,
                f"{department.name} field worker",
                f"{department.name_zh}作业人员",
            )
        )
    return accounts


def category_input(spec: CategorySpec, targets: list[SlaSpec]) -> CategoryCreate:
    """A category of the city's files as governance's category service takes it."""
    return CategoryCreate(
        code=spec.code,
        kind=spec.kind,
        major_class=spec.major_class,
        major_name=spec.major_name,
        major_name_zh=spec.major_name_zh,
        name=spec.name,
        name_zh=spec.name_zh,
        description=spec.description,
        keywords=list(spec.keywords),
        icon=spec.icon,
        default_department=spec.default_department,
        priority=spec.priority,
        auto_dispatch=spec.auto_dispatch,
        moderated=spec.moderated,
        dedupe_radius_m=spec.dedupe_radius_m,
        dedupe_window_hours=spec.dedupe_window_hours,
        update_interval_hours=spec.update_interval_hours,
        attributes=[
            AttributeIn(
                code=a.code,
                datatype=a.datatype,
                required=a.required,
                order=a.order,
                description=a.description,
                # A question or answer without a Chinese text shows the English one.
                description_zh=a.description_zh or a.description,
                values=[
                    ChoiceIn(key=key, name=name, name_zh=dict(a.values_zh).get(key) or name)
                    for key, name in a.values
                ],
            )
            for a in spec.attributes
        ],
        sla=[
            SlaIn(
                priority=t.priority,
                response_minutes=t.response_minutes,
                resolution_minutes=t.resolution_minutes,
            )
            for t in targets
        ],
    )


def seed_city(session: Session, city: DemoCity | None = None, *, fleet: bool = True) -> None:
    """Jurisdictions, departments, categories, routing, SLA, counters, enterprises and services
    (no accounts). Idempotent.

    ``city`` defaults to Riverton. ``fleet`` adds Riverton's sensors and alarm rules, which
    stand on Riverton's roads and name its categories: pass False for any other city.
    """
    city = city or build_demo_city()
    for spec in city.jurisdictions:
        geo.upsert_jurisdiction(
            session,
            code=spec.code,
            level=spec.level,
            name=spec.name,
            name_zh=spec.name_zh,
            parent_code=spec.parent_code,
            geometry={"type": "Polygon", "coordinates": [[list(p) for p in spec.polygon]]},
        )
    geo.forget_cached_index()
    if city.base_map:
        basemap.replace_base_map(session, features=city.base_map)
    for spec in city.departments:
        if identity.get_department(session, code=spec.code) is None:
            identity.create_department(
                session, code=spec.code, name=spec.name, name_zh=spec.name_zh, kind=spec.kind
            )
    session.flush()
    # Categories (and their SLA targets) go through governance's own service, which checks
    # them as it checks an admin's edit and records a version only when something changed.
    for spec in city.categories:
        targets = [s for s in city.sla_targets if s.category_code == spec.code]
        category_config.save_category(session, data=category_input(spec, targets), actor=SYSTEM)
    session.flush()
    for rule in city.routing_rules:
        existing = session.scalar(
            select(RoutingRule).where(
                RoutingRule.category_code == rule.category_code,
                RoutingRule.district_code.is_(None)
                if rule.district_code is None
                else RoutingRule.district_code == rule.district_code,
            )
        )
        if existing is None:
            session.add(
                RoutingRule(
                    category_code=rule.category_code,
                    district_code=rule.district_code,
                    department_code=rule.department_code,
                )
            )
        else:
            existing.department_code = rule.department_code
    session.flush()
    for service in city.services:
        catalogue.save_definition(
            session, raw=service.model_dump(mode="json", by_alias=True), actor=SYSTEM,
            note="the city's catalogue",
        )  # fmt: skip
    for counter in city.counters:
        appointments.save_counter(
            session,
            code=counter.code,
            department_code=counter.department,
            name=counter.name,
            name_zh=counter.name_zh,
            location=counter.location,
            location_zh=counter.location_zh,
            hours=counter.hours,
            slot_minutes=counter.slot_minutes,
            capacity=counter.capacity,
        )
    for enterprise in city.enterprises:
        enterprise_registry.register_enterprise(session, **asdict(enterprise))
    seed_grants(session, city)
    if fleet:
        seed_devices(session)
        alarm_rules.seed_alarm_rules(session)
        seed_vitals(session)


def seed_grants(session: Session, city: DemoCity) -> int:
    """The standing sharing grants of sharing.yaml, requested and approved by the platform;
    a department already holding a live grant (or owning the data) is left as it is."""
    builtin_lookups.install()
    made = 0
    for spec in city.standing_grants:
        if (
            spec.kind == "dataset"
            and session.scalar(select(Dataset.id).where(Dataset.name == spec.name)) is None
        ):
            log.warning("sharing.yaml: dataset %s is not built yet; its grant waits", spec.name)
            continue
        target = sharing_targets.find(session, kind=spec.kind, name=spec.name)
        if target.owner == spec.department:
            continue
        try:
            if sharing_reads.authorise(session, department=spec.department, target=target):
                continue
        except sharing_reads.Refusal:
            pass
        grant = sharing.request_grant(
            session, actor=SYSTEM, kind=spec.kind, name=spec.name, purpose=spec.purpose,
            legal_basis=spec.legal_basis, fields=spec.fields, department=spec.department,
        )  # fmt: skip
        sharing.approve_grant(
            session, grant_id=grant.id, actor=SYSTEM, fields=spec.fields,
            expires_at=utcnow() + timedelta(days=spec.valid_days),
            note="a standing grant of the city's sharing.yaml",
        )  # fmt: skip
        made += 1
    return made


def seed_accounts(session: Session, city: DemoCity | None = None) -> int:
    """The demo accounts (password ``demo``) and the demo Open311 key. Demo only."""
    city = city or build_demo_city()
    created = 0
    for username, role, department, display, display_zh in demo_accounts(city):
        known = session.scalar(select(User).where(User.username == username))
        if known is None:
            identity.create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                department_code=department,
                display_name=display,
                display_name_zh=display_zh,
            )
            created += 1
        elif not known.display_name_zh:
            # A demo database seeded before accounts had Chinese names gets them now.
            known.display_name_zh = display_zh
    _demo_real_name(session)
    seed_field_crews(session, city)
    demo_key = identity.find_api_key(session, key=DEMO_API_KEY)
    if demo_key is None:
        identity.create_api_key(
            session, key=DEMO_API_KEY, name="demo client", scopes=identity.API_KEY_SCOPES
        )
    else:
        identity.set_api_key_scopes(session, api_key=demo_key, scopes=identity.API_KEY_SCOPES)
    return created


def seed_field_crews(session: Session, city: DemoCity) -> None:
    """One crew per department holding its field worker, and a last reported position for each
    (a street's label point), so the operations centre's map shows crews from the start."""
    streets = sorted(
        session.scalars(select(Jurisdiction).where(Jurisdiction.level == "street")),
        key=lambda street: street.code,
    )
    departments = [d for d in city.departments if d.kind != "centre"]
    for index, department in enumerate(departments):
        worker = identity.find_user(session, username=f"worker-{department.code}")
        if worker is None:
            continue
        name = f"{department.name} field crew"
        crew = session.scalar(
            select(Crew).where(Crew.department_code == department.code, Crew.name == name)
        )
        if crew is None:
            crew = Crew(department_code=department.code, name=name)
            session.add(crew)
            session.flush()
            session.add(CrewMember(crew_id=crew.id, user_id=worker.id))
        if streets and session.get(WorkerPosition, worker.id) is None:
            street = streets[index % len(streets)]
            positions.report_position(
                session,
                actor=identity.actor_for(worker),
                lat=street.label_lat,
                lon=street.label_lon,
            )
    session.flush()


# The demo citizen is 张丽华, the legal representative of a demo enterprise (enterprises.yaml),
# verified to real-name level 2 so that the demo can apply for services at once.
DEMO_CITIZEN_NAME = "张丽华"
DEMO_CITIZEN_ID_NUMBER = "44030519920415007X"
DEMO_CITIZEN_PHONE = "13800138000"
# The address on her identity card (a counter clerk copies it at real-name level 3; the demo
# keeps it from the start so the address-in-district lookup has something to answer).
DEMO_CITIZEN_ADDRESS = "河港市老城区荷花街道莲池巷 12 号"
DEMO_CITIZEN_DISTRICT = "RV01"


def _demo_real_name(session: Session) -> None:
    citizen = identity.find_user(session, username="citizen")
    if citizen is None or realname.real_name_level(session, user_id=citizen.id) >= 2:
        return
    record = realname.submit_identity(
        session, user_id=citizen.id, legal_name=DEMO_CITIZEN_NAME, id_number=DEMO_CITIZEN_ID_NUMBER
    )
    # A real account proves its phone with a text message; the demo has no SMS gateway.
    record.phone = DEMO_CITIZEN_PHONE
    record.phone_verified_at = utcnow()
    if session.get(Jurisdiction, DEMO_CITIZEN_DISTRICT) is not None:
        record.address, record.address_district = DEMO_CITIZEN_ADDRESS, DEMO_CITIZEN_DISTRICT


def is_seeded(session: Session) -> bool:
    return session.scalar(select(Category.code).limit(1)) is not None
