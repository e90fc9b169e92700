"""Offline PR gate: the stack program under mocks, checked by the policy pack over its protocol."""
