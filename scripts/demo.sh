#!/usr/bin/env bash
# Set up (first time) and run the main job on the bundled example: a real street clip from ../shared/data.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
.venv/bin/streetorder process --config examples/us_residential_street.yaml --out out/example --annotate "$@"
