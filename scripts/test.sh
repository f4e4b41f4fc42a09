#!/usr/bin/env bash
# Set up (first time) and run the linter and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Real servers and tools the tests start themselves (on loopback): one package per line, with what needs it.
TEST_APT_PACKAGES=(
)
EXTRA_APT_PACKAGES="${TEST_APT_PACKAGES[*]}" source "$ROOT/scripts/setup.sh"
cd "$ROOT"
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
