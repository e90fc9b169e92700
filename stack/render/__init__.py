"""Pure renderers: labels, env lists, LiteLLM's config.yaml and Traefik's command. No resources here."""
