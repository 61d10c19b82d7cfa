"""Runtime settings from the environment (interfaces.md), each with a working default.

In: environment variables FIVESTAR_*. Out: a frozen `Settings` object.
Secrets (SMTP password, resident-ID hash key) come only from the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from fivestar.config import ConfigError

# Anyone with the source has this key: hashes made with it are reversible (an ID has few
# unknown digits). Only the SQLite quickstart may use it (id_hash_key_refusal).
DEFAULT_ID_HASH_KEY = "fivestar-default-id-key"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


N = TypeVar("N", int, float)


def _number(name: str, default: N, kind: type[N]) -> N:
    """A numeric setting; a value that is no number is a ConfigError naming the variable."""
    raw = _env(name)
    if raw is None:
        return default
    try:
        return kind(raw.strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name}={raw!r} is not {what}") from None


def _flag(name: str) -> bool:
    return (_env(name, "false") or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    warehouse_url: str
    raw_dir: Path
    processed_dir: Path
    config_dir: Path
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    id_hash_key: str = DEFAULT_ID_HASH_KEY
    it_alert_email: str | None = None
    it_alert_webhook: str | None = None
    # Where per-county work runs (fivestar/runtime): "local", "dask" (a local cluster of
    # `dask_workers` processes) or the address of a running Dask scheduler.
    task_runner: str = "local"
    dask_workers: int = 2
    # Alerts (fivestar/alerts/policy.py): seconds one run may spend delivering alerts
    # (what is not tried by then waits for the next run), parallel deliveries, and when
    # an undelivered alert is given up (failed attempts across runs, or its age).
    alert_budget_s: float = 60.0
    alert_workers: int = 8
    alert_max_attempts: int = 6
    alert_max_age_hours: float = 72.0
    # A file is taken once unmodified for this long (one still being written is not read
    # half-way); 0 takes every file at once.
    settle_seconds: float = 60.0
    # Each run's alert stage sends the reminders (催报) and city lists due
    # (config/deadlines.yaml); off: none are sent (e.g. while the province reminds by other means).
    reminders: bool = True
    # `fivestar watch`: seconds between two looks at the raw folder.
    watch_interval_s: float = 2.0
    # Archive and feedback folders/files readable by the group too (0750/0640, else 0700/0600).
    share_group: bool = False
    # PostgreSQL: a run upgrades a warehouse behind head itself (else `fivestar db upgrade`).
    auto_upgrade: bool = False

    @property
    def archive_dir(self) -> Path:
        return self.processed_dir / "archive"

    @property
    def feedback_dir(self) -> Path:
        return self.processed_dir / "feedback"

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def id_hash_key_is_default(self) -> bool:
        return self.id_hash_key == DEFAULT_ID_HASH_KEY


def id_hash_key_refusal(s: Settings) -> str | None:
    """Why a run must not start with the built-in ID hash key (one line), or None.

    Refused on PostgreSQL (a shared warehouse) and with e-mail configured (hashes leave the
    machine); the SQLite quickstart may run with it (the CLI warns).
    """
    if not s.id_hash_key_is_default:
        return None
    where = [
        *(["on a PostgreSQL warehouse"] if s.warehouse_url.lower().startswith("postgres") else []),
        *(["with e-mail configured (FIVESTAR_SMTP_HOST)"] if s.email_enabled else []),
    ]
    if not where:
        return None
    return (
        f"Refusing to start: FIVESTAR_ID_HASH_KEY is not set, and fivestar will not run {' and '.join(where)}, because "
        "resident-ID hashes made with the built-in key can be reversed. Set FIVESTAR_ID_HASH_KEY "
        "to a long random secret (e.g. from `python3 -c 'import secrets; print(secrets.token_hex(32))'`) "
        "and keep it unchanged between runs."
    )


def load_settings() -> Settings:
    return Settings(
        warehouse_url=_env("FIVESTAR_WAREHOUSE_URL", "sqlite:///data/processed/warehouse.db") or "",
        raw_dir=Path(_env("FIVESTAR_RAW_DIR", "data/raw") or "data/raw"),
        processed_dir=Path(_env("FIVESTAR_PROCESSED_DIR", "data/processed") or "data/processed"),
        config_dir=Path(_env("FIVESTAR_CONFIG_DIR", "config") or "config"),
        smtp_host=_env("FIVESTAR_SMTP_HOST"),
        smtp_port=_number("FIVESTAR_SMTP_PORT", 25, int),
        smtp_from=_env("FIVESTAR_SMTP_FROM", "fivestar@localhost"),
        smtp_user=_env("FIVESTAR_SMTP_USER"),
        smtp_password=_env("FIVESTAR_SMTP_PASSWORD"),
        smtp_starttls=(_env("FIVESTAR_SMTP_STARTTLS", "false") or "").lower() in ("1", "true", "yes", "on"),
        id_hash_key=_env("FIVESTAR_ID_HASH_KEY", DEFAULT_ID_HASH_KEY) or DEFAULT_ID_HASH_KEY,
        it_alert_email=_env("FIVESTAR_IT_ALERT_EMAIL"),
        it_alert_webhook=_env("FIVESTAR_IT_ALERT_WEBHOOK"),
        task_runner=(_env("FIVESTAR_TASK_RUNNER", "local") or "local").strip(),
        dask_workers=_number("FIVESTAR_DASK_WORKERS", 2, int),
        alert_budget_s=_number("FIVESTAR_ALERT_BUDGET_SECONDS", 60, float),
        alert_workers=_number("FIVESTAR_ALERT_WORKERS", 8, int),
        alert_max_attempts=_number("FIVESTAR_ALERT_MAX_ATTEMPTS", 6, int),
        alert_max_age_hours=_number("FIVESTAR_ALERT_MAX_AGE_HOURS", 72, float),
        settle_seconds=max(0.0, _number("FIVESTAR_SETTLE_SECONDS", 60, float)),
        reminders=(_env("FIVESTAR_REMINDERS", "true") or "").strip().lower() in ("1", "true", "yes", "on"),
        watch_interval_s=max(0.1, _number("FIVESTAR_WATCH_INTERVAL_SECONDS", 2, float)),
        share_group=_flag("FIVESTAR_SHARE_GROUP"),
        auto_upgrade=_flag("FIVESTAR_AUTO_UPGRADE"),
    )


# ------------------------------------------------------------------ admin commands
@dataclass(frozen=True)
class AdminSettings:
    """What `fivestar roles` and `fivestar rekey` read (never needed by a run)."""

    admin_url: str | None  # FIVESTAR_ADMIN_URL, else FIVESTAR_WAREHOUSE_URL: a superuser connection
    role_prefix: str = "fivestar"  # FIVESTAR_ROLE_PREFIX
    loader_password: str | None = None  # FIVESTAR_LOADER_PASSWORD
    reporting_password: str | None = None  # FIVESTAR_REPORTING_PASSWORD
    county_passwords: dict[str, str] = field(default_factory=dict)  # FIVESTAR_COUNTY_PASSWORD_<code>
    new_id_hash_key: str = ""  # FIVESTAR_NEW_ID_HASH_KEY (fivestar rekey)


def load_admin_settings(environ: dict[str, str] | None = None) -> AdminSettings:
    env = dict(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name)
        return value if value not in (None, "") else None

    return AdminSettings(
        admin_url=get("FIVESTAR_ADMIN_URL") or get("FIVESTAR_WAREHOUSE_URL"),
        role_prefix=get("FIVESTAR_ROLE_PREFIX") or "fivestar",
        loader_password=get("FIVESTAR_LOADER_PASSWORD"),
        reporting_password=get("FIVESTAR_REPORTING_PASSWORD"),
        county_passwords={
            k.rsplit("_", 1)[-1]: v for k, v in env.items() if k.startswith("FIVESTAR_COUNTY_PASSWORD_") and v
        },
        new_id_hash_key=get("FIVESTAR_NEW_ID_HASH_KEY") or "",
    )


def schedule_cron(default: str = "0 2 * * *") -> str:
    """The nightly cron: FIVESTAR_SCHEDULE_CRON when set, else 02:00 every day."""
    return (_env("FIVESTAR_SCHEDULE_CRON") or "").strip() or default
