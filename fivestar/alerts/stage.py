"""The alert stage of a run: this run's alerts, then those still owed, then the IT digest.

In: the warehouse engine (after the run's loads committed), Settings, the registry,
this run's versions to alert (`items`) and its processed rows (for the digest); the
reminders (催报) and city lists due at `now` come from fivestar.alerts.cycle.
Out: delivery records in `alert_delivery` and a summary for the run's result:
    {budget_s, seconds, sent, failed, deferred, given_up, budget_used_up,
     digests_sent, digests_owed}
(counts are targets: one contact address or robot for one alert).

Deliveries run in parallel (fivestar.alerts.parallel) within FIVESTAR_ALERT_BUDGET_SECONDS;
the IT digest has a share of that budget kept for it, so dead county contacts cannot
starve it. What is not tried by then is recorded 'queued' and tried on the next run's
alert stage (after that run's own alerts), never before its loads. A target that keeps failing is given up
after FIVESTAR_ALERT_MAX_ATTEMPTS failed attempts or FIVESTAR_ALERT_MAX_AGE_HOURS
(fivestar.alerts.policy): one 'given_up' record, listed once in that run's IT digest.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar.alerts.closed import (
    late_closed_alert_key,
    late_closed_for,
)
from fivestar.alerts.compose import Message, submission_alert_key, submission_message
from fivestar.alerts.cycle import plan_cycle
from fivestar.alerts.deliver import (
    FAILED,
    GIVEN_UP,
    QUEUED,
    SENT,
    Target,
    delivery_targets,
    email_without_smtp,
    precheck,
)
from fivestar.alerts.digests import DigestInputs, run_digests
from fivestar.alerts.dispatch import (
    TargetState,
    pending_alerts,
    record_deliveries,
    stored_findings,
    target_states,
)
from fivestar.alerts.outbox import save_message, stored_messages
from fivestar.alerts.parallel import Delivery, deliver_all
from fivestar.alerts.policy import Budget, RetryPolicy, as_utc, digest_reserve
from fivestar.alerts.unnamed import plan_unnamed
from fivestar.config import Registry
from fivestar.deadlines import Deadlines
from fivestar.settings import Settings
from fivestar.status import SubmissionStatus

log = logging.getLogger(__name__)
NEW, RETRY, DIGEST = "new", "retry", "digest"


class _Stage:
    """What one run's alert stage planned, delivered and gave up."""

    def __init__(self, engine: Engine, settings: Settings, run_id: str, now: dt.datetime) -> None:
        self.engine, self.settings, self.run_id, self.now = engine, settings, run_id, now
        self.policy = RetryPolicy.from_settings(settings)
        self.states = target_states(engine)
        self.by_key: dict[str, dict[tuple[str, str], TargetState]] = {}
        for (key, channel, recipient), st in self.states.items():
            self.by_key.setdefault(key, {})[(channel, recipient)] = st
        self.tally: Counter[str] = Counter()
        self.records: list[dict[str, Any]] = []
        self.failed_new: list[dict[str, Any]] = []  # this run's alerts that failed (digest)
        self.given_up: list[dict[str, Any]] = []  # county alerts given up in this run (digest)
        self.deferred_by_period: Counter[str] = Counter()

    # ---- recording ---------------------------------------------------------------
    def _record(self, records: list[dict[str, Any]], columns: Mapping[str, Any]) -> None:
        record_deliveries(self.engine, records, **columns)
        self.records += [{**columns, **r} for r in records]

    def give_up(
        self, key: str, channel: str, recipient: str, columns: Mapping[str, Any], attempts: int, reason: str
    ) -> None:
        rec = {
            "alert_key": key,
            "channel": channel,
            "recipient": recipient,
            "attempted_at": self.now.isoformat(timespec="seconds"),
            "attempt": attempts,
            "outcome": GIVEN_UP,
            "error": reason,
        }
        self._record([rec], columns)
        log.warning("alert %s: %s to %s %s", key, channel, recipient, reason)
        if not key.startswith("digest:"):
            self.tally[GIVEN_UP] += 1
            self.given_up.append({**columns, **rec})

    def finish(self, d: Delivery, records: list[dict[str, Any]]) -> None:
        """A delivery is over for this run: record it; give it up when the policy says so."""
        self._record(records, d.columns)
        outcomes = {r["outcome"] for r in records}
        prefix = "digests_" if d.kind == DIGEST else ""
        if SENT in outcomes:
            self.tally[prefix + SENT] += 1
            return
        if QUEUED in outcomes:
            self.tally[prefix + "deferred"] += 1
            if d.kind != DIGEST:
                self.deferred_by_period[str(d.columns.get("period") or "")] += 1
            return
        failures = d.first_attempt - 1 + sum(r["outcome"] == FAILED for r in records)
        st = self.by_key.get(d.msg.alert_key, {}).get((d.target.channel, d.target.recipient))
        first_at = st.first_at if st is not None and st.first_at is not None else records[0]["attempted_at"]
        reason = self.policy.give_up_reason(failures, first_at, self.now)
        if reason:
            self.give_up(
                d.msg.alert_key,
                d.target.channel,
                d.target.recipient,
                d.columns,
                failures,
                f"{reason}; last error: {records[-1]['error']}",
            )
            return
        self.tally[prefix + FAILED] += 1
        if d.kind == NEW:
            self.failed_new.append({**d.columns, **records[-1]})

    # ---- planning ----------------------------------------------------------------
    def plan(
        self,
        msg: Callable[[], Message],
        targets: Iterable[Target],
        columns: Mapping[str, Any],
        kind: str,
        attachments: tuple[Path, ...] = (),
    ) -> list[Delivery]:
        """Deliveries still owed for one alert key; gives up those the policy stops."""
        key = str(columns["alert_key"])
        columns = {k: v for k, v in columns.items() if k != "alert_key"}
        states = self.by_key.get(key, {})
        targets = list(targets)
        owed = [t for t in targets if not states.get((t.channel, t.recipient), TargetState()).done]
        current = {(t.channel, t.recipient) for t in targets}
        # A target no longer among the contacts (submitters.csv changed) is still owed
        # until the policy gives it up; it can no longer be tried.
        for (channel, recipient), st in states.items():
            if not st.done and (channel, recipient) not in current:
                reason = self.policy.give_up_reason(st.attempts, st.first_at, self.now)
                if reason:
                    self.give_up(key, channel, recipient, columns, st.attempts, reason)
        if not owed:
            return []
        try:
            message = msg()
        except Exception as exc:  # one alert that cannot be built must not stop the others
            log.error("alert %s: cannot build the message: %s: %s", key, type(exc).__name__, exc)
            for t in owed:  # still owed, but not forever
                st = states.get((t.channel, t.recipient), TargetState())
                reason = self.policy.give_up_reason(st.attempts, st.first_at, self.now)
                if reason:
                    self.give_up(key, t.channel, t.recipient, columns, st.attempts, reason)
            return []
        out: list[Delivery] = []
        for t in owed:
            st = states.get((t.channel, t.recipient), TargetState())
            problem = precheck(t)
            if problem:  # no retry can fix it: one failed record, given up at once
                self._record(
                    [
                        {
                            "alert_key": key,
                            "channel": t.channel,
                            "recipient": t.recipient,
                            "attempted_at": self.now.isoformat(timespec="seconds"),
                            "attempt": st.attempts + 1,
                            "outcome": FAILED,
                            "error": problem,
                        }
                    ],
                    columns,
                )
                self.give_up(key, t.channel, t.recipient, columns, st.attempts + 1, f"given up: {problem}")
                continue
            reason = self.policy.give_up_reason(st.attempts, st.first_at, self.now)
            if reason:
                self.give_up(key, t.channel, t.recipient, columns, st.attempts, reason)
                continue
            tries = self.policy.tries_now(st.attempts)
            out.append(Delivery(message, t, attachments, tries, st.attempts + 1, columns, kind))
        return out

    def plan_submission(
        self,
        registry: Registry,
        kind: str,
        *,
        county_code: str,
        period: str,
        version: int,
        status: str,
        findings: Callable[[], pd.DataFrame] | pd.DataFrame,
        attachment: Path | None,
    ) -> list[Delivery]:
        # A superseded version owes the county nothing: a newer version of the same month is
        # accepted and its own alert is what the county acts on (e.g. under `run --force`).
        if status == SubmissionStatus.SUPERSEDED:
            return []
        try:
            targets = delivery_targets(self.settings, registry.contacts_of(county_code))
        except Exception as exc:  # a malformed contacts frame must not stop the run
            log.error("alert for %s %s v%s: cannot read contacts: %s", county_code, period, version, exc)
            return []
        if status == SubmissionStatus.LATE_CLOSED:
            return self.plan_late_closed(registry, targets, kind, county_code, period, version)

        def build() -> Message:
            frame = findings() if callable(findings) else findings
            return submission_message(
                county_code,
                registry.county_name(county_code) or county_code,
                period,
                version,
                status,
                frame.assign(county_code=county_code),
                workbook_name=attachment.name if attachment else None,
            )

        columns = {
            "alert_key": submission_alert_key(county_code, period, version),
            "run_id": self.run_id,
            "county_code": county_code,
            "period": period,
            "version": int(version),
        }
        return self.plan(build, targets, columns, kind, (attachment,) if attachment else ())

    def plan_late_closed(
        self,
        registry: Registry,
        targets: list[Target],
        kind: str,
        county_code: str,
        period: str,
        version: int,
    ) -> list[Delivery]:
        """The county is told its file arrived for a closed month, and whom to ask."""

        def build() -> Message:
            return late_closed_for(registry, self.engine, county_code, period, version)

        columns = {
            "alert_key": late_closed_alert_key(county_code, period, version),
            "run_id": self.run_id,
            "county_code": county_code,
            "period": period,
            "version": int(version),
        }
        return self.plan(build, targets, columns, kind)

    def plan_digests(self) -> list[Delivery]:
        it = pd.DataFrame(
            [
                {
                    "county_code": "",
                    "name": "IT",
                    "email": self.settings.it_alert_email or "",
                    "webhook_url": self.settings.it_alert_webhook or "",
                }
            ]
        )
        targets = delivery_targets(self.settings, it)
        finished = {
            key
            for key, states in self.by_key.items()
            if key.startswith("digest:")
            and all(states.get((t.channel, t.recipient), TargetState()).done for t in targets)
        }
        out: list[Delivery] = []
        for row in stored_messages(self.engine, exclude=finished):
            msg: Message = row["message"]
            columns = {"alert_key": msg.alert_key, "run_id": self.run_id, "period": row["period"]}
            out += self.plan(lambda msg=msg: msg, targets, columns, DIGEST)
        return out


