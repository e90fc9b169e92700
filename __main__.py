"""Pulumi entry point: load the typed settings, declare the stack, export its outputs."""

from stack.config import settings_from_config
from stack.program import build

build(settings_from_config())
