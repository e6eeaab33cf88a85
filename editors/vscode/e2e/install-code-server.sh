#!/usr/bin/env bash
# install-code-server.sh [dir] installs code-server 4.100.3 (VS Code 1.100.3,
# the newest release that runs on Node 20) from npm into dir (default
# ~/.cache/cachelens-e2e/code-server-4.100.3) for the extension's end-to-end
# test, and prints the path of its code-server binary. It needs Node 20, a
# C/C++ toolchain and Debian's libkrb5-dev libxkbfile-dev libsecret-1-dev
# pkg-config and ripgrep (.ci/run installs them).
#
# code-server's postinstall runs npm install in its VS Code, where
# @vscode/ripgrep downloads rg from GitHub — not reachable on machines that
# reach only the package registries. Its download cache is seeded with
# Debian's rg instead, under the file name the package looks for.
set -euo pipefail
version=4.100.3
dir=${1:-"$HOME/.cache/cachelens-e2e/code-server-$version"}
bin="$dir/node_modules/.bin/code-server"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^$version "; then
	echo "$bin"
	exit 0
fi
rg=$(command -v rg || true)
if [ -z "$rg" ]; then
	echo "install-code-server.sh: ripgrep is not installed (apt-get install ripgrep)" >&2
	exit 1
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
	cd "$work"
	npm pack --silent "code-server@$version" >/dev/null
	tar xzf "code-server-$version.tgz" package/lib/vscode/npm-shrinkwrap.json
	rgver=$(node -e 'console.log(require("./package/lib/vscode/npm-shrinkwrap.json").packages["node_modules/@vscode/ripgrep"].version)')
	npm pack --silent "@vscode/ripgrep@$rgver" >/dev/null
	tar xzf "vscode-ripgrep-$rgver.tgz" package/lib/postinstall.js
	tag=$(sed -n "s/^const VERSION = '\(.*\)';/\1/p" package/lib/postinstall.js)
	case "$(uname -m)" in
	x86_64) target=x86_64-unknown-linux-musl ;;
	aarch64) target=aarch64-unknown-linux-musl ;;
	*) echo "install-code-server.sh: no ripgrep target for $(uname -m)" >&2; exit 1 ;;
	esac
	mkdir -p rg "${TMPDIR:-/tmp}/vscode-ripgrep-cache-$rgver"
	cp "$rg" rg/rg
	tar czf "${TMPDIR:-/tmp}/vscode-ripgrep-cache-$rgver/ripgrep-$tag-$target.tar.gz" -C rg rg
)
cd "$dir"
[ -f package.json ] || echo '{"private": true}' >package.json
# As root, code-server's postinstall refuses to run without unsafe-perm;
# node-pty's build runs npx node-gyp, which must not stop to ask.
npm_config_unsafe_perm=true npm_config_yes=true \
	npm install --no-audit --no-fund --loglevel=error "code-server@$version" >&2
"$bin" --version >&2
echo "$bin"
