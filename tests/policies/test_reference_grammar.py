"""pinning.parse against docker-image-py 0.2.0, the port of distribution/reference it replaces:
the same registry, repository, tag and digest, or the same refusal, for every image the program
and the stack files pin, a list of edge cases and generated references. And a reference docker
refuses is a clear error naming it, never an exception of its own (a bad digest once crashed
`make check`)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from docker_image import digest as oracle_digest
from docker_image import reference as oracle

from policies.rules.pinning import ImageRef, ImageRefError, parse
from tools.offline import ROOT

HEX = "0123456789abcdef"
SHA = "sha256:" + "a" * 64


def expected(text: str) -> ImageRef | str:
    """What docker-image-py says, after the checks pinning.parse makes first: the parsed
    reference, or the refusal's message."""
    if text.strip() != text or not text:
        return "refused before the grammar"
    parts = text.split("@", 1)[0].split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if any(c.isupper() for c in "/".join(parts).rsplit(":", 1)[0]):
        return "refused before the grammar"
    try:
        ref = oracle.Reference.parse_normalized_named(text)
    except (oracle.InvalidReference, oracle_digest.InvalidDigest) as err:
        return str(err)
    repo: Any = ref.repository
    return ImageRef(str(repo["domain"]), str(repo["path"]), ref.get("tag") or None, ref.get("digest") or None)


def got(text: str) -> ImageRef | str:
    try:
        return parse(text)
    except ImageRefError as err:
        message = str(err)
        prefix = f"image reference {text!r} is not valid: "
        return message.removeprefix(prefix) if message.startswith(prefix) else "refused before the grammar"


def pinned_images() -> list[str]:
    """Every image reference in stack/constants.py and the stack files, as Renovate finds them."""
    texts = [(ROOT / "stack" / "constants.py").read_text()]
    texts += [p.read_text() for p in [*ROOT.glob("Pulumi.*.yaml"), *(ROOT / "tests" / "stack" / "data").glob("*.yaml")]]
    refs = {
        m
        for t in texts
        for m in re.findall(r"[\"' ]([a-z0-9./_-]+(?::[A-Za-z0-9._-]+)?(?:@sha256:[0-9a-f]{64})?)[\"'\n]", t)
    }
    return sorted(r for r in refs if (":" in r and "/" in r) or "@" in r)


EDGES = [
    "postgres", "postgres:16.4", "library/postgres:16", "docker.io/postgres", "index.docker.io/ollama/ollama:0.3",
    "localhost/app", "localhost:5000/app:1.0", "registry.example.com:443/team/app:v1.2.3", "[::1]:5000/app",
    "[fe80::1%eth0]/app", "ghcr.io/a/b/c/d:tag", "a__b", "a___b", "a--b", "a-b-", "-a", "a.b", "a..b", "a_b.c-d",
    "Example.com/app", "EXAMPLE/app", "ex_ample.com/app", "ex-.com/app", "127.0.0.1/app", "1.2.3.4:99999/app",
    "app:", "app:-x", "app:_x", "app:" + "t" * 128, "app:" + "t" * 129, "app@" + SHA, "app:1@" + SHA,
    "app@sha256:" + "A" * 64, "app@sha256:" + "a" * 40, "app@sha512:" + "a" * 128, "app@md5:" + "a" * 32,
    "app@sha256", "app@", "a" * 64, "a" * 63, "b/" + "a" * 64, "app:1.0\n", "a/" + "b" * 254, "a/" + "b" * 256,
    "x" * 256, "docker.io/" + "x" * 250, "app?x", "ex.com/a{b}", "ex.com/a,b", "app/:1", "app//x", "/app", "app/",
    "ex.com:/app", "ex.com:80:90/app", "café/app", "app:tâg", "app:t\u00e9", "ex.com/APP", "sha256:" + "a" * 64,
]  # fmt: skip


@pytest.mark.parametrize("text", [*EDGES, *pinned_images()])
def test_the_same_as_docker_image_py(text: str) -> None:
    assert got(text) == expected(text)


def test_the_images_the_program_pins_are_there() -> None:
    found = pinned_images()
    assert len(found) > 10 and any(r.startswith("ollama/ollama:") for r in found), found


def test_generated_references() -> None:
    rng = random.Random(20261206)
    pieces = ["a", "b", "z9", "0", ".", "_", "__", "-", "--", "/", ":", "@", "ex.com", "localhost", "[::1]", ":5000",
              "A", "sha256:", "a" * 64, "f" * 32, "library", "x" * 130, "$", "é"]  # fmt: skip
    refused = 0
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        want = expected(text)
        refused += isinstance(want, str)
        assert got(text) == want, repr(text)
    assert 1000 < refused < 19000


def test_a_bad_digest_is_an_image_ref_error_naming_it() -> None:
    for bad in ("postgres@sha256:" + "a" * 40, "postgres@sha256:" + "A" * 64, "postgres@md5:" + "a" * 32):
        with pytest.raises(ImageRefError, match=re.escape(repr(bad))):
            parse(bad)
