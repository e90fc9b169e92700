"""alertmanager.yml as a pure function of the receivers and their secrets.

The file holds the receivers' URLs and the SMTP password, so it is uploaded as a secret (never
in env, never in the stack file). Kept within what both the pinned Alertmanager 0.28 and
Debian 12's 0.25 accept (`amtool check-config` of each): `matchers` in the classic form both
parsers read (0.27's UTF-8 parser falls back to it), `webhook_configs`, `email_configs`; no
`url_file`-style options newer than 0.25 and no receiver types newer than 0.25 (ntfy has none
in either: it is sent as a webhook to the topic's URL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stack.render import yamltext
from stack.settings.monitoring import Receiver

NULL_RECEIVER = "ai-stack-log-only"
"""The default route's receiver when none is declared: alerts show in Alertmanager's UI only."""


def _receiver(r: Receiver, secrets: Mapping[str, str]) -> dict[str, Any]:
    if r.type == "email":
        return {
            "name": r.name,
            "email_configs": [
                {
                    "to": r.to,
                    "from": r.from_address,
                    "smarthost": r.smarthost,
                    **({"auth_username": r.username} if r.username else {}),
                    "auth_password": secrets[r.name],
                    "require_tls": True,
                    "send_resolved": True,
                }
            ],
        }
    config: dict[str, Any] = {"url": secrets[r.name], "send_resolved": True}
    token = secrets.get(f"{r.name}-token")
    if r.type == "ntfy" and token:
        # ntfy takes its access token as a bearer token (ntfy docs, "Access tokens").
        config["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    return {"name": r.name, "webhook_configs": [config]}


def render_alertmanager_config(receivers: Sequence[Receiver], secrets: Mapping[str, str]) -> str:
    """Every alert goes to every receiver whose `severity` it reaches (`continue: true`)."""
    routes = [
        {
            "receiver": r.name,
            "matchers": ['severity="critical"'] if r.severity == "critical" else ['severity=~"warning|critical"'],
            "continue": True,
        }
        for r in receivers
    ]
    doc: dict[str, Any] = {
        "route": {
            "receiver": NULL_RECEIVER,
            "group_by": ["alertname", "host", "service"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            **({"routes": routes} if routes else {}),
        },
        "receivers": [{"name": NULL_RECEIVER}, *(_receiver(r, secrets) for r in receivers)],
    }
    text: str = yamltext.dump(doc, sort_keys=False, default_flow_style=False, width=1000)
    return text
