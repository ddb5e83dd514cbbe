# shellcheck shell=bash
# Sourced (not run) by scripts/setup.sh, scripts/test.sh and by hand:
#   source scripts/env.sh
# Sets up PATH and the tool locations the project's scripts rely on.
# Safe to source more than once.

_pc_here="${BASH_SOURCE[0]}"
[[ $_pc_here == */* ]] && _pc_here="${_pc_here%/*}" || _pc_here=.
PC_ROOT="$(cd "$_pc_here/.." && pwd)"
export PC_ROOT
unset _pc_here

# --- PATH -----------------------------------------------------------------
# 1. node_modules/.bin first: its wasm-opt is binaryen 132 from npm. Debian's
#    binaryen (wasm-opt 108) must never win: its output fails at init() in
#    browsers. It also beats a `wasm-opt` crate someone may have cargo-installed.
# 2. cargo's bin next: wasm-pack, wasm-bindgen (exact version), geckodriver.
_pc_cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
_pc_path=":${PATH:-}:"
for _pc_dir in "$_pc_cargo_bin" "$PC_ROOT/node_modules/.bin"; do
  while [[ $_pc_path == *":$_pc_dir:"* ]]; do   # drop earlier copies, then prepend
    _pc_path="${_pc_path//:$_pc_dir:/:}"
  done
  _pc_path=":$_pc_dir$_pc_path"
done
_pc_path="${_pc_path#:}"
_pc_path="${_pc_path%:}"
PATH="${_pc_path%:}"
export PATH
unset _pc_path _pc_dir

# --- Browsers and WebDriver servers (Debian packages + cargo) --------------
# Deliberately NOT exported as CHROMEDRIVER / GECKODRIVER: wasm-bindgen-test-runner
# prefers GECKODRIVER over CHROMEDRIVER whenever both are set, and wasm-pack only
# adds the one for the browser it is running, so an exported GECKODRIVER would
# silently turn the Chrome run into a second Firefox run. scripts/test.sh passes
# these with --chromedriver / --geckodriver instead.
export PC_CHROMIUM="${PC_CHROMIUM:-/usr/bin/chromium}"
export PC_CHROMEDRIVER="${PC_CHROMEDRIVER:-/usr/bin/chromedriver}"
export PC_FIREFOX="${PC_FIREFOX:-/usr/bin/firefox-esr}"
export PC_GECKODRIVER="${PC_GECKODRIVER:-$_pc_cargo_bin/geckodriver}"
unset _pc_cargo_bin

# Browser capabilities for wasm-bindgen-test-runner (it reads ./webdriver.json by
# default, relative to the crate dir; make it independent of the cwd).
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="${WASM_BINDGEN_TEST_WEBDRIVER_JSON:-$PC_ROOT/webdriver.json}"
# Firefox ESR ignores webdriver.json's "services.settings.server" (and so looks up
# firefox.settings.services.mozilla.com at every start) unless this is set.
export MOZ_REMOTE_SETTINGS_DEVTOOLS=1
# Seconds the runner waits for a browser test page to finish (its default is 20).
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-120}"
# Seconds it waits for chromedriver/geckodriver to listen (its default is 5).
export WASM_BINDGEN_TEST_DRIVER_TIMEOUT="${WASM_BINDGEN_TEST_DRIVER_TIMEOUT:-30}"

# Playwright: only playwright-core, driving Debian's Chromium; never download browsers.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# --- Project settings -------------------------------------------------------
# Port of the mock services (mock/cli.mjs). Read at compile time by the wasm tests
# via option_env!("PC_MOCK_PORT"), so it must be exported before cargo/wasm-pack.
export PC_MOCK_PORT="${PC_MOCK_PORT:-4500}"
