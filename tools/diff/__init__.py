"""Offline diff between a git ref and the working tree: what `pulumi up` would change, and what it costs."""
