#!/usr/bin/env bash
# Start the control server in the foreground (systemd's ExecStart, or by hand / in a container).
#
#   deploy/scripts/start-server.sh [extra portail-server flags]
#
# PORTAIL_SERVER_CONFIG   config file (default /etc/portail/server.yaml); every key is in
#                         config/server.schema.json, the template is deploy/config/server.yaml
# PORTAIL_BOOTSTRAP_ADMIN username:/path/to/password-file for the first regional IT account (once)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PORTAIL_SERVER_CONFIG="${PORTAIL_SERVER_CONFIG:-/etc/portail/server.yaml}"
if [ ! -r "$PORTAIL_SERVER_CONFIG" ]; then
  echo "start-server: cannot read $PORTAIL_SERVER_CONFIG (copy deploy/config/server.yaml there and edit it)" >&2
  exit 78
fi
portail_exec control-server main "$@"
