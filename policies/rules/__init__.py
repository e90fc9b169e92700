"""The ai-stack policy rules: pure checks, and the CrossGuard policies built from them.

This package imports nothing on purpose, so `policies.rules.pinning` (shared with the
program's settings) loads without pulumi_policy. The pack's rule list is `catalog`.
"""
