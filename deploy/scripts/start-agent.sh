#!/usr/bin/env bash
# Start one edge agent in the foreground from its provisioning bundle.
#
#   deploy/scripts/start-agent.sh <agent-id> [extra portail-agent flags]
#
# The bundle made by `portail-admin agent provision --out DIR` is expected in
# $PORTAIL_AGENT_ETC/<agent-id>/ (default /etc/portail/agent/<agent-id>/agent.yaml).
# PORTAIL_MODELS_DIR      folder of the .onnx files (default /var/lib/portail/models, if it exists)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ $# -lt 1 ]; then
  echo "usage: start-agent.sh <agent-id> [portail-agent flags]" >&2
  exit 64
fi
id="$1"
shift
case "$id" in
  *[!a-z0-9_-]* | "" ) echo "start-agent: invalid agent id '$id'" >&2; exit 64 ;;
esac
config="${PORTAIL_AGENT_ETC:-/etc/portail/agent}/$id/agent.yaml"
if [ ! -r "$config" ]; then
  echo "start-agent: cannot read $config (copy the bundle of portail-admin agent provision there)" >&2
  exit 78
fi
if [ -z "${PORTAIL_MODELS_DIR:-}" ] && [ -d /var/lib/portail/models ]; then
  export PORTAIL_MODELS_DIR=/var/lib/portail/models
fi
portail_exec edge-agent main --config "$config" "$@"
