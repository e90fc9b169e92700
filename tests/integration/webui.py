"""The real Open WebUI (the PyPI wheel of the pinned image's version) on 127.0.0.1.

Helpers of tests/integration/test_open_webui.py. The venv is made by `scripts/bootstrap.sh dev`
under ~/.cache/ai-stack/venvs/open-webui-<version>, the version read from the image pin in
stack/constants.py (one place). The process runs with the environment the program declares
for the container, changed only where running outside the image, on loopback and offline
requires it (`run_env`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack import constants
from stack.constants import SECRETS_DIR
from tests.integration.it_support import LOOPBACK, Background, http_request, unavailable, wait_for

STARTUP_TIMEOUT = 120.0  # measured 9.5-12 s from start to /health on 2 cores


def release() -> str:
    """The open-webui release of the pinned image: ghcr.io/open-webui/open-webui:v0.11.1 -> 0.11.1."""
    return constants.IMAGES["open_webui"].rsplit(":", 1)[1].removeprefix("v")


def venv_dir() -> Path:
    """Where scripts/bootstrap.sh puts it (same expression as there)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ai-stack" / "venvs" / f"open-webui-{release()}"


def installed_version(venv: Path) -> str | None:
    """open-webui's version in `venv` (from its dist-info, without importing it)."""
    found = sorted(venv.glob("lib/python3*/site-packages/open_webui-*.dist-info"))
    if not found:
        return None
    for line in (found[-1] / "METADATA").read_text().splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def open_webui_binary() -> str:
    venv = venv_dir()
    binary = venv / "bin" / "open-webui"
    if not binary.is_file():
        unavailable(f"the real Open WebUI is not installed at {venv} (scripts/bootstrap.sh dev)")
    version = installed_version(venv)
    if version != release():
        unavailable(f"{venv} holds open-webui {version}, the pinned image is {release()}")
    return str(binary)


def chromium_binary() -> str:
    # Debian's chromium; on GitHub's Ubuntu runners, the preinstalled Google Chrome.
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    unavailable("chromium is not installed (apt-get install chromium)")


# What the image sets in its Dockerfile and `open-webui serve` does not: the image is built
# for production (ENV=prod: no /docs) and without telemetry.
IMAGE_ENV = {
    "ENV": "prod",
    "ANONYMIZED_TELEMETRY": "false",
    "DO_NOT_TRACK": "true",
    "SCARF_NO_ANALYTICS": "true",
}

