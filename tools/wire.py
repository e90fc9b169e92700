"""Markers in the engine's property wire format, shared by the tools that speak it.

The policy pack keeps its own copy (policies/rules/props.py), because it runs standalone
from its directory; tests/tools/test_wire.py checks the two agree.
"""

from __future__ import annotations

SIG_KEY = "4dabf18193072939515e22adb298388d"
"""Key that marks a special value in a property map (sdk/go/common/resource/properties.go)."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
"""Signature of a secret value: ``{SIG_KEY: SECRET_SIG, "value": ...}``."""
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Sentinel the engine sends for a string that is unknown during preview."""
UNKNOWN_NUMBER = "3eeb2bf0-c639-47a8-9e75-3b44932eb421"
"""Sentinel the engine sends for a number that is unknown during preview."""
