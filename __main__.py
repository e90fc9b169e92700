"""Pulumi entry point: load the typed settings, declare the stack, export its outputs."""

from stack.program import build, settings_from_config

build(settings_from_config())
