"""Alert delivery: Chinese messages → e-mail (SMTP) and chat/webhook robots.

In: a county's submission outcome and findings (or a run digest), Settings and contacts.
Out: delivery records for the warehouse table alert_delivery. Nothing here raises on a
failed delivery; the caller decides when to send (once per county and file version,
keyed by `Message.alert_key`).
"""

from fivestar.alerts.compose import (
    Message,
    digest_alert_key,
    digest_message,
    submission_alert_key,
    submission_message,
)
from fivestar.alerts.deliver import (
    Target,
    deliver_digest,
    deliver_submission_alert,
    delivery_targets,
    redact_url,
    sent_targets,
)
from fivestar.alerts.email import build_email, send_email
from fivestar.alerts.webhook import WebhookError, build_payload, post_webhook, webhook_kind

__all__ = [
    "Message",
    "Target",
    "WebhookError",
    "build_email",
    "build_payload",
    "deliver_digest",
    "deliver_submission_alert",
    "delivery_targets",
    "digest_alert_key",
    "digest_message",
    "post_webhook",
    "redact_url",
    "send_email",
    "sent_targets",
    "submission_alert_key",
    "submission_message",
    "webhook_kind",
]
