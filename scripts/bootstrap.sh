#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine: the .venv and, for `dev`,
# the Debian packages the integration tier uses. Safe to run again; it only does what is missing.
#   scripts/bootstrap.sh runtime   # the program's virtualenv (+ pulumi-policy for the offline gate)
#   scripts/bootstrap.sh fast      # + pytest and the schema check: `make test-fast` (no Debian packages,
#                                  #   no Open WebUI, no LiteLLM: nothing of the integration tier)
#   scripts/bootstrap.sh dev       # + lint, integration tier (docker.io, busybox-static,
#                                  #   chromium, restic, postgresql, haproxy, and the real Open WebUI in a cached virtualenv)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-runtime}
python=${PYTHON:-python3}

command -v "$python" >/dev/null || { echo "bootstrap: $python not found: install Python 3.11 or newer" >&2; exit 1; }
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || {
  echo "bootstrap: $python is on PATH but does not run (set PYTHON=/path/to/python3)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "bootstrap: Python $version is too old: Python 3.11 or newer is needed (cronsim, the backup schedule check, needs 3.11)" >&2; exit 1; }

if [ "$mode" = dev ]; then
  missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" || missing+=(busybox-static)
  "$python" -c 'import venv, ensurepip' 2>/dev/null || missing+=("python3-venv")
  command -v chromium >/dev/null || missing+=(chromium)
  # The backup drill: a real PostgreSQL server and restic (tests/integration/test_backup_drill.py).
  command -v restic >/dev/null || missing+=(restic)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  # The Docker socket proxy's stand-in: the same software as the pinned image (HAProxy).
  [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  # The sign-in test's provider certificate (tests/integration/test_oidc.py).
  command -v openssl >/dev/null || missing+=(openssl)
  # Monitoring: the rendered files through Debian's promtool and amtool, and the real
  # Prometheus, Alertmanager and blackbox exporter in the integration tier.
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
  command -v prometheus-blackbox-exporter >/dev/null || missing+=(prometheus-blackbox-exporter)
  command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "bootstrap: installing ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "bootstrap: missing ${missing[*]} (needs root and apt-get); the Docker integration tests will skip" >&2
    fi
  fi
fi

# runtime: the program plus the tooling `make up` runs first (prerequisites, the offline gate).
# Every mode installs a lock (exact versions, sha256 hashes; scripts/lock-requirements.sh writes
# them), and the stamp is keyed on the locks: a changed lock installs again.
case "$mode" in
  runtime) lock=tools/requirements.txt ;;
  fast) lock=requirements-fast.txt ;;
  dev) lock=requirements-dev.txt ;;
  *) echo "bootstrap: unknown mode $mode (runtime, fast or dev)" >&2; exit 2 ;;
esac
pins=$(cat requirements*.txt policies/requirements.txt tools/requirements.txt 2>/dev/null | sha256sum | cut -c1-16)
stamp=".venv/.installed-$mode-$pins"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Each mode installs everything the one before it does: a dev venv is a fast and a runtime venv too.
for wider in fast dev; do
  case "$mode:$wider" in runtime:fast | runtime:dev | fast:dev)
    [ -f ".venv/.installed-$wider-$pins" ] && stamp=".venv/.installed-$wider-$pins" ;;
  esac
done
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing Python packages ($lock)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24,<27"
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r "$lock"
  rm -f ".venv/.installed-$mode-"*
  touch "$stamp"
fi

# dev: the real Open WebUI for the integration tier, from PyPI at the version of the pinned
# image (stack/constants.py is the one place it is written), in a virtualenv outside the
# project because it is large (about 3.3 GB). CPU torch goes in first: open-webui does not pin
# torch, and pip would otherwise pick the newest CUDA build and gigabytes of nvidia-* wheels
# (with a find-links directory holding torch-2.13.0+cpu, pip takes that one).
if [ "$mode" = dev ]; then
  owui_version=$("$python" -c 'import sys; sys.path.insert(0, "."); from stack.constants import IMAGES; print(IMAGES["open_webui"].rsplit(":", 1)[1].removeprefix("v"))')
  owui_venv="${XDG_CACHE_HOME:-$HOME/.cache}/ai-stack/venvs/open-webui-$owui_version"
  if [ ! -f "$owui_venv/.installed" ]; then
    echo "bootstrap: installing open-webui==$owui_version into $owui_venv (a few minutes, about 3 GB)"
    rm -rf "$owui_venv"
    "$python" -m venv "$owui_venv"
    "$owui_venv/bin/python" -m pip install -q --disable-pip-version-check torch==2.13.0
    "$owui_venv/bin/python" -m pip install -q --disable-pip-version-check "open-webui==$owui_version"
    touch "$owui_venv/.installed"
  fi
fi

