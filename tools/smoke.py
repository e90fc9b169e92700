"""Post-deploy smoke checks against a running stack (`make smoke STACK=dev`).

    python -m tools.smoke --stack dev [--insecure] [--timeout 10]
    python -m tools.smoke --outputs outputs.json     # JSON as printed by the command below

Reads the stack outputs with `pulumi stack output --json --show-secrets --stack <stack>` and
checks, one line each (PASS/FAIL name - reason):
- Open WebUI  GET {webuiUrl}/health answers {"status": true};
- LiteLLM     GET {litellmUrl}/health/liveliness answers 200;
- LiteLLM     GET {litellmUrl}/v1/models with the master key lists every model in `models`;
- Ollama      every instance of `ollamaInstances` answers and has the models it serves
              (tools/smoke_ollama.py: through its gate, its loopback port, or `docker exec`);
              stacks deployed before instances existed: GET {ollamaUrl}/api/tags.
Exit status: 0 when every check passes, 1 when one fails, 2 when the outputs cannot be read.
The master key is sent, never printed: every line is scrubbed of it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

DEFAULT_TIMEOUT = 10.0
REDACTED = "***"


class SmokeError(Exception):
    """The stack outputs could not be read."""


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str

    def line(self, secrets: Sequence[str] = ()) -> str:
        return redact(f"{'PASS' if self.ok else 'FAIL'} {self.name} - {self.detail}", secrets)


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


# --------------------------------------------------------------------------- outputs


def read_outputs(stack: str | None, outputs_file: str | None, pulumi: str = "pulumi") -> dict[str, Any]:
    if outputs_file:
        try:
            data = json.loads(Path(outputs_file).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise SmokeError(f"cannot read outputs from {outputs_file}: {err}") from None
    else:
        if not stack:
            raise SmokeError("give --stack NAME (or --outputs FILE)")
        argv = [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack]
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        except FileNotFoundError:
            raise SmokeError(f"`{pulumi}` not found: install the Pulumi CLI or use --outputs FILE") from None
        except subprocess.TimeoutExpired:
            raise SmokeError("`pulumi stack output` did not answer within 120s") from None
        if res.returncode != 0:
            raise SmokeError(f"`pulumi stack output --stack {stack}` failed: {res.stderr.strip()[-500:]}")
        try:
            data = json.loads(res.stdout)
        except json.JSONDecodeError as err:
            raise SmokeError(f"`pulumi stack output` printed no JSON: {err}") from None
    if not isinstance(data, dict):
        raise SmokeError("the stack outputs are not a JSON object")
    return data


# --------------------------------------------------------------------------- checks


class CheckFailedError(Exception):
    pass


def _get(
    session: requests.Session, url: str, timeout: float, headers: dict[str, str] | None = None
) -> requests.Response:
    try:
        # verify is passed per request: a session-level False loses to REQUESTS_CA_BUNDLE.
        return session.get(url, headers=headers or {}, timeout=timeout, allow_redirects=True, verify=session.verify)
    except requests.exceptions.SSLError as err:
        raise CheckFailedError(
            f"TLS verification failed for {url} ({_short(err)}); --insecure accepts a self-signed certificate"
        ) from None
    except requests.exceptions.ConnectTimeout:
        raise CheckFailedError(f"no connection to {url} within {timeout:g}s") from None
    except requests.exceptions.ReadTimeout:
        raise CheckFailedError(f"no answer from {url} within {timeout:g}s") from None
    except requests.exceptions.ConnectionError as err:
        raise CheckFailedError(f"cannot connect to {url}: {_short(err)}") from None
    except requests.exceptions.RequestException as err:
        raise CheckFailedError(f"request to {url} failed: {_short(err)}") from None


def _short(err: BaseException, limit: int = 200) -> str:
    text = str(err)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise CheckFailedError(
            f"{resp.url} answered HTTP {resp.status_code} with a body that is not JSON: {resp.text[:120]!r}"
        ) from None


def _url(outputs: dict[str, Any], key: str) -> str:
    value = outputs.get(key)
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise CheckFailedError(f"stack output `{key}` is missing or not a URL")
    return value.rstrip("/")


def _models(outputs: dict[str, Any]) -> list[str]:
    models = outputs.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        raise CheckFailedError("stack output `models` is missing or not a list of model names")
    return models


def _ollama_name(name: str) -> str:
    """Ollama reports `model:tag`; a name declared without a tag means `:latest`."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def check_webui(outputs: dict[str, Any], session: requests.Session, timeout: float) -> str:
    url = _url(outputs, "webuiUrl") + "/health"
    resp = _get(session, url, timeout)
    if resp.status_code != 200:
        raise CheckFailedError(f"{url} answered HTTP {resp.status_code}")
    body = _json(resp)
    if not (isinstance(body, dict) and body.get("status") is True):
        raise CheckFailedError(f'{url} answered {str(body)[:120]}, not {{"status": true}}')
    return f"{url} healthy"


