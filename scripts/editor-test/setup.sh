#!/usr/bin/env bash
# Installs what the in-editor tests need, offline except for the npm registry
# and Debian packages: code-server (a real VS Code) and playwright-core in a
# cache folder outside the repository, and the system packages they lean on.
# The recipe and why each step exists: shared/design/editor-tests.md.
# Idempotent: a stamp in the cache folder makes a repeated run a few checks.
#
#   scripts/editor-test/setup.sh            install what is missing
#   scripts/editor-test/setup.sh --print-cache   print the cache folder and exit
#
# The cache folder is $STATECRAFT_EDITOR_TEST_CACHE, else
# ${XDG_CACHE_HOME:-~/.cache}/statecraft-editor-test (run.mjs resolves it the same way).
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.1
APT_PACKAGES=(libkrb5-dev ripgrep chromium)
VSCODE_NATIVE_MODULES=(node-pty @vscode/spdlog native-watchdog kerberos @parcel/watcher @vscode/deviceid)

CACHE="${STATECRAFT_EDITOR_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/statecraft-editor-test}"
if [[ "${1:-}" == "--print-cache" ]]; then
  echo "$CACHE"
  exit 0
fi

step() { printf 'setup:editor: %s\n' "$*"; }
fail() {
  printf 'setup:editor: FAILED: %s\n' "$*" >&2
  exit 1
}
# Runs a long command quietly; shows its output only when it fails.
quiet() {
  local out
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" | tail -n 40 >&2
    fail "'$*' exited non-zero (last lines above)"
  fi
}

# ---- Debian packages ----------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  if [[ "$(id -u)" == 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    fail "need root or sudo to install: apt-get install ${missing[*]}"
  fi
  command -v apt-get >/dev/null || fail "apt-get not found; install these packages by hand: ${missing[*]}"
  quiet "${sudo[@]}" apt-get update
  quiet "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  step "Debian packages present: ${APT_PACKAGES[*]}"
fi
[[ -x /usr/bin/chromium ]] || fail "/usr/bin/chromium is missing after installing the chromium package"
RG="$(command -v rg)" || fail "ripgrep (rg) is missing after installing the ripgrep package"

# ---- code-server and playwright-core in the cache folder ----------------------
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [[ "$node_major" != 20 ]]; then
  step "warning: code-server $CODE_SERVER_VERSION declares Node 20; this is Node $node_major"
fi

# The native modules are built for this Node's ABI: a different Node means a new install.
want="code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_VERSION node-abi@$(node -p process.versions.modules)"
stamp="$CACHE/.setup-complete"
mkdir -p "$CACHE"
# Two setups at once (CI and a developer) would corrupt node_modules.
exec 9>"$CACHE/.lock"
command -v flock >/dev/null && flock 9

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  step "code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_VERSION ready in $CACHE"
  exit 0
fi
rm -f "$stamp"

cd "$CACHE"
# Anchors npm here, so that it never walks up into another project.
[[ -f package.json ]] || echo '{ "private": true, "description": "statecraft in-editor test tools" }' >package.json

step "npm install --ignore-scripts code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_VERSION (in $CACHE)"
quiet npm install --ignore-scripts --no-audit --no-fund \
  "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION"

step "npm rebuild argon2"
quiet npm rebuild argon2

VSCODE="$CACHE/node_modules/code-server/lib/vscode"
[[ -d "$VSCODE" ]] || fail "$VSCODE is missing: the code-server package has an unexpected layout"
cd "$VSCODE"
step "lib/vscode: npm install --omit=dev --ignore-scripts"
quiet npm install --omit=dev --ignore-scripts --no-audit --no-fund

# node-pty's install script runs `npx node-gyp`, which asks before installing without a terminal.
step "lib/vscode: npm rebuild ${VSCODE_NATIVE_MODULES[*]}"
quiet env npm_config_yes=true npm rebuild "${VSCODE_NATIVE_MODULES[@]}"

# The links code-server's own postinstall.sh would make.
step "lib/vscode: linking ripgrep ($RG), node_modules.asar and bin/remote-cli/code-server"
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sfn "$RG" node_modules/@vscode/ripgrep/bin/rg
ln -sfn node_modules node_modules.asar
[[ -f bin/remote-cli/code-linux.sh ]] || fail "$VSCODE/bin/remote-cli/code-linux.sh is missing"
ln -sfn code-linux.sh bin/remote-cli/code-server

echo "$want" >"$stamp"
step "done: $CACHE ($(du -sh "$CACHE" | cut -f1))"
