"""Run a Python policy pack exactly as the Pulumi CLI does and talk to it over the Analyzer gRPC protocol.

The CLI (pulumi-language-python ``RunPlugin``) starts ``python -u -m pulumi.policy <engine> <pack-dir>``
with the pack directory as working directory and ``PULUMI_PROJECT``/``PULUMI_STACK``/
``PULUMI_DRY_RUN``/``PULUMI_CONFIG`` in the environment, reads the port the pack prints, and then calls
``GetAnalyzerInfo``, ``Configure``, ``Analyze`` (per resource) and ``AnalyzeStack`` (whole stack).
This package does the same, so tests and the offline gate exercise the real wire format: properties as a
protobuf ``Struct`` (numbers are doubles), secrets wrapped in the engine's signature, unknowns as
sentinel strings, and policy config reconciled like ``pkg/resource/analyzer/config.go``.

Usage::

    with PolicyPackAnalyzer("policies", stack="prod") as pack:
        pack.configure_file("policies/config/prod.json")
        result = pack.analyze("docker:index/container:Container", "ollama", {"name": "ollama", ...})
        assert not result.mandatory
"""

from .client import PolicyPackAnalyzer
from .config import PolicyConfigError, apply_config, load_policy_config, parse_policy_config, reconcile_config
from .process import PolicyPackStartError
from .protocol import (
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN_NUMBER,
    UNKNOWN_STRING,
    AnalyzeResult,
    AnalyzerInfo,
    Diagnostic,
    PolicyInfo,
    Provider,
    Resource,
    make_urn,
    secret,
)

__all__ = [
    "SECRET_SIG",
    "SIG_KEY",
    "UNKNOWN_NUMBER",
    "UNKNOWN_STRING",
    "AnalyzeResult",
    "AnalyzerInfo",
    "Diagnostic",
    "PolicyConfigError",
    "PolicyInfo",
    "PolicyPackAnalyzer",
    "PolicyPackStartError",
    "Provider",
    "Resource",
    "apply_config",
    "load_policy_config",
    "make_urn",
    "parse_policy_config",
    "reconcile_config",
    "secret",
]
