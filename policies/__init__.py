"""ai-stack CrossGuard policy pack and its protocol-level harness."""
