"""The OIDC client secret through the pack: wrapped as the program sends it, caught when plain.

The SSO example stack (tests/stack/data/Pulumi.sso.yaml) as the program registers it, sent
over the Analyzer protocol like every other rule test; the mutation unwraps only that element.
"""

from __future__ import annotations

from pathlib import Path

from tests.policies.fixtures import Baseline
from tools.analyzer import SECRET_SIG, SIG_KEY, PolicyPackAnalyzer
from tools.offline import evaluate

DATA = Path(__file__).resolve().parents[1] / "stack" / "data"
RULE = "container-no-plaintext-secrets"


def test_the_client_secret_passes_wrapped_and_fails_in_plaintext(prod_pack: PolicyPackAnalyzer) -> None:
    sso = Baseline(evaluate("sso", root=DATA))
    as_sent = sso.container("open-webui")
    assert prod_pack.analyze_resource(sso.resource("open-webui", as_sent)).by_policy(RULE) == []
    # The program keeps it out of env (docker inspect shows env): a secret file the wrapper reads.
    files = {u["file"]: u for u in as_sent["uploads"]}
    secret = files["/run/secrets/oidc-client-secret"]["content"]
    assert isinstance(secret, dict) and secret.get(SIG_KEY) == SECRET_SIG, "the case cannot fail"
    plain = [*as_sent["envs"], f"OAUTH_CLIENT_SECRET={secret['value']}"]
    diags = prod_pack.analyze_resource(sso.resource("open-webui", {**as_sent, "envs": plain})).by_policy(RULE)
    assert [d.message.split(". ")[0] for d in diags] == [
        "container 'open-webui': env OAUTH_CLIENT_SECRET is set in plaintext"
    ]
    assert diags[0].enforcement_level == "mandatory"
    assert not any("offline-placeholder-secret" in d.message for d in diags)