def _log_email_off(settings: Settings, registry: Registry, counties: set[str]) -> None:
    """One line per run, not one per contact, when e-mail addresses go unused."""
    try:
        n = sum(email_without_smtp(settings, registry.contacts_of(c)) for c in counties)
    except Exception:  # a malformed contacts frame is reported where the alert is planned
        return
    if n:
        log.info(
            "SMTP not configured (FIVESTAR_SMTP_HOST): e-mail skipped for %d contacts of %d counties",
            n,
            len(counties),
        )


def alert_stage(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    *,
    run_id: str,
    items: list[dict[str, Any]],
    processed: list[dict[str, Any]],
    now: dt.datetime | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    deadlines: Deadlines | None = None,
    unnamed: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Send this run's alerts (`items`: county_code, period, version, status, findings,
    attachment), retry those still owed, then the IT digest; all within the budget.

    `processed` = the run's per-version rows (county_code, period, version, status,
    errors, warnings, file_name), for the digest. `now` (aware, default the current time)
    is what the retry policy and 'given_up' records use; `clock` times the budget.
    Returns {"records": [...], "summary": {...}} (see the module docstring).
    """
    from fivestar.feedback.workbook import feedback_path

    now = as_utc(now) if now is not None else dt.datetime.now(dt.UTC)
    stage = _Stage(engine, settings, run_id, now)
    # The monthly cycle (reminders, city lists) is planned first, outside the time budget:
    # writing the templates the reminders carry must not leave the deliveries no time.
    cycle = plan_cycle(stage.plan, stage.by_key, engine, settings, registry, run_id=run_id, now=now)
    total = Budget(settings.alert_budget_s, clock)
    digest_on = bool(settings.it_alert_email or settings.it_alert_webhook)
    reserve = digest_reserve(total.seconds)
    county_budget = total.until(reserve) if digest_on else total

    # This run's versions first, then the older ones still owed (first come, first tried).
    plan: list[Delivery] = []
    seen: set[tuple[str, str, int]] = set()
    for kw in items:
        seen.add((kw["county_code"], kw["period"], int(kw["version"])))
        plan += stage.plan_submission(registry, NEW, **kw)
    _log_email_off(settings, registry, {kw["county_code"] for kw in items})
    for p in pending_alerts(engine):
        key = (p["county_code"], p["period"], int(p["version"]))
        if key in seen:
            continue
        seen.add(key)
        attachment = feedback_path(settings.feedback_dir, key[1], key[0], key[2], p["status"])
        plan += stage.plan_submission(
            registry,
            RETRY,
            county_code=key[0],
            period=key[1],
            version=key[2],
            status=p["status"],
            findings=lambda key=key: stored_findings(engine, *key),
            attachment=attachment if attachment.exists() else None,
        )
    plan += cycle  # then the monthly cycle's reminders (催报) and city lists, each key once
    # Files named without a county code that several counties could own: each is told how to name it.
    plan += plan_unnamed(stage.plan, settings, registry, unnamed or [], run_id=run_id)
    workers = max(1, int(settings.alert_workers))
    deliver_all(settings, plan, county_budget, stage.finish, workers=workers, sleep=sleep)
    budget_used_up = county_budget.spent() or stage.tally["deferred"] > 0

    if digest_on:
        inputs = DigestInputs(run_id, now, stage.given_up, stage.failed_new, stage.deferred_by_period)
        for period, msg in run_digests(engine, settings, registry, processed, inputs, deadlines):
            save_message(engine, msg, period, now)
        # The digest gets at least its reserve, even if writing the records took some of it.
        digest_budget = total if total.remaining() >= reserve else Budget(reserve, clock)
        deliver_all(settings, stage.plan_digests(), digest_budget, stage.finish, workers=workers, sleep=sleep)

    t = stage.tally
    summary = {
        "budget_s": total.seconds,
        "seconds": round(total.elapsed(), 2),
        "sent": t[SENT],
        "failed": t[FAILED],
        "deferred": t["deferred"],
        "given_up": t[GIVEN_UP],
        "budget_used_up": bool(budget_used_up),
        "digests_sent": t["digests_" + SENT],
        "digests_owed": t["digests_" + FAILED] + t["digests_deferred"],
    }
    if plan or t[GIVEN_UP] or digest_on:
        log.info(
            "alerts: %d sent, %d failed, %d put off to the next run, %d given up in %.1f s (budget %g s)",
            t[SENT],
            t[FAILED],
            t["deferred"],
            t[GIVEN_UP],
            summary["seconds"],
            total.seconds,
        )
    if budget_used_up:
        log.warning(
            "alerts: the alert time budget (%g s) ran out; %d deliveries wait for the next run",
            total.seconds,
            t["deferred"],
        )
    return {"records": stage.records, "summary": summary}
