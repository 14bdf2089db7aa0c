"""Open data carries no personal data: a city full of it (reporters' names, phones, e-mail
addresses, identity numbers and home addresses in contact fields and in the descriptions of
reports nobody accepted or the city rejected; citizens with legal names; devices whose name and
attributes say who owns them; applications whose forms and ratings name people) builds every
registered open dataset, and not one of those strings, nor a contact field's name, is in any
distribution or DataStore row. A lone case is left out; a group of k cases is there."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

from cityloop.demo.seed import DEMO_CITIZEN_ID_NUMBER, DEMO_CITIZEN_NAME
from cityloop.domains.governance.models import Category
from cityloop.platforms.application.identity import realname
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.data.catalogue import build, producers
from cityloop.platforms.data.perception import service as devices
from tests.support.catalogue import distribution_texts, points_in_one_cell, rows
from tests.support.city import City, fresh_point
from tests.support.identity import fresh_id_number
from tests.support.perception import THERMOMETER_CONFIG, fleet, send
from tests.support.services import call, definition, hand_in, save_service, staff

VENDING = "E-04-02"  # moderated: a person reads a report before the public may
POTHOLE = "C-02-01"  # not moderated: its text is never published in open data
ABANDONED = "E-04-03"

REPORTER = "Quentin Oyelaran"
REPORTER_EMAIL = "q.oyelaran@example.org"
REPORTER_PHONE = "13987654321"
CITIZEN = "欧阳靖宇"
CITIZEN_EMAIL = "jingyu.ouyang@example.net"
CITIZEN_PHONE = "13566667777"
HOME = "17 Juniper Lane"
HOME_ZH = "滨江路88号3单元502室"
OWNER = "Ingrid Halvorsen"
OWNER_PHONE = "13711112222"
APPLICANT = "Bartholomew Ekwueme"
APPLICANT_PHONE = "13655556666"
ACCEPTED_EMAIL = "stall.keeper@example.org"
ACCEPTED_PHONE = "13512345678"
# The names of fields that hold people's data wherever they are kept.
PERSONAL_FIELDS = (
    "contact_name", "contact_email", "contact_phone", "reporter", "submitted_by",
    "tracking_token", "legal_name", "id_number", "applicant", "owner", "display_name",
)  # fmt: skip


def _personal_description(n: int) -> str:
    return (
        f"Stall {n} outside {HOME} ({HOME_ZH}), I am {REPORTER}, call {REPORTER_PHONE} or write "
        f"to {REPORTER_EMAIL}; my ID {DEMO_CITIZEN_ID_NUMBER}"
    )


def _report(
    city: City, category: str, point: tuple[float, float], description: str, user: str | None
) -> int:
    contact = {
        "contact_name": REPORTER, "contact_email": REPORTER_EMAIL,
        "contact_phone": REPORTER_PHONE, "address": HOME,
    }  # fmt: skip
    body = city.report(
        user, category=category, lat=point[0], lon=point[1], description=description, **contact
    )
    return int(body["case_id"])


@pytest.fixture(scope="module")
def seeded(city: City) -> dict[str, Any]:
    """A city full of personal data, then every registered open dataset built."""
    id_number = fresh_id_number()
    with city.ctx.writing() as session:
        session.execute(update(Category).where(Category.code == VENDING).values(moderated=True))
        person = identity.create_user(
            session, username=f"ouyang-{city.backend}", password="demo", role="citizen",
            display_name=CITIZEN, email=CITIZEN_EMAIL, phone=CITIZEN_PHONE,
        )  # fmt: skip
        realname.submit_identity(
            session, user_id=person.id, legal_name=CITIZEN, id_number=id_number
        )
    users = [f"ouyang-{city.backend}", "citizen", None]

    # Five cases in one cell, which open data may show: one accepted by a person in moderation
    # (its contact details still blanked), one rejected, three nobody has read yet.
    vending = [
        _report(city, VENDING, point, _personal_description(n), users[n % 3])
        for n, point in enumerate(points_in_one_cell(city))
    ]
    accepted = f"A stall by the gate; write to {ACCEPTED_EMAIL} or call {ACCEPTED_PHONE}"
    with city.ctx.writing() as session:  # the moderator corrected the text before accepting
        from cityloop.domains.governance.models import Case

        session.execute(update(Case).where(Case.id == vending[0]).values(description=accepted))
    city.act(vending[0], "dispatcher", action="register")
    city.act(vending[1], "dispatcher", action="reject", note=f"{REPORTER} owns the pavement")
    # Five in an unmoderated category: registered, their text never published.
    for n, point in enumerate(points_in_one_cell(city)):
        case_id = _report(city, POTHOLE, point, _personal_description(n), users[n % 3])
        city.act(case_id, "dispatcher", action="register")
    lone = _report(city, ABANDONED, fresh_point(), f"the van of {OWNER} at {HOME}", None)

    # A device whose name and attributes say who owns it, with a reading.
    _, apikey = fleet(city, "ul", THERMOMETER_CONFIG, entity_type="PrivateThermometer")
    with city.ctx.writing() as session:
        group = devices.group_by_apikey(session, apikey=apikey)
        lat, lon = fresh_point()
        devices.create_device(
            session, device_id=f"pd-meter-{city.backend}", group=group,
            name=f"Meter at {OWNER}'s house", lat=lat, lon=lon,
            attributes={"owner": OWNER, "contact_phone": OWNER_PHONE, "address": HOME},
        )  # fmt: skip
    send(city, apikey, f"pd-meter-{city.backend}", "t|21.5")

    # An application whose form and rating name the applicant.
    save_service(
        city, definition("pd-permit", workflow=[{"departments": ["urbanmgmt"], "days": 3}])
    )
    form = {"project": f"Garage for {APPLICANT} at {HOME}", "floors": 2,
            "contact_phone": APPLICANT_PHONE}  # fmt: skip
    number = call(
        city, "POST", "/api/v1/applications", "citizen", 201, json={"service": "pd-permit"}
    )["id"]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": form})
    hand_in(city, number, name=f"{APPLICANT}.pdf")
    call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen")
    application = staff(city, number, "accept", "handler-urbanmgmt")
    [step] = [s for s in application["steps"] if s["status"] == "active"]
    staff(city, number, f"steps/{step['id']}/approve", "handler-urbanmgmt")
    comment = {"score": 5, "comment": f"{APPLICANT} thanks you, call {APPLICANT_PHONE}"}
    call(city, "POST", f"/api/v1/applications/{number}/rating", "citizen", 201, json=comment)

    city.drain()
    built = [
        name
        for name, producer in producers.registered(city.ctx).items()
        if producer.spec.sensitivity == "open"
    ]
    for name in built:
        build.build(city.ctx, name=name)
    return {"built": built, "vending": vending, "lone": lone, "id_number": id_number}


def _published(city: City, name: str) -> dict[str, str]:
    """Everything a dataset publishes, as text: each distribution and its DataStore rows."""
    texts = distribution_texts(city, name)
    texts["DataStore"] = json.dumps(rows(city, name), ensure_ascii=False, default=str)
    return texts


def test_every_open_dataset_was_built_from_the_seeded_city(
    city: City, seeded: dict[str, Any]
) -> None:
    assert len(seeded["built"]) >= 6
    for name in seeded["built"]:
        assert {"CSV", "JSON", "Parquet", "DataStore"} <= set(_published(city, name)), name
    # The seeded people are there to be found: each dataset's own rows came from them.
    assert any("PrivateThermometer" in text for text in _published(city, "devices").values())
    assert "pd-permit" in _published(city, "service-applications-stats")["CSV"]


def test_no_personal_string_nor_contact_field_is_in_any_open_dataset(
    city: City, seeded: dict[str, Any]
) -> None:
    personal = [
        REPORTER, REPORTER_EMAIL, REPORTER_PHONE, CITIZEN, CITIZEN_EMAIL, CITIZEN_PHONE,
        DEMO_CITIZEN_NAME, DEMO_CITIZEN_ID_NUMBER, seeded["id_number"], HOME, HOME_ZH, OWNER,
        OWNER_PHONE, APPLICANT, APPLICANT_PHONE, ACCEPTED_EMAIL, ACCEPTED_PHONE, "Oyelaran",
        "Halvorsen", "Ekwueme", "Juniper", "13800138000",
    ]  # fmt: skip
    found = []
    for name in seeded["built"]:
        for where, text in _published(city, name).items():
            lowered = text.lower()
            found += [(name, where, s) for s in personal if s.lower() in lowered]
            found += [(name, where, f) for f in PERSONAL_FIELDS if f in lowered]
    assert found == []


def test_the_accepted_text_is_published_with_its_contact_details_blanked(
    city: City, seeded: dict[str, Any]
) -> None:
    published = {row["ref"]: row["description"] for row in rows(city, "cases")}
    assert published[str(seeded["vending"][0])] == "A stall by the gate; write to *** or call ***"


def test_a_lone_case_is_absent_and_a_group_of_k_is_there(
    city: City, seeded: dict[str, Any]
) -> None:
    assert city.ctx.settings.open_data_min_cell_count == 5  # the default k
    refs = {row["ref"] for row in rows(city, "cases")}
    assert {str(case_id) for case_id in seeded["vending"]} <= refs
    assert str(seeded["lone"]) not in refs
    for fmt, text in distribution_texts(city, "cases").items():
        assert f'"{seeded["lone"]}"' not in text and str(seeded["vending"][0]) in text, fmt
    counts = {row["category"]: row["count"] for row in rows(city, "cases-by-cell")}
    assert counts.get(VENDING) == 5 and ABANDONED not in counts
