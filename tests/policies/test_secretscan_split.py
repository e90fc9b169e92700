"""secretscan.split_words against the reference, Python's `shlex.split(text, posix=True)`: the
same words or the same refusal, on every argument of the example stacks and on generated text
made of the characters the shell reader treats specially."""

from __future__ import annotations

import itertools
import random
import shlex

import pytest

from policies.rules.secretscan import split_words
from tools.offline import ROOT, evaluate

SPECIAL = ["a", "b", " ", "\t", "\n", "\r", "\x0b", "'", '"', "\\", "$", "#", "=", "é"]


def reference(text: str) -> list[str] | None:
    """shlex's words, or None where it refuses the text."""
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return None


def ours(text: str) -> list[str] | None:
    try:
        return split_words(text)
    except ValueError:
        return None


def test_every_short_text_of_special_characters() -> None:
    # Every string of up to four of them: each quote, escape and space next to each other.
    for n in range(5):
        for chars in itertools.product(SPECIAL, repeat=n):
            text = "".join(chars)
            assert ours(text) == reference(text), repr(text)


def test_longer_generated_text() -> None:
    rng = random.Random(20261206)
    refused = 0
    for _ in range(20000):
        text = "".join(rng.choice(SPECIAL) for _ in range(rng.randint(5, 40)))
        expected = reference(text)
        refused += expected is None
        assert ours(text) == expected, repr(text)
    assert 1000 < refused < 19000  # both kinds were tried


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_argument_of_the_example_stacks(stack: str) -> None:
    ev = evaluate(stack, root=ROOT)
    args = [str(a) for r in ev.resources for key in ("command", "entrypoints") for a in (r.inputs.get(key) or [])]
    scripts = [a for a in args if " " in a]
    assert scripts, "no argument with spaces: the test would check nothing"
    for text in args:
        assert ours(text) == reference(text), text
