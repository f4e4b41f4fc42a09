#!/usr/bin/env bash
# Set up everything streetorder needs, from scratch, idempotently: Debian packages (when run as root), a virtual
# environment in .venv with the project installed, and the model search path. Source it or run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages: ffmpeg (tools for tests and benchmark footage), the libraries OpenCV links against, and the
# font rendered plates are drawn with (the plate test set, the repeat-offender scenario).
# Test-only servers (chromium, gstreamer's RTSP server, ...) are added by scripts/test.sh.
APT_PACKAGES=(ffmpeg libgl1 libglib2.0-0 fonts-wqy-zenhei ${EXTRA_APT_PACKAGES:-})
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

# The project in a virtual environment; reinstalled when pyproject.toml changes.
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  python3 -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/pip" install -q --upgrade pip
fi
if [ ! -f "$ROOT/.venv/.installed" ] || [ "$ROOT/pyproject.toml" -nt "$ROOT/.venv/.installed" ]; then
  echo "setup: installing streetorder and its dependencies into .venv (about two minutes the first time)"
  "$ROOT/.venv/bin/pip" install -q -e "$ROOT[dev]"
  touch "$ROOT/.venv/.installed"
fi

# Weights cannot be downloaded here: look in ../shared/models unless told otherwise.
if [ -z "${STREETORDER_MODEL_PATH:-}" ] && [ -d "$ROOT/../shared/models" ]; then
  export STREETORDER_MODEL_PATH="$(cd "$ROOT/../shared/models" && pwd)"
fi
export YOLO_OFFLINE="${YOLO_OFFLINE:-1}"
