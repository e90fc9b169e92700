"""The backup block: when, how many, and where (`ai-stack:backup`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, StrictBool, field_validator

from stack.settings import cron
from stack.settings.services import Limits, _Model
from stack.settings.units import Cpus, MiB

# restic's S3 repository forms (restic internal/backend/s3/config.go ParseConfig, v0.18.0):
# s3:http(s)://host[:port]/bucket[/prefix], or s3:host/bucket[/prefix] and s3://host/bucket[/prefix]
# (HTTPS to that host, e.g. s3:s3.amazonaws.com/bucket). The bucket is required (createConfig
# accepts an empty one, and the first backup then fails).
_S3_URL = re.compile(r"^s3:https?://[^\s/@]+/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._/-]*)?$")
_S3_HOST = re.compile(
    r"^s3:(?://)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._/-]*)?$"
)


class Retention(_Model):
    """Which snapshots `restic forget --prune` keeps after every backup."""

    keep_daily: int = Field(default=7, ge=1, le=3650)
    keep_weekly: int = Field(default=4, ge=0, le=520)
    keep_monthly: int = Field(default=6, ge=0, le=240)

    def forget_args(self) -> list[str]:
        return [
            "--keep-daily",
            str(self.keep_daily),
            "--keep-weekly",
            str(self.keep_weekly),
            "--keep-monthly",
            str(self.keep_monthly),
        ]


class Backup(Limits):
    """Scheduled backups: off on the laptop profile, on for a server (set `enabled` to override).

    `cpus`/`memory` bound each backup step's container (one runs at a time).
    """

    cpus: Cpus = 0.5
    memory: MiB = 512
    enabled: StrictBool | None = None
    schedule: str = "15 3 * * *"
    """busybox crond syntax, in the host's UTC unless TZ is set: five fields or @daily."""
    retention: Retention = Retention()
    target: Literal["volume", "s3"] = "volume"
    s3_repository: str | None = None
    """restic's S3 form, `s3:https://host/bucket/prefix`; keys come from the secrets
    ai-stack:backupS3AccessKey and ai-stack:backupS3SecretKey."""

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, schedule: str) -> str:
        try:
            return cron.parse(schedule).line
        except cron.CronError as err:
            raise ValueError(f"{err} (busybox crond's schedule, e.g. '15 3 * * *' or @daily)") from None

    @field_validator("s3_repository")
    @classmethod
    def _s3(cls, repo: str | None) -> str | None:
        if repo is not None and not (_S3_URL.match(repo) or (_S3_HOST.match(repo) and not repo.startswith("s3:http"))):
            raise ValueError(
                "s3Repository must be restic's S3 form with a bucket, such as s3:s3.amazonaws.com/bucket/ai-stack "
                f"or s3:https://s3.example.com/bucket/ai-stack; got {repo!r}"
            )
        return repo

    def next_run(self) -> str:
        """When crond starts the next backup, for the preview."""
        return cron.describe(cron.parse(self.schedule))


SCHEDULER_LIMITS = Limits.model_validate({"cpus": 0.1, "memory": "64Mi"})
"""The idle scheduler (crond and the Docker CLI); the steps it starts use `backup`'s limits."""
