"""Runtime settings, read from ``CITYLOOP_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    # Where blobs (photos, documents, dataset files) go: a path, file:///path or
    # s3://bucket/prefix?endpoint=... (docs/operations.md).
    storage_url: str | None = None
    # How long a signed URL a photo request is redirected to stays valid, when the storage
    # hands them out (S3); the redirect itself is cached for half of it.
    storage_presign_seconds: int = Field(default=300, ge=2, le=7 * 24 * 3600)
    secret_key: str | None = None
    access_token_minutes: int = 12 * 60
    # Sign-in throttling (stored in the database, so every worker of a deployment shares it):
    # after this many failed attempts on one account name within the window, or from one
    # client address, further attempts are refused (429) for lockout seconds, doubling with
    # each further failure up to the cap.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_seconds: float = Field(default=900.0, gt=0)
    login_lockout_seconds: float = Field(default=30.0, gt=0)
    login_lockout_max_seconds: float = Field(default=3600.0, gt=0)
    # argon2 hashes and verifications running at once in one process; each takes 64 MiB, so
    # the rest wait their turn instead of allocating.
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    # The password policy, applied when an admin sets a password and when anyone changes
    # theirs (identity/policy.py): a minimum length, how many of the four classes (lower case,
    # upper case, digits, anything else) it mixes, never the username, never a common one.
    password_min_length: int = Field(default=10, ge=4, le=128)
    password_min_classes: int = Field(default=2, ge=1, le=4)
    # Staff roles whose accounts must have the TOTP second factor, comma-separated
    # ("admin,supervisor"); such an account that has none may only enrol one. Empty: optional.
    totp_required_roles: str = ""
    # How often an open live feed (SSE) checks that its account is still active and its
    # token still valid; the stream ends when not.
    live_account_check_seconds: float = Field(default=5.0, gt=0)

    city_domain: str = "riverton.example"
    # Where clients reach this server: absolute links in answers (Open311 media_url) start
    # here, never from the request's Host header, which the client chooses. `cityloop serve`
    # and `demo` default it to their own address; behind a proxy, set the public one.
    public_base_url: str = "http://127.0.0.1:8000"
    city_name: str = "Riverton"
    city_name_zh: str = "河港市"
    # The city's time zone (IANA name): working days, deadlines and counter hours are
    # counted in it.
    city_timezone: str = "Asia/Shanghai"
    # How often the access log's newest link is signed (a checkpoint of its hash chain).
    access_log_checkpoint_seconds: float = Field(default=300.0, gt=0)
    # Open data from people's reports: points are snapped to square cells this wide, and a
    # (category, cell, day) group is published only when it holds at least this many.
    open_data_grid_metres: float = Field(default=250.0, ge=50, le=10_000)
    open_data_min_cell_count: int = Field(default=5, ge=2, le=1000)
    # How often datasets marked out of date by change events are rebuilt, and how often every
    # dataset's freshness is checked (a stale one is flagged to its owner).
    dataset_refresh_seconds: float = Field(default=60.0, gt=0)
    dataset_quality_seconds: float = Field(default=3600.0, gt=0)
    # The operations read model is reconciled with the cases this often (nightly by default).
    case_facts_reconcile_seconds: float = Field(default=86400.0, gt=0)
    # The largest table a department may upload (CSV or XLSX).
    dataset_upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Counter appointments: how far ahead a citizen may book, until how many hours before
    # the slot a citizen may cancel, and how often reminders for tomorrow's bookings go out.
    appointment_booking_days: int = Field(default=30, ge=1, le=366)
    appointment_cancel_hours: float = Field(default=2.0, ge=0)
    appointment_reminder_interval_seconds: float = Field(default=600.0, gt=0)
    # Reports per client per minute on public intake; 0 turns the limit off.
    intake_rate_limit: int = 30
    # How long after close a reporter may say "still not fixed".
    dispute_window_hours: int = 7 * 24
    # Citizens may rate a closed case for this long.
    rating_window_hours: int = 30 * 24

    # The largest request body of a route that declares no limit of its own (see base/limits.py:
    # uploads, NGSI-LD, device batches and Open311 have theirs). Over it: 413 before reading.
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    media_max_bytes: int = 10_000_000
    # Decoded pixels per photo, checked on its header before any decoding. Pillow holds a pixel
    # in 4 bytes: 25 MP is up to 100 MB, twice that while a photo is turned upright. It admits
    # 12-16 MP phone photos, 24 MP cameras and recent iPhones' 24 MP (5712x4284) photos.
    media_max_pixels: int = Field(default=25_000_000, ge=1)
    # Photos decoded at once in one process; more uploads wait for a slot (without holding a
    # thread). The default is the number of CPU cores this process may use.
    media_decode_slots: int = Field(default_factory=_cores, ge=1)

    scheduler_interval_seconds: float = 30.0
    relay_poll_seconds: float = 1.0
    # Published events (and their delivery records) are deleted after this long; sensors emit
    # a steady stream of them, so the outbox must not grow without end.
    outbox_retention_hours: float = Field(default=72.0, gt=0)
    outbox_prune_interval_seconds: float = 3600.0
    run_background: bool = True
    # On SQLite, the processes sharing the database queue for its one writer on a lock file
    # beside it (<db>.write-lock), in turn and woken at once (base/write_lock.py); off, they
    # meet only in SQLite's busy handler, which polls in sleeps of up to 100 ms.
    sqlite_write_lock: bool = True
    # uvicorn's line per request. Behind a proxy that logs requests already, turning it off
    # saves about a sixth of the event loop's time per small request.
    access_log: bool = True
    # Which event relay delivers the outbox: "inprocess" (the default, for one process), "nats"
    # (NATS JetStream, for several processes or hosts), or another relay's entry point in the
    # "cityloop.relays" group.
    relay: str = "inprocess"
    # The NATS relay: the server, the JetStream stream (its subjects are "<stream>.<event
    # type>"; one stream per deployment), how long a consumer may hold a message before the
    # server sends it again, and how often a consumer runs an event before it is given up on
    # (its outbox row then keeps the last error; the server's own cap is twice this).
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream: str = Field(default="CITYLOOP_EVENTS", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    nats_ack_wait_seconds: float = Field(default=30.0, gt=0)
    nats_max_deliver: int = Field(default=10, ge=2, le=1000)

    # Where citizen e-mail notifications go out, e.g. smtp://mail.city.example:25?from=noreply@…
    smtp_url: str | None = None
    email_interval_seconds: float = 5.0
    # Where text messages (phone verification codes) go out: a URL whose scheme names a channel
    # plug-in of the "cityloop.notify_channels" group (none ships); unset, they stay queued.
    sms_url: str | None = None

    # Device messages over MQTT (IoT Agent topics), e.g. mqtt://user:pass@broker:1883; off if unset.
    mqtt_url: str | None = None
    # Fixed so the broker keeps a persistent session (queued QoS 1 messages) across restarts.
    mqtt_client_id: str = "cityloop"
    # Several hosts: give each its own client id and one shared group, and the broker splits
    # the device messages between them ($share/<group>/...).
    mqtt_shared_group: str | None = None

    # Outbound requests a user can aim (@context URLs, notification endpoints) go only to public
    # addresses; this comma-separated allow-list admits others: CIDRs or addresses
    # ("10.20.0.0/16", "[fd00::1]:8443", "127.0.0.1:9000") and host names ("hooks.internal").
    outbound_allow: str = ""
    # Redirects an outbound GET (an @context fetch) follows, each checked like the first URL.
    outbound_max_redirects: int = Field(default=3, ge=0, le=10)

    # Outbound webhooks (NGSI-LD notifications): per-request timeout, attempts before a
    # notification is marked failed, exponential backoff between attempts (base * 2^n, capped,
    # with jitter), and how many requests may be open at once to one endpoint (scheme, host,
    # port) and in all.
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 8
    webhook_backoff_base_seconds: float = 2.0
    webhook_backoff_cap_seconds: float = 600.0
    webhook_endpoint_concurrency: int = 4
    webhook_global_concurrency: int = 64
    webhook_batch_size: int = 50
    # A claimed notification whose dispatcher died is sent again after this long.
    webhook_lease_seconds: float = 120.0
    webhook_poll_seconds: float = 1.0
    # Delivered notifications are pruned after this long; failed ones are kept longer.
    webhook_retention_hours: float = 24.0
    webhook_failed_retention_hours: float = 30 * 24.0
    webhook_prune_interval_seconds: float = 600.0
    # Raw device readings are kept this long; older numeric ones survive as hourly rollups.
    telemetry_retention_days: int = Field(default=90, ge=1)
    telemetry_rollup_retention_days: int = Field(default=730, ge=1)
    telemetry_retention_interval_seconds: float = 3600.0
    # Rows per retention transaction: short enough that ingest never waits long for SQLite.
    telemetry_retention_batch: int = Field(default=5000, ge=1, le=100_000)
    # How often devices are checked against their no-data (offline) rules.
    nodata_interval_seconds: float = 60.0

    open311_page_size_max: int = 1000

    # Verifiable credentials: verifications per client per minute on the public verify route
    # (0 turns the limit off), and how long a signed status list stays valid for a verifier
    # that cannot fetch a fresh one (offline), which bounds how long a revocation can go unseen.
    credential_verify_rate_limit: int = Field(default=120, ge=0)
    # Requests per client per minute on the public transparency figures and reports (0: off).
    transparency_rate_limit: int = Field(default=120, ge=0)
    credential_status_list_hours: float = Field(default=24.0, gt=0, le=24 * 366)

    # NGSI-LD: user @contexts are fetched once (http/https only) and cached in the database.
    ngsild_context_timeout_seconds: float = 5.0
    ngsild_context_max_bytes: int = 1_000_000
    # Fetched (Cached) contexts kept in ngsild_contexts; beyond it the least recently used go.
    ngsild_context_cache_max: int = Field(default=500, ge=1)
    # @context fetches from the network per minute per client address for callers without
    # credentials (cached contexts do not count); 0 turns the limit off.
    ngsild_anonymous_context_fetches: int = Field(default=10, ge=0)
    ngsild_default_limit: int = 20
    # Above this a query is refused with TooManyResults, as the specification allows.
    ngsild_max_limit: int = 1000
    ngsild_batch_max: int = 1000
    # How often expired NGSI-LD entities (expiresAt passed; already hidden) are deleted.
    ngsild_expiry_sweep_seconds: float = Field(default=60.0, gt=0)
    ngsild_max_body_bytes: int = 4_000_000
    # Instances per attribute in one temporal answer; longer series answer 206 + Content-Range.
    ngsild_temporal_page: int = 1000
    # Reads (GET) under /ngsi-ld/v1 need no credentials; writes always do.
    ngsild_public_read: bool = True
    # How long a process trusts its cached subscription list before reloading it; changes
    # made in the same process take effect at once.
    ngsild_subscription_cache_seconds: float = 5.0
    demo: bool = False
    # Built front ends (frontend/dist); defaults to the checkout's own build output.
    static_dir: Path | None = Field(default=None)
    # Optional base-map tiles, e.g. a city's own tile server; without it maps draw only the
    # city's polygons, which works offline.
    tile_url: str | None = None
    tile_attribution: str = ""

    @field_validator("city_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from exc
        return value

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value.split("/")[2]) == 0:
            raise ValueError("public_base_url must be an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def resolved_static_dir(self) -> Path:
        return self.static_dir or Path(__file__).resolve().parents[2] / "frontend" / "dist"

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cityloop.db').resolve()}"

    @cached_property
    def resolved_storage_url(self) -> str:
        return self.storage_url or str((self.data_dir / "blobs").resolve())

    @cached_property
    def resolved_secret_key(self) -> str:
        """The signing key: the setting, else one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()
