"""One ComponentResource per service, each built from its own typed Args."""
