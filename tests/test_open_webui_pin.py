"""The real Open WebUI the integration tier runs is the release of the pinned image.

Oracle: the METADATA pip wrote into the cached virtualenv when it installed open-webui (the
package itself says which release it is), against the image's tag, read here by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from stack import constants
from tests.integration import webui
from tools.offline import ROOT

BOOTSTRAP = (ROOT / "scripts" / "bootstrap.sh").read_text()
TAG = re.fullmatch(r"ghcr\.io/open-webui/open-webui:v(\d+\.\d+\.\d+)", constants.IMAGES["open_webui"])


def test_the_image_carries_a_release_tag() -> None:
    assert TAG is not None, f"{constants.IMAGES['open_webui']!r}: the Open WebUI image must carry a release tag"


def test_the_cached_venv_holds_the_images_release() -> None:
    assert TAG is not None
    venv = webui.venv_dir()
    if not (venv / "bin" / "open-webui").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{venv} is missing: `make test` (scripts/bootstrap.sh dev) installs it")
        pytest.skip(f"{venv} is not installed (scripts/bootstrap.sh dev installs it; make test-fast does not)")
    assert webui.installed_version(venv) == TAG[1]


def test_bootstrap_installs_the_version_of_the_pin() -> None:
    assert TAG is not None
    # No version is written in the script: its command line reads it from stack/constants.py.
    assert not re.search(r"open-webui==\d", BOOTSTRAP)
    line = next(ln for ln in BOOTSTRAP.splitlines() if ln.strip().startswith("owui_version=$("))
    command = line.split("$(", 1)[1].rsplit(")", 1)[0].replace('"$python"', sys.executable)
    got = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    assert got.stdout.strip() == TAG[1]
    assert '"open-webui==$owui_version"' in BOOTSTRAP and 'open-webui-$owui_version"' in BOOTSTRAP
