#!/usr/bin/env bash
# Set up (first time) and run the linter and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Real servers and tools the tests start themselves (on loopback): one package per line, with what needs it.
TEST_APT_PACKAGES=(
  chromium  # tests/review: the reviewers' web app driven in a real browser through Playwright
  python3-gi  # tests/live: the RTSP server runs with Debian's python3 and GObject bindings ...
  gir1.2-gst-rtsp-server-1.0  # ... and GStreamer's RTSP server library
  gstreamer1.0-rtsp  # ... its RTSP plugins
  gstreamer1.0-plugins-base  # ... the core elements
  gstreamer1.0-plugins-good  # ... qtdemux (MP4) and rtph264pay
  gstreamer1.0-plugins-bad  # ... h264parse
  postgresql  # tests: the PostgreSQL store (a server initialised in a temporary folder, on loopback)
  mosquitto  # tests: the MQTT sink's broker (on loopback)
)
EXTRA_APT_PACKAGES="${TEST_APT_PACKAGES[*]}" source "$ROOT/scripts/setup.sh"
cd "$ROOT"
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