# Only for this machine, which has no internet: never try Hugging Face, never check for updates,
# never pip-install tool requirements (OFFLINE_MODE, open_webui/env.py); anything that still
# tries an outside URL hits a closed port on loopback.
OFFLINE_ENV = {
    "OFFLINE_MODE": "true",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HTTP_PROXY": f"http://{LOOPBACK}:9",
    "HTTPS_PROXY": f"http://{LOOPBACK}:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


def run_env(declared: dict[str, str], *, data_dir: Path, litellm_url: str, extra_origins: list[str]) -> dict[str, str]:
    """The declared env with only the changes a loopback run needs; every change is listed here."""
    env = dict(declared)
    env["OPENAI_API_BASE_URL"] = f"{litellm_url}/v1"  # the real LiteLLM on loopback, same /v1 suffix
    if "RAG_OPENAI_API_BASE_URL" in env:  # documents are embedded through the same LiteLLM
        env["RAG_OPENAI_API_BASE_URL"] = f"{litellm_url}/v1"
    env["DATA_DIR"] = str(data_dir)  # the image's is /app/backend/data (the volume)
    # Open WebUI empties and refills its static dir at every start (config.py, 0.11.1); the
    # default is inside the shared venv, so two instances on one machine would break each
    # other's pages. In the image there is one instance per container.
    env["STATIC_DIR"] = str(data_dir.parent / f"{data_dir.name}-static")
    env["CORS_ALLOW_ORIGIN"] = ";".join([*declared["CORS_ALLOW_ORIGIN"].split(";"), *extra_origins])
    env.update(IMAGE_ENV)
    env.update(OFFLINE_ENV)
    return env


def write_secrets(uploads: list[dict[str, str]], secrets_dir: Path) -> None:
    """The container's uploaded secret files, into a directory of this machine."""
    secrets_dir.mkdir(parents=True, exist_ok=True)
    for upload in uploads:
        (secrets_dir / Path(upload["file"]).name).write_text(upload["content"])


@dataclass
class Webui:
    """One `open-webui serve` process, started by the declared wrapper (stack/render/open_webui.py:
    secrets from files); `restart()` replaces it on the same data, env and files."""

    binary: str
    env: dict[str, str]
    data_dir: Path
    port: int
    logs: Path
    secrets_dir: Path
    wrapper: str
    """The declared wrapper's prelude; the final `exec bash start.sh` becomes the wheel's serve."""
    traefik_port: int = 0
    """The websecure port of the Traefik in front (its origin is allowed by CORS)."""
    process: Background | None = None
    boots: int = 0
    last_boot_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self.boots += 1
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(self.env)
        env["HOME"] = str(self.data_dir.parent)
        # Its temporary files in the test's own directory: torch (imported by Open WebUI) would
        # otherwise leave /tmp/torchinductor_<user> behind (tempfile.gettempdir()).
        tmp = self.data_dir.parent / "tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp)
        started = time.monotonic()
        # The declared wrapper with only the secrets' directory moved here and the image's
        # `bash start.sh` replaced by the wheel's `open-webui serve`.
        prelude = self.wrapper.replace(SECRETS_DIR + "/", f"{self.secrets_dir}/")
        assert prelude.endswith("exec bash start.sh\n"), prelude[-80:]
        prelude = prelude.removesuffix("exec bash start.sh\n")
        serve = f'exec "$0" serve --host {LOOPBACK} --port {self.port}'
        self.process = Background.start(
            f"open-webui (boot {self.boots})",
            ["bash", "-c", prelude + serve, self.binary],
            log=self.logs / f"open-webui-{self.boots}.log",
            env=env,
            cwd=self.data_dir,  # serve writes .webui_secret_key here if the key were missing
        )
        try:
            wait_for(
                "Open WebUI /health",
                lambda: http_request(self.port, "/health", timeout=3).status == 200,
                timeout=STARTUP_TIMEOUT,
                alive=self.process.dead,
            )
        except BaseException:
            print(self.process.tail(80))
            self.stop()
            raise
        self.last_boot_seconds = time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=20)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def request(
        self, method: str, path: str, *, token: str | None = None, payload: Any = None, origin: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if origin:
            headers["Origin"] = origin
        body = json.dumps(payload).encode() if payload is not None else None
        reply = http_request(self.port, path, method=method, headers=headers, body=body, timeout=30)
        try:
            return reply.status, reply.json()
        except json.JSONDecodeError:
            return reply.status, reply.text


def screenshot(chromium: str, url: str, out: Path, *, profile: Path, resolve: dict[str, int]) -> str:
    """Headless Chromium loads `url` and saves a PNG; host names in `resolve` go to 127.0.0.1:port."""
    rules = ",".join(f"MAP {host} {LOOPBACK}:{port}" for host, port in resolve.items())
    argv = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--ignore-certificate-errors",  # Traefik's self-signed default certificate
        f"--host-resolver-rules={rules},EXCLUDE localhost",
        "--proxy-server=direct://",
        f"--user-data-dir={profile}",
        # The console on stderr too, where a sub-resource's net::ERR_NETWORK_CHANGED shows.
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,800",
        "--virtual-time-budget=15000",  # let the single-page app render the sign-in form
        f"--screenshot={out}",
        url,
    ]
    for _ in range(3):
        res = subprocess.run(argv, capture_output=True, timeout=90, check=False, start_new_session=True)
        log = (res.stdout + res.stderr).decode(errors="replace")
        # Chromium abandons a load when the machine's interfaces change (another engine adding a
        # bridge): that is the machine, not the page, so try again (bounded).
        if "ERR_NETWORK_CHANGED" not in log:
            break
        out.unlink(missing_ok=True)
    assert res.returncode == 0 and out.is_file(), f"chromium failed ({res.returncode}):\n{log[-3000:]}"
    assert "Page load failed" not in log, f"chromium could not load {url}:\n{log[-3000:]}"
    return log


def load_page(chromium: str, url: str, *, profile: Path, resolve: dict[str, int]) -> tuple[str, str]:
    """Headless Chromium loads `url`, lets the app run, and prints the DOM it built: (DOM, log).
    The log has the console's messages, Content-Security-Policy violations among them."""
    rules = ",".join(f"MAP {host} {LOOPBACK}:{port}" for host, port in resolve.items())
    argv = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--ignore-certificate-errors",
        f"--host-resolver-rules={rules},EXCLUDE localhost",
        "--proxy-server=direct://",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    for _ in range(3):
        res = subprocess.run(argv, capture_output=True, timeout=90, check=False, start_new_session=True)
        log = res.stderr.decode(errors="replace")
        if "ERR_NETWORK_CHANGED" not in log:
            break
    assert res.returncode == 0, f"chromium failed ({res.returncode}):\n{log[-3000:]}"
    return res.stdout.decode(errors="replace"), log
