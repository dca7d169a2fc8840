# Source this file (". scripts/use-node22.sh") to put Node.js 22 on PATH when the system's Node is older than 22.18.
# @google-cloud/firestore 9, p-retry 9 and the Cloud Functions runtime (nodejs22) all need Node 22; the
# binary comes from the npm registry's node-<os>-<arch> package, so no other download site is needed.
# Exit status 0 when the given node (default: the one on PATH) satisfies package.json's engines, >=22.18.
_oeh_node_ok() {
  "${1:-node}" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 18) ? 0 : 1)' 2>/dev/null
}
if ! _oeh_node_ok; then
  case "$(uname -m)" in
    x86_64) _oeh_arch=x64 ;;
    aarch64 | arm64) _oeh_arch=arm64 ;;
    *) echo "use-node22: no Node 22 package for $(uname -m); install Node 22 yourself" >&2; return 1 2>/dev/null || exit 1 ;;
  esac
  _oeh_pkg="node-$(uname -s | tr '[:upper:]' '[:lower:]')-${_oeh_arch}"
  _oeh_dir="${XDG_CACHE_HOME:-$HOME/.cache}/outbound-event-handler/node22"
  if ! _oeh_node_ok "$_oeh_dir/node_modules/$_oeh_pkg/bin/node"; then
    echo "use-node22: installing $_oeh_pkg@22 into $_oeh_dir" >&2
    mkdir -p "$_oeh_dir"
    npm install --prefix "$_oeh_dir" --no-save --no-audit --no-fund --loglevel=error "$_oeh_pkg@22" >&2 || {
      echo "use-node22: could not install $_oeh_pkg@22 from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  # npm finds its global npmrc next to the node binary; keep the machine's CA file (a registry mirror or proxy).
  _oeh_cafile="$(npm config get cafile 2>/dev/null || true)"
  if [ -n "$_oeh_cafile" ] && [ "$_oeh_cafile" != "null" ] && [ -z "${NPM_CONFIG_CAFILE:-}" ]; then
    export NPM_CONFIG_CAFILE="$_oeh_cafile"
  fi
  export PATH="$_oeh_dir/node_modules/$_oeh_pkg/bin:$PATH"
  unset _oeh_arch _oeh_pkg _oeh_dir _oeh_cafile
fi
echo "use-node22: node $(node --version)" >&2
