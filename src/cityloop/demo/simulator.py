"""Realistic readings from the demo fleet, in each profile's own vendor format.

Pure generation, no I/O: :class:`FleetSimulator` turns (device, moment) into a :class:`Message`
(payload bytes and content type), so tests and benchmarks can drive it on a simulated clock and
the transport loop (:mod:`cityloop.demo.transport`) on the real one. With a seed, the same
sequence of calls gives the same messages.

Readings follow the city's day (UTC+8): temperatures peak mid-afternoon, pollution at the rush
hours, lights burn from dusk to dawn, bays fill in working hours, bins fill faster by day. Values
drift. Anomalies and faults come at low hazard rates (per device per hour, scaled by
``anomaly_rate``): a manhole cover opens and later closes, rain floods the low roads above
0.3 m, bins overflow until the truck comes, a lamp fails until repaired, a battery drains and is
replaced, a device goes silent for a while, and now and then a payload is malformed or a value is
out of the profile's range.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cityloop.demo.devices import PROFILES, PROFILES_BY_CODE, DeviceSpec, demo_devices

CONTENT_TYPES = {"hex": "text/plain", "ul": "text/plain", "json": "application/json"}
CITY_UTC_OFFSET = timedelta(hours=8)

# Hazards per device (rain: per city) per hour, before ``anomaly_rate`` scales them.
RATES: dict[str, float] = {
    "manhole-open": 1 / 36,
    "rain": 1 / 18,
    "lamp-failed": 1 / (7 * 24),
    "battery-fault": 1 / (10 * 24),
    "silent": 1 / (4 * 24),
}
# Chances per message.
MALFORMED_CHANCE = 0.004
OUT_OF_RANGE_CHANCE = 0.003
FLOOD_LEVEL_M = 0.3


@dataclass(frozen=True)
class Message:
    """One device message, ready for MQTT or HTTP."""

    device: DeviceSpec
    apikey: str
    payload: bytes
    content_type: str
    at: datetime
    # "reading", or the deliberate fault this message carries: "malformed" or "out_of_range".
    kind: str = "reading"
    # Anomalies that start or end with this message, e.g. ("manhole-open",).
    events: tuple[str, ...] = ()


@dataclass
class _DeviceState:
    rng: random.Random
    battery: float
    drain_per_hour: float
    last_at: datetime | None = None
    silent_until: datetime | None = None
    open_until: datetime | None = None
    failed_until: datetime | None = None
    fill: float = 0.0
    fill_per_hour: float = 0.05
    occupied: bool = False
    sensitivity: float = 1.0
    drift: dict[str, float] = field(default_factory=dict)
    flooded: bool = False


def pick_devices(count: int | None = None) -> list[DeviceSpec]:
    """The first ``count`` demo devices, interleaved by profile so even a few show every format."""
    fleet = demo_devices()
    by_profile = [[d for d in fleet if d.profile == p.code] for p in PROFILES]
    interleaved = [
        group[i] for i in range(max(map(len, by_profile))) for group in by_profile if i < len(group)
    ]
    if count is None:
        return interleaved
    if not 1 <= count <= len(interleaved):
        raise ValueError(f"the demo fleet has {len(interleaved)} devices; ask for 1 to that many")
    return interleaved[:count]


def _hazard(rate_per_hour: float, hours: float) -> float:
    return 1 - math.exp(-rate_per_hour * max(hours, 0.0))


def _city_hour(now: datetime) -> float:
    local = now + CITY_UTC_OFFSET
    return local.hour + local.minute / 60 + local.second / 3600


def _bump(hour: float, centre: float, width: float) -> float:
    """A smooth daily peak around ``centre`` o'clock."""
    distance = min(abs(hour - centre), 24 - abs(hour - centre))
    return math.exp(-((distance / width) ** 2))


def _timestamp(now: datetime) -> str:
    return now.isoformat(timespec="milliseconds")


