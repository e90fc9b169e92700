"""`make images`: has any pinned image tag moved upstream? `make images RECORD=1`: record them.

For each image of stack/constants.py (and the ROCm build of Ollama's), the registry's digest for
the tag: HEAD /v2/<repository>/manifests/<tag> with the manifest-list and image-index media types
accepted (so the multi-architecture index's digest, the one `docker pull` resolves the tag to),
read from Docker-Content-Digest, after the registry's token challenge (the distribution spec's
token authentication: a 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, then an
anonymous token from the realm). Docker Hub names without a registry are registry-1.docker.io,
and one-word names are under library/.

python -m tools.images [--record] [--registry-url host=URL]   (online; exit 1 when a tag moved)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence

from tools.needs import require

require("tools.images", ("requests",))

import requests  # noqa: E402 - after the dependency check

from stack import constants, image_lock  # noqa: E402
from stack.settings.ollama import rocm_variant  # noqa: E402

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
DOCKER_HUB = "https://registry-1.docker.io"
TIMEOUT = 30


def locate(ref: str) -> tuple[str, str, str]:
    """(registry URL, repository, tag) of a `name:tag` reference (Docker's normalisation)."""
    name, _, tag = ref.rpartition(":")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return f"https://{first}", rest, tag
    return DOCKER_HUB, name if "/" in name else f"library/{name}", tag


def _challenge(header: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def remote_digest(ref: str, session: requests.Session, registries: dict[str, str] | None = None) -> str:
    registry, repo, tag = locate(ref)
    registry = (registries or {}).get(registry.removeprefix("https://"), registry)
    url = f"{registry}/v2/{repo}/manifests/{tag}"
    headers = {"Accept": ACCEPT}
    reply = session.head(url, headers=headers, timeout=TIMEOUT)
    if reply.status_code == 401 and reply.headers.get("WWW-Authenticate", "").startswith("Bearer "):
        auth = _challenge(reply.headers["WWW-Authenticate"])
        params = {k: v for k, v in auth.items() if k in ("service", "scope")}
        params.setdefault("scope", f"repository:{repo}:pull")
        token = session.get(auth["realm"], params=params, timeout=TIMEOUT).json()
        headers["Authorization"] = f"Bearer {token.get('token') or token.get('access_token')}"
        reply = session.head(url, headers=headers, timeout=TIMEOUT)
    if reply.status_code != 200 or "Docker-Content-Digest" not in reply.headers:
        raise LookupError(f"{ref}: {url} answered {reply.status_code} with no Docker-Content-Digest")
    return str(reply.headers["Docker-Content-Digest"])


def pinned_refs() -> list[str]:
    refs = set(constants.IMAGES.values()) | {rocm_variant(constants.IMAGES["ollama"])}
    return sorted(refs)


def compare(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """A line per tag that moved, naming both digests; tags never recorded are not a move."""
    return [
        f"{ref}: the registry now has {current[ref]}, images.lock.json recorded {digest}: the tag moved upstream; "
        "review the new image, then `make images RECORD=1`"
        for ref, digest in sorted(recorded.items())
        if ref in current and current[ref] != digest
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.images", description=__doc__)
    parser.add_argument("--record", action="store_true", help="write the current digests to images.lock.json")
    parser.add_argument("--registry-url", action="append", default=[], help="host=URL, e.g. for a mirror")
    args = parser.parse_args(argv)
    registries = dict(item.split("=", 1) for item in args.registry_url)
    session = requests.Session()
    try:
        current = {ref: remote_digest(ref, session, registries) for ref in pinned_refs()}
    except (LookupError, requests.RequestException, ValueError) as err:
        print(f"images: {err}", file=sys.stderr)
        return 2
    recorded = image_lock.load()
    if args.record:
        doc = json.loads(image_lock.LOCK_FILE.read_text()) if image_lock.LOCK_FILE.exists() else {}
        doc["digests"] = dict(sorted(current.items()))
        image_lock.LOCK_FILE.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"images: recorded {len(current)} digests in {image_lock.LOCK_FILE.name}")
        return 0
    moved = compare(recorded, current)
    for line in moved:
        print(f"images: {line}", file=sys.stderr)
    unrecorded = sorted(set(current) - set(recorded))
    if unrecorded:
        print(f"images: not recorded yet (pulled by tag): {', '.join(unrecorded)}; `make images RECORD=1`")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