def check_litellm_live(outputs: dict[str, Any], session: requests.Session, timeout: float) -> str:
    url = _url(outputs, "litellmUrl") + "/health/liveliness"
    resp = _get(session, url, timeout)
    if resp.status_code != 200:
        raise CheckFailedError(f"{url} answered HTTP {resp.status_code}")
    return f"{url} alive"


def check_litellm_models(outputs: dict[str, Any], session: requests.Session, timeout: float) -> str:
    url = _url(outputs, "litellmUrl") + "/v1/models"
    key = outputs.get("litellmMasterKey")
    if not isinstance(key, str) or not key:
        raise CheckFailedError("stack output `litellmMasterKey` is missing (read outputs with --show-secrets)")
    declared = _models(outputs)
    resp = _get(session, url, timeout, headers={"Authorization": f"Bearer {key}"})
    if resp.status_code in (400, 401, 403):
        raise CheckFailedError(f"{url} refused the master key (HTTP {resp.status_code})")
    if resp.status_code != 200:
        raise CheckFailedError(f"{url} answered HTTP {resp.status_code}")
    body = _json(resp)
    try:
        listed = {str(m["id"]) for m in body["data"]}
    except (KeyError, TypeError):
        raise CheckFailedError(f"{url} answered without a model list") from None
    missing = [m for m in declared if m not in listed]
    if missing:
        raise CheckFailedError(f"{url} does not list declared model(s): {', '.join(missing)}")
    return f"{url} lists all {len(declared)} declared model(s)"


def check_ollama_tags(outputs: dict[str, Any], session: requests.Session, timeout: float) -> str:
    url = _url(outputs, "ollamaUrl") + "/api/tags"
    declared = _models(outputs)
    resp = _get(session, url, timeout)
    if resp.status_code != 200:
        raise CheckFailedError(f"{url} answered HTTP {resp.status_code}")
    body = _json(resp)
    try:
        present = {_ollama_name(str(m.get("name") or m.get("model"))) for m in body["models"]}
    except (KeyError, TypeError, AttributeError):
        raise CheckFailedError(f"{url} answered without a model list") from None
    missing = [m for m in declared if _ollama_name(m) not in present]
    if missing:
        raise CheckFailedError(f"Ollama has not pulled declared model(s): {', '.join(missing)}")
    return f"{url} has all {len(declared)} declared model(s)"


Check = Callable[[dict[str, Any], requests.Session, float], str]


def checks_for(outputs: dict[str, Any]) -> list[tuple[str, Check]]:
    checks: list[tuple[str, Check]] = [
        ("open-webui health", check_webui),
        ("litellm liveliness", check_litellm_live),
        ("litellm models", check_litellm_models),
    ]
    if "ollamaInstances" in outputs:
        from tools import smoke_ollama

        checks += smoke_ollama.checks(outputs)
    elif "ollamaUrl" in outputs:
        checks.append(("ollama models", check_ollama_tags))
    return checks


def run_checks(
    outputs: dict[str, Any],
    *,
    insecure: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
) -> list[Result]:
    session = session or requests.Session()
    session.verify = not insecure
    if insecure:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    results = []
    for name, check in checks_for(outputs):
        try:
            results.append(Result(name, True, check(outputs, session, timeout)))
        except CheckFailedError as fail:
            results.append(Result(name, False, str(fail)))
    return results


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", help="Pulumi stack whose outputs to read (dev, prod, ...)")
    parser.add_argument(
        "--outputs", metavar="FILE", help="read the outputs from this JSON file instead of `pulumi stack output`"
    )
    parser.add_argument("--insecure", action="store_true", help="accept self-signed TLS certificates")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds per request (default {DEFAULT_TIMEOUT:g})"
    )
    parser.add_argument("--pulumi", default="pulumi", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    try:
        outputs = read_outputs(args.stack, args.outputs, args.pulumi)
    except SmokeError as err:
        print(f"FAIL outputs - {err}")
        return 2
    from tools import smoke_ollama

    secrets = [str(outputs.get("litellmMasterKey") or ""), *smoke_ollama.secrets(outputs)]
    results = run_checks(outputs, insecure=args.insecure, timeout=args.timeout)
    for result in results:
        print(result.line(secrets), flush=True)
    failed = [r for r in results if not r.ok]
    label = args.stack or args.outputs
    print(f"smoke ({label}): {len(results) - len(failed)} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
