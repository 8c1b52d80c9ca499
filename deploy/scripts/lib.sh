# Shared by the start scripts (sourced, not run). Finds the checkout and how to run its code.
#
# PORTAIL_ROOT   the checkout (default: two levels above this script, i.e. the clone)
# PORTAIL_FROM_SOURCE=1   run the TypeScript sources through tsx instead of the built dist/
#                         (what the fresh-machine test does; a site runs `npm run build` once)

PORTAIL_ROOT="${PORTAIL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export PORTAIL_ROOT

# portail_exec <workspace> <entry without extension> [args...]: exec node on dist/<entry>.js, or on
# src/<entry>.ts through tsx when PORTAIL_FROM_SOURCE=1 or the build is missing
portail_exec() {
  local ws="$1" entry="$2"
  shift 2
  command -v node >/dev/null 2>&1 || { echo "node is not installed (Node 20 LTS: docs/deploy.md)" >&2; exit 69; }
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 20 ]; then
    echo "Node $major is too old: Portail needs Node 20 (Debian 12 ships 18; see docs/deploy.md)" >&2
    exit 69
  fi
  cd "$PORTAIL_ROOT" || exit 69
  if [ "${PORTAIL_FROM_SOURCE:-0}" != "1" ] && [ -f "$PORTAIL_ROOT/$ws/dist/$entry.js" ]; then
    exec node "$PORTAIL_ROOT/$ws/dist/$entry.js" "$@"
  fi
  exec node --conditions=portail-src --import tsx "$PORTAIL_ROOT/$ws/src/$entry.ts" "$@"
}
