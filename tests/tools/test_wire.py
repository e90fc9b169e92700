"""The tools and the policy pack speak the engine's wire markers (the pack keeps its own copy):
both are checked against the Pulumi SDK's own constants."""

from __future__ import annotations

from pulumi.runtime import rpc
from pulumi_policy import proxy

import tools.analyzer
import tools.offline
from policies.rules import props
from tools import wire


def test_secret_signature_is_the_engines() -> None:
    # The SDK's own constants are what the engine sends and reads (pulumi/runtime/rpc.py).
    sdk = (rpc._special_sig_key, rpc._special_secret_sig)
    assert sdk == (wire.SIG_KEY, wire.SECRET_SIG)
    assert sdk == (props.SIG_KEY, props.SECRET_SIG)


def test_unknown_sentinels_are_the_sdks() -> None:
    assert wire.UNKNOWN_STRING == proxy.UNKNOWN_STRING_VALUE
    assert wire.UNKNOWN_NUMBER == proxy.UNKNOWN_NUMBER_VALUE
    assert {wire.UNKNOWN_STRING, wire.UNKNOWN_NUMBER} <= props.UNKNOWN_SENTINELS


def test_a_secret_wrapped_by_the_tools_is_a_secret_to_the_pack() -> None:
    from policies.rules.secrets import is_secret

    assert is_secret(tools.analyzer.secret("A_TOKEN=x"))
    assert tools.offline.is_secret(tools.analyzer.secret("A_TOKEN=x"))
