"""`make backup` and `make restore`: the stack's backup steps (stack/render/backup.py), run now.

runner.py runs a step: in a container against DOCKER_HOST (DockerRunner, what the commands
use) or on local directories (LocalRunner, what the integration drill uses). flow.py orders
the steps and owns the safety: verify before touching, say what is overwritten, ask first.
"""
