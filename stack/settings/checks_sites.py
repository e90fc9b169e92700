"""Checks across hosts: every model is served somewhere, each host serves only declared models,
and no two inference hosts are one machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.settings.model import Settings
    from stack.settings.placement import Site

KEY = "ai-stack:"


def served_models_declared(s: Settings, site: Site) -> list[str]:
    """A host's `models` picks among the stack's models; anything else would be pulled and never routed."""
    wanted = s.host.models if site.key is None else s.inference_hosts[site.key].models
    declared = set(s.all_models)
    return [
        f"{site.setting('host.models')}: {m} is not one of the stack's models ({KEY}models or "
        f"{KEY}embeddingModels): add it there first (and lock it), or remove it here"
        for m in wanted or []
        if m not in declared
    ]


def every_model_served(s: Settings) -> list[str]:
    """A model no Ollama serves would be listed by LiteLLM and fail every request. A host serves
    the models its `models` lists, every model when unset (the main host: in a container or its
    own Ollama, `ollama.mode: host`); whether its instances can start is its own check's."""
    everything = [*s.models, *s.embedding_models]
    lists = [s.host.models, *(h.models for h in s.inference_hosts.values())]
    served = {m for wanted in lists for m in (everything if wanted is None else wanted)}
    where = f"{KEY}host.models" + (f" or {KEY}inferenceHosts.<name>.models" if s.inference_hosts else "")
    return [
        f"{KEY}{'embeddingModels' if m in s.embedding_models else 'models'}: {m} is served by no Ollama: add it "
        f"to {where} (unset, a host serves every model)"
        for m in everything
        if m not in served
    ]


def hosts_distinct(s: Settings) -> list[str]:
    """Two keys naming one engine would create each container twice there (the second clashes on
    its name); two hosts on one address would publish two gates on the same ports."""
    out = []
    for attribute, what in (("docker", "Docker engine"), ("address", "address")):
        seen: dict[str, str] = {}
        for key in sorted(s.inference_hosts):
            value = str(getattr(s.inference_hosts[key], attribute))
            if value in seen:
                out.append(
                    f"{KEY}inferenceHosts.{key}.{attribute}: {value} is also the {what} of "
                    f"{KEY}inferenceHosts.{seen[value]}: each inference host is its own machine"
                )
            seen.setdefault(value, key)
    return out
