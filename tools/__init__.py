"""Tooling that drives the program and the policy pack from outside: never imported by either."""
