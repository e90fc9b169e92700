"""The real Open WebUI the integration tier runs is the release of the pinned image."""

from __future__ import annotations

import re
import subprocess
import sys

from stack import constants
from tests.integration import webui
from tools.offline import ROOT

BOOTSTRAP = (ROOT / "scripts" / "bootstrap.sh").read_text()


def test_tier_release_is_the_image_tag() -> None:
    tag = constants.IMAGES["open_webui"].rsplit(":", 1)[1]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", tag), f"{tag!r}: the Open WebUI image must carry a release tag"
    assert webui.release() == tag[1:]
    assert webui.venv_dir().name == f"open-webui-{tag[1:]}"


def test_bootstrap_reads_the_version_from_the_pin() -> None:
    # No version is written in the script: it comes from stack/constants.py.
    assert not re.search(r"open-webui==\d", BOOTSTRAP)
    line = next(ln for ln in BOOTSTRAP.splitlines() if ln.strip().startswith("owui_version=$("))
    command = line.split("$(", 1)[1].rsplit(")", 1)[0].replace('"$python"', sys.executable)
    got = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    assert got.stdout.strip() == webui.release()
    assert '"open-webui==$owui_version"' in BOOTSTRAP and 'open-webui-$owui_version"' in BOOTSTRAP


def test_cached_venv_if_present_holds_the_pinned_release() -> None:
    venv = webui.venv_dir()
    if (venv / "bin" / "open-webui").exists():
        assert webui.installed_version(venv) == webui.release()