class FleetSimulator:
    """The state of every simulated device and the city's weather; see the module docstring."""

    def __init__(
        self,
        devices: Sequence[DeviceSpec] | None = None,
        *,
        seed: int | None = None,
        anomaly_rate: float = 1.0,
    ) -> None:
        if anomaly_rate < 0 or not math.isfinite(anomaly_rate):
            raise ValueError("anomaly_rate must be a finite number ≥ 0")
        self.devices = list(devices) if devices is not None else pick_devices()
        self.anomaly_rate = anomaly_rate
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self.weather = random.Random(f"{self.seed}:weather")
        self.rain: tuple[datetime, datetime, float] | None = None
        self.weather_at: datetime | None = None
        # How often each anomaly started (and each fault was sent) so far.
        self.events: Counter[str] = Counter()
        self.states = {d.device_id: self._new_state(d) for d in self.devices}

    def _new_state(self, device: DeviceSpec) -> _DeviceState:
        # One generator per device: its story does not depend on which other devices run.
        rng = random.Random(f"{self.seed}:{device.device_id}")
        return _DeviceState(
            rng=rng,
            battery=rng.uniform(0.55, 1.0),
            drain_per_hour=rng.uniform(0.0003, 0.0015),
            fill=rng.uniform(0.0, 0.6),
            fill_per_hour=rng.uniform(0.03, 0.09),
            occupied=rng.random() < 0.5,
            sensitivity=rng.uniform(0.85, 1.15),
        )

    # -- the schedule ----------------------------------------------------------------------

    def stream(self, start: datetime, rate: float) -> Iterator[Message]:
        """Messages at a steady ``rate`` per second from ``start`` on a simulated clock, the
        devices in turn; a silent device's turn passes without a message."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        slot = 0
        while True:
            now = start + timedelta(seconds=slot / rate)
            message = self.message(self.devices[slot % len(self.devices)], now)
            slot += 1
            if message is not None:
                yield message

    # -- one message -----------------------------------------------------------------------

    def message(self, device: DeviceSpec, now: datetime) -> Message | None:
        """The device's message at ``now``, or None while it is silent."""
        state = self.states.get(device.device_id)
        if state is None:
            state = self.states[device.device_id] = self._new_state(device)
        hours = 0.0 if state.last_at is None else (now - state.last_at).total_seconds() / 3600
        state.last_at = now
        self._advance_weather(now)
        events: list[str] = []
        rng = state.rng
        if state.silent_until is not None:
            if now < state.silent_until:
                return None
            state.silent_until = None
            events.append("back-from-silence")
        elif rng.random() < _hazard(RATES["silent"] * self.anomaly_rate, hours):
            state.silent_until = now + timedelta(minutes=rng.uniform(15, 90))
            self.events["silent"] += 1
            return None
        self._battery(state, hours, events)
        profile = PROFILES_BY_CODE[device.profile]
        values = getattr(self, "_" + device.profile.replace("-", "_"))(state, now, hours, events)
        kind = "reading"
        roll = rng.random()
        if roll < MALFORMED_CHANCE * self.anomaly_rate:
            kind = "malformed"
        elif roll < (MALFORMED_CHANCE + OUT_OF_RANGE_CHANCE) * self.anomaly_rate:
            kind = "out_of_range" if device.profile != "generic-json" else "malformed"
        if kind == "out_of_range":
            values.update(_OUT_OF_RANGE[device.profile])
        payload = _encode(device.profile, profile.wire, values, now)
        if kind == "malformed":
            payload = _spoil(profile.wire, payload, rng)
        if kind != "reading":
            self.events[kind] += 1
        for event in events:
            self.events[event] += 1
        return Message(
            device,
            profile.apikey,
            payload,
            CONTENT_TYPES[profile.wire],
            now,
            kind,
            tuple(events),
        )

    # -- shared behaviour ------------------------------------------------------------------

    def _advance_weather(self, now: datetime) -> None:
        hours = 0.0 if self.weather_at is None else (now - self.weather_at).total_seconds() / 3600
        if self.weather_at is not None and now <= self.weather_at:
            return
        self.weather_at = now
        if self.rain is not None and now >= self.rain[1]:
            self.rain = None
        if self.rain is None and self.weather.random() < _hazard(
            RATES["rain"] * self.anomaly_rate, hours
        ):
            duration = timedelta(minutes=self.weather.uniform(45, 180))
            self.rain = (now, now + duration, self.weather.uniform(0.4, 0.75))
            self.events["rain"] += 1

    def _rain_intensity(self, now: datetime) -> float:
        """0 when dry; rises to 1 through the storm's first quarter, holds, and falls back."""
        if self.rain is None or not self.rain[0] <= now < self.rain[1]:
            return 0.0
        start, end, _ = self.rain
        share = (now - start) / (end - start)
        return min(1.0, 2 * (1 - abs(2 * share - 1)))

    def _battery(self, state: _DeviceState, hours: float, events: list[str]) -> None:
        rng = state.rng
        if state.battery < 0.05:
            # A technician swaps the pack within a few hours of it going flat.
            if rng.random() < _hazard(0.3, hours):
                state.battery = 1.0
                state.drain_per_hour = rng.uniform(0.0003, 0.0015)
                events.append("battery-replaced")
            return
        if state.drain_per_hour < 0.01 and rng.random() < _hazard(
            RATES["battery-fault"] * self.anomaly_rate, hours
        ):
            # A failing cell or a chatty firmware: the battery empties within a day or so.
            state.drain_per_hour = rng.uniform(0.03, 0.08)
            events.append("battery-draining")
        before = state.battery
        state.battery = max(0.0, state.battery - state.drain_per_hour * hours)
        if before >= 0.1 > state.battery:
            events.append("battery-low")

    @staticmethod
    def _drift(state: _DeviceState, name: str, sigma: float, hours: float) -> float:
        """A mean-reverting random walk: sensors and weather wander, then settle back."""
        keep = math.exp(-max(hours, 1 / 60) / 6)
        value = state.drift.get(name, 0.0) * keep + state.rng.gauss(0, sigma) * math.sqrt(
            1 - keep * keep
        )
        state.drift[name] = value
        return value

    # -- one method per profile: the raw values its device would send ------------------------

    def _manhole_lora(
        self, state: _DeviceState, now: datetime, hours: float, events: list[str]
    ) -> dict[str, float]:
        rng = state.rng
        if state.open_until is not None and now >= state.open_until:
            state.open_until = None
            events.append("manhole-closed")
        elif state.open_until is None and rng.random() < _hazard(
            RATES["manhole-open"] * self.anomaly_rate, hours
        ):
            state.open_until = now + timedelta(minutes=rng.uniform(20, 120))
            events.append("manhole-open")
        is_open = state.open_until is not None
        tilt = rng.uniform(55, 95) if is_open else abs(rng.gauss(0.8, 0.6))
        return {"tilt": round(tilt * 10), "open": int(is_open), "bat": round(state.battery * 100)}

    def _waterlevel_ul(
        self, state: _DeviceState, now: datetime, hours: float, events: list[str]
    ) -> dict[str, float]:
        # Normally the water stands in the drain, ~0.4 m below the road surface.
        base = -0.4 + 0.05 * self._drift(state, "level", 1.0, hours)
        intensity = self._rain_intensity(now)
        level = base
        if intensity > 0 and self.rain is not None:
            level = base + (self.rain[2] * state.sensitivity - base) * intensity
        flooded = level > FLOOD_LEVEL_M
        if flooded and not state.flooded:
            events.append("flooded")
        state.flooded = flooded
        return {"l": round(level * 100), "bat": round(state.battery * 100)}

    def _airquality_json(
        self, state: _DeviceState, now: datetime, hours: float, events: list[str]
    ) -> dict[str, float]:
        hour = _city_hour(now)
        rush = _bump(hour, 8, 1.5) + _bump(hour, 18, 2)
        pm25 = max(1.0, 22 + 18 * rush + 8 * self._drift(state, "pm", 1.0, hours))
        no2 = max(1.0, 18 + 30 * rush + 5 * self._drift(state, "no2", 1.0, hours))
        temperature = 15 + 6 * math.sin(2 * math.pi * (hour - 9) / 24)
        temperature += 1.5 * self._drift(state, "t", 1.0, hours)
        humidity = min(99.0, max(15.0, 72 - 3 * (temperature - 15) + 4 * state.rng.gauss(0, 1)))
        if self._rain_intensity(now) > 0:
            humidity, pm25 = 96.0, pm25 * 0.6  # rain washes the air
        return {
            "pm25": round(pm25, 1),
            "pm10": round(pm25 * 1.6 + abs(state.rng.gauss(0, 3)), 1),
            "no2": round(no2, 1),
            "t": round(temperature, 1),
            "rh": round(humidity),
        }

    def _waterquality_json(
        self, state: _DeviceState, now: datetime, hours: float, events: list[str]
    ) -> dict[str, float]:
        hour = _city_hour(now)
        water = 14 + 1.5 * math.sin(2 * math.pi * (hour - 11) / 24)
        water += 0.5 * self._drift(state, "t", 1.0, hours)
        turbidity = 6 + 2 * abs(self._drift(state, "turb", 1.0, hours))
        turbidity += 45 * self._rain_intensity(now)  # run-off after rain
        return {
            "ph": round(7.3 + 0.25 * self._drift(state, "ph", 1.0, hours), 2),
            "turb": round(turbidity, 1),
            # Cold water holds more oxygen.
            "do": round(max(2.0, 14.6 - 0.33 * water + 0.3 * state.rng.gauss(0, 1)), 2),
            "t": round(water, 1),
        }

    def _streetlight_ul(
        self, state: _DeviceState, now: datetime, hours: float, events: list[str]
    ) -> dict[str, float | str]:
        rng = state.rng
        hour = _city_hour(now)
        if state.failed_until is not None and now >= state.failed_until:
            state.failed_until = None
            events.append("lamp-repaired")
        elif state.failed_until is None and rng.random() < _hazard(
            RATES["lamp-failed"] * self.anomaly_rate, hours
        ):
            state.failed_until = now + timedelta(hours=rng.uniform(4, 24))
            events.append("lamp-failed")
        night = hour >= 18.5 or hour < 6
        failed = state.failed_until is not None
        level = 0.0
        if night and not failed:
            # Dimmed in the small hours to save energy.
            level = 0.6 if 1 <= hour < 5 else 0.95
        return {
            "p": "on" if night else "off",
            "s": "defectiveLamp" if failed else "ok",
            "i": round(level * 100),
        }

    def _parking_lora(
        self, state: _DeviceState, now: datetime, hours: float, events: list[str]
    ) -> dict[str, float]:
        hour = _city_hour(now)
        busy = 0.15 + 0.75 * _bump(hour, 13.5, 4.5)
        # A bay changes state a few times an hour at most; it tends toward the time of day's mix.
        if state.rng.random() < _hazard(2.0, hours):
            state.occupied = state.rng.random() < busy
        return {"occ": int(state.occupied), "bat": round(state.battery * 100)}

    def _wastebin_ul(
        self, state: _DeviceState, now: datetime, hours: float, events: list[str]
    ) -> dict[str, float]:
        rng = state.rng
        hour = _city_hour(now)
        daytime = 0.4 + 1.2 * _bump(hour, 14, 5)
        was_full = state.fill >= 1.0
        state.fill = min(1.0, state.fill + state.fill_per_hour * daytime * hours)
        if state.fill >= 1.0 and not was_full:
            events.append("bin-full")
        # The truck comes on the morning round, and sooner once a bin overflows.
        collect = 0.0
        if state.fill >= 1.0:
            collect = 0.5
        elif state.fill > 0.6 and 5 <= hour < 10:
            collect = 0.8
        if collect and rng.random() < _hazard(collect, hours):
            state.fill = rng.uniform(0.0, 0.05)
            events.append("bin-emptied")
        temperature = 12 + 8 * math.sin(2 * math.pi * (hour - 9) / 24) + rng.gauss(0, 0.5)
        return {
            "f": round(state.fill * 100),
            "t": round(temperature, 1),
            "bat": round(state.battery * 100),
        }

    def _generic_json(
        self, state: _DeviceState, now: datetime, hours: float, events: list[str]
    ) -> dict[str, float | str]:
        pressure = 1013 + 6 * self._drift(state, "p", 1.0, hours)
        return {"v": round(pressure, 1), "txt": "raining" if self._rain_intensity(now) else "dry"}


