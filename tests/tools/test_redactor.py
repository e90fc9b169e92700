"""The diff's Redactor against the regex it stands for: one alternation of every secret form, the
longest first, substituted left to right (what it compiled before). The same output on generated
text full of overlapping forms, and on every face of a real diff that holds secrets."""

from __future__ import annotations

import random
import re

from tools.diff.secrets import MASK, MIN_TOKEN, Redactor, _encodings, secret_values
from tools.offline import evaluate


def oracle(values: list[str], text: str) -> str:
    tokens = {form for v in values if len(v) >= MIN_TOKEN for form in _encodings(v) if len(form) >= MIN_TOKEN}
    ordered = sorted(tokens, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered))).sub(MASK, text) if ordered else text


def test_generated_text_with_overlapping_secrets() -> None:
    rng = random.Random(20261206)
    alphabet = "abcd/=+%-_ "
    for _ in range(300):
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 30))) for _ in range(rng.randint(0, 6))]
        values += [v[: rng.randint(0, len(v))] + "xyz" for v in values[:2]]  # prefixes shared with another value
        redactor = Redactor(values)
        for _ in range(20):
            parts = [rng.choice([*values, "".join(rng.choice(alphabet) for _ in range(5))]) for _ in range(8)]
            text = "".join(p[rng.randint(0, len(p)) :] if rng.random() < 0.3 else p for p in parts)
            assert redactor.text(text) == oracle(values, text), (values, text)


def test_a_real_stacks_secrets_and_configs() -> None:
    ev = evaluate("prod")
    values = sorted(secret_values(ev))
    assert any(len(v) > 1000 for v in values)  # whole uploaded files are among them
    redactor = Redactor(values)
    texts = [str(r.inputs) for r in ev.resources] + [str(r.outputs) for r in ev.resources]
    for text in texts:
        assert redactor.text(text) == oracle(values, text)
    assert any(MASK in redactor.text(t) for t in texts)
