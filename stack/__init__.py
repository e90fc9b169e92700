"""ai-stack: Ollama, Open WebUI, LiteLLM and Postgres on one Docker host, as Pulumi resources."""
