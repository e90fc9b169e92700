"""Each whole-stack check reads only the keys it declares: a check runs when a key it does not
declare is broken, so an undeclared read would judge a default that stands in for a refused value.

Oracle: the check itself, run on settings where every undeclared block raises when it is read.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from stack.settings import Settings
from stack.settings.checks import CHECKS, Check
from stack.settings.messages import keys_of, model_at
from tools.stackfile import stack_settings


class Poison:
    def __init__(self, where: str) -> None:
        self.where = where

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"read {self.where}.{name}, which the check does not declare")

    def __bool__(self) -> bool:
        raise AssertionError(f"read {self.where}, which the check does not declare")

    def __iter__(self) -> Any:
        raise AssertionError(f"read {self.where}, which the check does not declare")


def _poisoned(model: BaseModel, prefix: str, reads: tuple[str, ...]) -> Any:
    values: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        key = f"{prefix}{field.alias or name}"
        value = getattr(model, name)
        if any(r == key or key.startswith(r + ".") for r in reads):
            values[name] = value
        elif any(r.startswith(key + ".") for r in reads) and isinstance(value, BaseModel):
            values[name] = _poisoned(value, key + ".", reads)
        else:
            values[name] = Poison(key)
    return type(model).model_construct(_fields_set=model.model_fields_set, **values)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.run.__name__)
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_check_reads_only_what_it_declares(check: Check, stack: str) -> None:
    s = stack_settings(stack)
    check.run(_poisoned(s, "", check.reads))


def test_declared_keys_exist() -> None:
    for check in CHECKS:
        for read in check.reads:
            *parents, leaf = read.split(".")
            model = model_at(Settings, parents)
            assert model is not None and leaf in keys_of(model), (check.run.__name__, read)
