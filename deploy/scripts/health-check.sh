#!/usr/bin/env bash
# Health checks for probes, deploy scripts and monitoring; exit 0 healthy, 1 not (yet), 2 usage.
#
#   health-check.sh server [URL] [--wait S]           GET URL/healthz == 200 (default http://127.0.0.1:8080)
#   health-check.sh agent  [URL] [--wait S]           the agent's local /healthz: 200 and MQTT connected
#                                                     (default http://127.0.0.1:9464)
#   health-check.sh agents-online URL --token-file F [--min N] [--wait S]
#                                                     /metrics (bearer token): at least N agents online
# Written in Node (already on the box) so that it needs no curl.
set -euo pipefail
exec node "$(dirname "${BASH_SOURCE[0]}")/health-check.mjs" "$@"