# dev: a Docker Engine newer than bookworm's 20.10 for the engine tier (tests/integration/engines.py),
# from Debian: trixie's docker.io (tests/integration/engine/DEBIAN_PACKAGE: suite, package, upstream version).
# Only its dockerd and docker-proxy are unpacked into a cache keyed on the pin; nothing is installed
# system-wide (it runs on bookworm's libc, containerd, runc and tini). apt-get reads trixie's package
# list into the cache too, not into /etc/apt.
if [ "$mode" = dev ]; then
  read -r suite package upstream <tests/integration/engine/DEBIAN_PACKAGE
  engine_dir="${XDG_CACHE_HOME:-$HOME/.cache}/ai-stack/dockerd-$suite-$upstream"
  if [ ! -f "$engine_dir/.ok" ] && command -v apt-get >/dev/null && [ -r /usr/share/keyrings/debian-archive-keyring.gpg ]; then
    echo "bootstrap: fetching Debian $suite's $package $upstream into $engine_dir"
    rm -rf "$engine_dir" && mkdir -p "$engine_dir/lists/partial" "$engine_dir/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
      >"$engine_dir/sources.list"
    apt_opts=(-o "Dir::Etc::sourcelist=$engine_dir/sources.list" -o Dir::Etc::sourceparts=- \
      -o "Dir::State::Lists=$engine_dir/lists" -o "Dir::Cache=$engine_dir" -o APT::Sandbox::User=root)
    if apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 &&
      (cd "$engine_dir" && apt-get "${apt_opts[@]}" download -qq "$package" >/dev/null 2>&1) &&
      dpkg-deb -x "$engine_dir"/"$package"_*.deb "$engine_dir/root" &&
      "$engine_dir/root/usr/sbin/dockerd" --version | grep -q "version $upstream"; then
      rm -rf "$engine_dir/lists" "$engine_dir"/*.deb
      touch "$engine_dir/.ok"
    else
      echo "bootstrap: could not fetch $package $upstream from Debian $suite; the engine tier's specs will skip (and fail under CI)" >&2
    fi
  fi
fi

# dev and fast: npm packages the tests run for real, each set in a cache directory keyed on its
# pin, outside the repository: Mermaid's parser (the diff's diagram, tests/tools/mermaid; a few MB,
# fast installs it too) and, dev only, for the sign-in test (tests/integration/oidc), the
# oidc-provider identity provider and playwright-core, which drives Debian's chromium (it
# downloads no browser of its own).
if [ "$mode" = dev ] || [ "$mode" = fast ]; then
  pin_files=(tests/tools/mermaid/PIN)
  [ "$mode" = dev ] && pin_files+=(tests/integration/oidc/PIN)
  for pin_file in "${pin_files[@]}"; do
    pin=$(cat "$pin_file")
    npm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/ai-stack/npm-$(echo "$pin" | tr ' @' '--')"
    [ -f "$npm_dir/.ok" ] && continue
    if command -v npm >/dev/null; then
      echo "bootstrap: installing $pin into $npm_dir"
      mkdir -p "$npm_dir"
      echo '{"private": true}' >"$npm_dir/package.json"
      # shellcheck disable=SC2086 # the pin is a list of package@version words
      if (cd "$npm_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent $pin); then
        touch "$npm_dir/.ok"
      else
        echo "bootstrap: npm install $pin failed; the tests that use it will skip (and fail under CI)" >&2
      fi
    else
      echo "bootstrap: npm not found; the tests that use $pin will skip (and fail under CI)" >&2
    fi
  done
fi

# dev: Renovate, for the test of the upgrade configuration (.github/renovate.json5): its own
# renovate-config-validator and a local extraction. 39.x is the last line whose Node engine
# includes Node 20 (40+ needs Node 22). --ignore-scripts skips re2's native build (a prebuilt
# download this machine cannot make, then minutes of compiling); Renovate then uses JavaScript's
# RegExp, which reads the configuration's regexes as RE2 does (they avoid RE2's gaps).
if [ "$mode" = dev ]; then
  pin=$(cat tests/tools/renovate/PIN)
  npm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/ai-stack/npm-$(echo "$pin" | tr ' @' '--')"
  if [ ! -f "$npm_dir/.ok" ]; then
    if command -v npm >/dev/null; then
      echo "bootstrap: installing $pin into $npm_dir (about a minute)"
      mkdir -p "$npm_dir"
      echo '{"private": true}' >"$npm_dir/package.json"
      if (cd "$npm_dir" && npm install --no-audit --no-fund --silent --ignore-scripts "$pin"); then
        touch "$npm_dir/.ok"
      else
        echo "bootstrap: npm install $pin failed; the Renovate tests will skip (and fail under CI)" >&2
      fi
    else
      echo "bootstrap: npm not found; the Renovate tests will skip (and fail under CI)" >&2
    fi
  fi
fi
