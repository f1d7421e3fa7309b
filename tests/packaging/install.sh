#!/usr/bin/env bash
# `cmake --install` (SPEC §11): the binary, the unit and the example config, the config at
# exactly the path the binary reads by default; a second install keeps an edited config.
# Installs into a DESTDIR under a temp dir, so the paths are the configured ones and nothing
# outside the temp dir is touched whatever the prefix.
# Usage: install.sh BUILD_DIR FULL_BINARY_PATH FULL_CONFIG_PATH EXAMPLE_CONFIG
set -euo pipefail
build="$1"
binary="$2"
config="$3"
example="$4"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dest="$work/root"
fail() {
    echo "FAIL: $*"
    exit 1
}

first="$(DESTDIR="$dest" cmake --install "$build" 2>&1)" || { echo "$first"; fail "first install"; }
find "$dest" -type f | sed "s|^$dest||" | sort

[[ -x "$dest$binary" ]] || fail "no executable at $binary"
unit="$(find "$dest" -name errbridge.service -path '*/systemd/system/*')"
[[ -n "$unit" ]] || fail "no errbridge.service under .../systemd/system/"
grep -qx "ExecStart=$binary run" "$unit" || fail "the unit does not start $binary"
cmp -s "$example" "$dest$config" || fail "$config is not the example config"

# The binary reads that very path when run without -c.
described="$("$dest$binary" check 2>&1 || true)"
grep -qF "$config" <<<"$described" || fail "the binary does not read $config: $described"
# And the installed example is a valid config.
"$dest$binary" check -c "$dest$config" >/dev/null || fail "the installed example does not pass check"

echo '# edited by the site' >>"$dest$config"
cp "$dest$config" "$work/expected"
second="$(DESTDIR="$dest" cmake --install "$build" 2>&1)" || { echo "$second"; fail "second install"; }
cmp -s "$work/expected" "$dest$config" || fail "the second install overwrote $config"
grep -F "Kept (exists)" <<<"$second" || fail "the second install did not say it kept the config"
echo "PASS: binary, unit and config installed; an edited config survives a reinstall"