# Raw values each profile's range check refuses.
_OUT_OF_RANGE: dict[str, dict[str, float]] = {
    "manhole-lora": {"bat": 255},
    "waterlevel-ul": {"l": 999},
    "airquality-json": {"pm25": -5},
    "waterquality-json": {"ph": 15.2},
    "streetlight-ul": {"i": 180},
    "parking-lora": {"bat": 250},
    "wastebin-ul": {"f": 180},
}


def _encode(profile: str, wire: str, values: dict[str, float | str], now: datetime) -> bytes:
    if wire == "hex":
        if profile == "manhole-lora":
            return f"{values['tilt']:04x}{values['open']:02x}{values['bat']:02x}".encode()
        return f"{values['occ']:02x}{values['bat']:02x}".encode()
    if wire == "ul":
        pairs = "|".join(f"{key}|{value}" for key, value in values.items())
        return f"{_timestamp(now)}|{pairs}".encode()
    return json.dumps({"timestamp": _timestamp(now), **values}, separators=(",", ":")).encode()


def _spoil(wire: str, payload: bytes, rng: random.Random) -> bytes:
    """A payload as radio noise or a firmware bug leaves it."""
    if wire == "hex":
        return payload[:2]  # truncated uplink: too few bytes for the layout
    if wire == "ul":
        return payload.rsplit(b"|", 1)[0] + b"|"  # the last value lost
    return payload[: rng.randint(1, len(payload) - 2)]  # cut-off JSON
