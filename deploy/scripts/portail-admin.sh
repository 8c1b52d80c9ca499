#!/usr/bin/env bash
# The administration CLI from the checkout: deploy/scripts/portail-admin.sh --data-dir DIR <command>
# (`portail-admin --help`, and `agent --help` for provisioning).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
portail_exec control-server cli/portail-admin "$@"
