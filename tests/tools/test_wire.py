"""The tools and the policy pack agree on the engine's wire markers (the pack keeps its own copy)."""

from __future__ import annotations

from pulumi_policy import proxy

import tools.analyzer
import tools.offline
from policies.rules import props
from tools import wire


def test_secret_signature_is_the_packs() -> None:
    assert (wire.SIG_KEY, wire.SECRET_SIG) == (props.SIG_KEY, props.SECRET_SIG)


def test_tools_use_the_one_copy() -> None:
    for module in (tools.analyzer, tools.offline):
        assert (module.SIG_KEY, module.SECRET_SIG) == (wire.SIG_KEY, wire.SECRET_SIG), module.__name__


def test_unknown_sentinels_are_the_sdks() -> None:
    assert wire.UNKNOWN_STRING == proxy.UNKNOWN_STRING_VALUE
    assert wire.UNKNOWN_NUMBER == proxy.UNKNOWN_NUMBER_VALUE
    assert {wire.UNKNOWN_STRING, wire.UNKNOWN_NUMBER} <= props.UNKNOWN_SENTINELS


def test_a_secret_wrapped_by_the_tools_is_a_secret_to_the_pack() -> None:
    from policies.rules.secrets import is_secret

    assert is_secret(tools.analyzer.secret("A_TOKEN=x"))
    assert tools.offline.is_secret(tools.analyzer.secret("A_TOKEN=x"))
