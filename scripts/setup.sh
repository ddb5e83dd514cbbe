#!/usr/bin/env bash
# Installs whatever the project's build and tests need and is missing. Idempotent:
# when everything is present it only checks (a few seconds) and prints one line per tool.
#
#   bash scripts/setup.sh            (also: npm run setup; run first by npm test / npm start)
#
# What it ensures (see /work/shared/TOOLCHAIN.md for why each piece is done this way):
#   rustup target wasm32-unknown-unknown, rustfmt, clippy
#   wasm-pack                cargo install --locked wasm-pack --version $PC_WASM_PACK_VERSION
#   wasm-bindgen-cli         cargo install wasm-bindgen-cli --version <wasm-bindgen in Cargo.lock> --force
#                            (never --locked: its lock pins a dependency the registry here lacks)
#   geckodriver              cargo install --locked geckodriver --version $PC_GECKODRIVER_VERSION
#   chromium chromium-driver firefox-esr   apt-get install --no-install-recommends (root only)
#   node_modules             npm ci (when missing or package-lock.json changed; stamp file)
# Never Debian's binaryen: wasm-opt comes from npm (binaryen 132), first on PATH via env.sh.
#
# The cargo installs run one after another in the background while apt and npm work.
# Exit status is non-zero if anything is still missing at the end; for what it cannot
# do itself it prints the exact command to run.
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
cd "$PC_ROOT"

# Versions installed when a tool is missing (an already-installed version that is
# new enough is kept). wasm-bindgen-cli has no setting: it always follows Cargo.lock.
PC_WASM_PACK_VERSION="${PC_WASM_PACK_VERSION:-0.15.1}"
PC_WASM_PACK_MIN_VERSION="0.13.0"
PC_GECKODRIVER_VERSION="${PC_GECKODRIVER_VERSION:-0.37.1}"
PC_GECKODRIVER_MIN_VERSION="0.34.0"
PC_NODE_MIN_MAJOR=20
read -r -a PC_APT_PACKAGES <<<"${PC_APT_PACKAGES:-chromium chromium-driver firefox-esr}"

export DEBIAN_FRONTEND=noninteractive

problems=()      # commands the user must run, printed at the end
failed=0
t_start=$SECONDS
log_dir="$(mktemp -d "${TMPDIR:-/tmp}/pc-setup.XXXXXX")"
keep_logs=0
jobs_queued=()   # names of cargo installs to run, in order
job_pids=()      # background runners of those installs
declare -A job_what=() job_cmd=()

cleanup() {
  local pid
  for pid in "${job_pids[@]}"; do   # interrupted: stop unfinished installs (and their cargo)
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  if [[ $keep_logs == 0 ]]; then rm -rf "$log_dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '%s\n' "$*"; }
problem() { problems+=("$1"); failed=1; }
have() { command -v "$1" >/dev/null 2>&1; }
# version_ge A B: true if version A >= version B
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

am_root() { [[ "$(id -u)" == 0 ]]; }
# Prefix for commands that need root, for the messages we print.
if am_root; then
  SUDO_HINT=""
elif have sudo; then
  SUDO_HINT="sudo "
else
  SUDO_HINT="(as root) "
fi

# One setup at a time per machine user: cargo and apt installs are machine-wide.
exec 9>"${TMPDIR:-/tmp}/parallel-composer-setup-$(id -u).lock"
if ! flock -n 9; then
  say "waiting for another scripts/setup.sh to finish ..."
  flock 9
fi

# ---------------------------------------------------------------- background jobs
# Cargo installs. queue_job NAME WHAT CMD... records one; start_jobs runs them in the
# background while apt and npm work in the foreground; finish_job NAME reports one.
# They run one after another: on 2 cores, cargo already keeps both busy, and three at once
# measured no faster (453 s vs 415 s for all three). PC_SETUP_PARALLEL=1 runs them at once.
queue_job() {
  local name="$1" what="$2"
  shift 2
  jobs_queued+=("$name")
  job_what[$name]="$what"
  job_cmd[$name]="$(printf '%q ' "$@")"
  say "installing $what ($*) ..."
}
# run_job NAME: run it now; leaves NAME.log, NAME.secs and NAME.rc in $log_dir.
run_job() {
  local name="$1" t0=$SECONDS rc=0
  eval "${job_cmd[$name]}" </dev/null >"$log_dir/$name.log" 2>&1 || rc=$?
  echo "$((SECONDS - t0))" >"$log_dir/$name.secs"
  echo "$rc" >"$log_dir/$name.rc"
}
start_jobs() {
  local name
  ((${#jobs_queued[@]})) || return 0
  if [[ ${PC_SETUP_PARALLEL:-0} == 1 ]]; then
    for name in "${jobs_queued[@]}"; do
      run_job "$name" &
      job_pids+=($!)
    done
  else
    (for name in "${jobs_queued[@]}"; do run_job "$name"; done) &
    job_pids+=($!)
  fi
}
wait_jobs() {
  local pid
  for pid in "${job_pids[@]}"; do wait "$pid" || true; done
  job_pids=()
}
# finish_job NAME: report how its install went; returns its exit status.
finish_job() {
  local name="$1" rc secs
  rc="$(cat "$log_dir/$name.rc" 2>/dev/null || echo 1)"
  secs="$(cat "$log_dir/$name.secs" 2>/dev/null || echo '?')"
  if [[ $rc == 0 ]]; then
    say "installed ${job_what[$name]} in ${secs} s"
  else
    say "FAILED installing ${job_what[$name]} after ${secs} s (exit $rc); last lines of its log:"
    tail -n 40 "$log_dir/$name.log" 2>/dev/null | sed 's/^/    /'
    keep_logs=1
    say "    (full log: $log_dir/$name.log)"
  fi
  return "$rc"
}

# ---------------------------------------------------------------- Rust
rust_ok=1
if ! have cargo || ! have rustc; then
  rust_ok=0
  problem "install Rust with rustup (https://rustup.rs), then re-run: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy --target wasm32-unknown-unknown"
  say "MISSING cargo/rustc"
else
  say "ok $(rustc --version | cut -d' ' -f1-2)"
  if have rustup; then
    installed_targets="$(rustup target list --installed)"
    if grep -qx wasm32-unknown-unknown <<<"$installed_targets"; then
      say "ok rust target wasm32-unknown-unknown"
    else
      say "installing rust target wasm32-unknown-unknown (rustup target add wasm32-unknown-unknown) ..."
      if rustup target add wasm32-unknown-unknown; then
        say "installed rust target wasm32-unknown-unknown"
      else
        problem "rustup target add wasm32-unknown-unknown"
      fi
    fi
    missing_components=()
    cargo fmt --version >/dev/null 2>&1 || missing_components+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing_components+=(clippy)
    if ((${#missing_components[@]})); then
      say "installing rust components ${missing_components[*]} (rustup component add ${missing_components[*]}) ..."
      rustup component add "${missing_components[@]}" || problem "rustup component add ${missing_components[*]}"
    else
      say "ok rustfmt, clippy"
    fi
  else
    # A Rust without rustup (e.g. Debian's rustc): check for the target's std by hand.
    if [[ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]]; then
      say "ok rust target wasm32-unknown-unknown"
    else
      problem "this Rust has no rustup and no wasm32-unknown-unknown std; install Rust with rustup (https://rustup.rs), then: rustup target add wasm32-unknown-unknown"
    fi
    { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1 ||
      problem "install rustfmt and clippy for this Rust (with rustup: rustup component add rustfmt clippy)"
  fi
fi

# ---------------------------------------------------------------- cargo-installed tools
# Version of the wasm-bindgen *package* in Cargo.lock: the CLI must match it exactly.
lock_bindgen_versions="$(awk '
  /^\[\[package\]\]/ { in_wb = 0 }
  /^name = "wasm-bindgen"$/ { in_wb = 1; next }
  in_wb && /^version = / { gsub(/"/, "", $3); print $3; in_wb = 0 }
' Cargo.lock)"
if [[ -z $lock_bindgen_versions ]]; then
  say "ERROR: no wasm-bindgen package in Cargo.lock"
  exit 1
fi
if [[ $(wc -l <<<"$lock_bindgen_versions") != 1 ]]; then
  say "ERROR: Cargo.lock has more than one wasm-bindgen version: $(tr "\n" " " <<<"$lock_bindgen_versions")"
  exit 1
fi
BINDGEN_VERSION="$lock_bindgen_versions"

# tool_version CMD: second word of `CMD --version` (e.g. "wasm-pack 0.15.1" -> 0.15.1), or empty.
tool_version() {
  local out
  out="$("$1" --version 2>/dev/null | head -n1)" || true
  printf '%s' "$(awk '{print $2}' <<<"$out")"
}

if [[ $rust_ok == 1 ]]; then
  # wasm-pack
  v="$(tool_version wasm-pack)"
  if [[ -n $v ]] && version_ge "$v" "$PC_WASM_PACK_MIN_VERSION"; then
    say "ok wasm-pack $v"
  else
    [[ -n $v ]] && say "wasm-pack $v is older than $PC_WASM_PACK_MIN_VERSION"
    queue_job wasm-pack "wasm-pack $PC_WASM_PACK_VERSION" \
      cargo install --locked wasm-pack --version "$PC_WASM_PACK_VERSION"
  fi

  # wasm-bindgen-cli: wasm-bindgen and wasm-bindgen-test-runner at exactly BINDGEN_VERSION.
  # (If they do not match, wasm-pack would silently cargo-install its own copy.)
  v="$(tool_version wasm-bindgen)"
  v_runner="$(tool_version wasm-bindgen-test-runner)"
  if [[ $v == "$BINDGEN_VERSION" && $v_runner == "$BINDGEN_VERSION" ]]; then
    say "ok wasm-bindgen-cli $v (matches Cargo.lock)"
  else
    say "wasm-bindgen-cli on PATH: ${v:-none} (runner: ${v_runner:-none}); Cargo.lock wants $BINDGEN_VERSION"
    queue_job wasm-bindgen-cli "wasm-bindgen-cli $BINDGEN_VERSION" \
      cargo install wasm-bindgen-cli --version "$BINDGEN_VERSION" --force
  fi

  # geckodriver (not packaged in Debian 12)
  v="$(tool_version "$PC_GECKODRIVER")"
  if [[ -n $v ]] && version_ge "$v" "$PC_GECKODRIVER_MIN_VERSION"; then
    say "ok geckodriver $v"
  elif [[ $PC_GECKODRIVER != "${CARGO_HOME:-$HOME/.cargo}/bin/geckodriver" ]]; then
    problem "PC_GECKODRIVER=$PC_GECKODRIVER is not a working geckodriver >= $PC_GECKODRIVER_MIN_VERSION (unset it to let this script install one)"
  else
    queue_job geckodriver "geckodriver $PC_GECKODRIVER_VERSION" \
      cargo install --locked geckodriver --version "$PC_GECKODRIVER_VERSION"
  fi
fi

start_jobs

# ---------------------------------------------------------------- Debian packages
# Installed = dpkg says so and the binary the scripts use exists.
apt_binary_for() {
  case "$1" in
    chromium) printf '%s' "$PC_CHROMIUM" ;;
    chromium-driver) printf '%s' "$PC_CHROMEDRIVER" ;;
    firefox-esr) printf '%s' "$PC_FIREFOX" ;;
    *) printf '' ;;
  esac
}
apt_pkg_installed() {
  local status bin
  status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" || true
  [[ $status == installed ]] || return 1
  bin="$(apt_binary_for "$1")"
  [[ -z $bin || -x $bin ]]
}
apt_missing=()
apt_present=()
if have dpkg-query; then
  for pkg in "${PC_APT_PACKAGES[@]}"; do
    if apt_pkg_installed "$pkg"; then
      apt_present+=("$pkg $(dpkg-query -W -f='${Version}' "$pkg")")
    else
      apt_missing+=("$pkg")
    fi
  done
  for p in "${apt_present[@]}"; do say "ok $p"; done
  if [[ $SUDO_HINT == sudo* ]]; then
    apt_cmd="sudo apt-get update && sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${apt_missing[*]}"
  else
    apt_cmd="${SUDO_HINT}apt-get update && env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${apt_missing[*]}"
  fi
  if ((${#apt_missing[@]})); then
    if am_root || { have sudo && sudo -n true 2>/dev/null; }; then
      if am_root; then as_root=(); else as_root=(sudo -n); fi
      apt_opts=(-o Acquire::Retries=3 -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
      apt_t0=$SECONDS
      say "installing ${apt_missing[*]} (apt-get update; apt-get install -y --no-install-recommends ${apt_missing[*]}) ..."
      if "${as_root[@]}" apt-get "${apt_opts[@]}" -qq update </dev/null >"$log_dir/apt.log" 2>&1 &&
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" -y -q \
          --no-install-recommends install "${apt_missing[@]}" </dev/null >>"$log_dir/apt.log" 2>&1; then
        still=()
        for pkg in "${apt_missing[@]}"; do
          if ! apt_pkg_installed "$pkg"; then
            bin="$(apt_binary_for "$pkg")"
            still+=("$pkg${bin:+ (expects $bin)}")
          fi
        done
        if ((${#still[@]})); then
          say "FAILED: still missing after apt-get install: ${still[*]}"
          problem "$apt_cmd"
        else
          say "installed ${apt_missing[*]} in $((SECONDS - apt_t0)) s"
        fi
      else
        say "FAILED apt-get; last lines of its log:"
        tail -n 30 "$log_dir/apt.log" | sed 's/^/    /'
        problem "$apt_cmd"
      fi
    else
      say "MISSING Debian packages: ${apt_missing[*]} (installing them needs root)"
      problem "$apt_cmd"
    fi
  fi
else
  for pkg in "${PC_APT_PACKAGES[@]}"; do
    bin="$(apt_binary_for "$pkg")"
    if [[ -n $bin && -x $bin ]]; then
      say "ok $bin"
    else
      problem "no dpkg here: install $pkg yourself and point PC_CHROMIUM / PC_CHROMEDRIVER / PC_FIREFOX at it (missing: ${bin:-$pkg})"
    fi
  done
fi
if have dpkg-query && [[ "$(dpkg-query -W -f='${db:Status-Status}' binaryen 2>/dev/null || true)" == installed ]]; then
  say "warning: Debian's binaryen is installed (old wasm-opt, breaks release builds); scripts use node_modules/.bin/wasm-opt first. Remove it: ${SUDO_HINT}apt-get remove -y binaryen"
fi

# ---------------------------------------------------------------- Node.js + npm packages
node_ok=0
if ! have node || ! have npm; then
  problem "install Node.js >= $PC_NODE_MIN_MAJOR with npm (Debian 12's own nodejs is 18, too old: use a Node.js $PC_NODE_MIN_MAJOR+ distribution), then re-run"
  say "MISSING node/npm"
else
  node_v="$(node --version)"
  node_major="${node_v#v}"
  node_major="${node_major%%.*}"
  if ((node_major < PC_NODE_MIN_MAJOR)); then
    problem "Node.js $node_v is too old: install Node.js >= $PC_NODE_MIN_MAJOR, then re-run"
  else
    node_ok=1
    say "ok node $node_v, npm $(npm --version)"
  fi
fi
stamp_file="node_modules/.pc-setup-stamp"
if [[ $node_ok == 1 ]]; then
  want_stamp="$(cat package-lock.json package.json | sha256sum | cut -d' ' -f1) node-$node_v"
  have_stamp="$(cat "$stamp_file" 2>/dev/null || true)"
  if [[ -d node_modules && $have_stamp == "$want_stamp" ]]; then
    say "ok npm packages (node_modules matches package-lock.json)"
  else
    npm_t0=$SECONDS
    say "installing npm packages (npm ci) ..."
    if npm ci --no-audit --no-fund --loglevel=error </dev/null >"$log_dir/npm.log" 2>&1; then
      printf '%s\n' "$want_stamp" >"$stamp_file"
      say "installed npm packages in $((SECONDS - npm_t0)) s"
    else
      say "FAILED npm ci; last lines of its log:"
      tail -n 30 "$log_dir/npm.log" | sed 's/^/    /'
      problem "npm ci   (in $PC_ROOT)"
    fi
  fi
  # wasm-opt must be npm's binaryen 132, first on PATH.
  wasm_opt="$(command -v wasm-opt || true)"
  if [[ $wasm_opt != "$PC_ROOT/node_modules/.bin/wasm-opt" ]]; then
    problem "wasm-opt on PATH is '${wasm_opt:-none}', not $PC_ROOT/node_modules/.bin/wasm-opt: run npm ci in $PC_ROOT and source scripts/env.sh"
  else
    wv="$(wasm-opt --version 2>/dev/null || true)"
    if [[ $wv == "wasm-opt version 132 "* ]]; then
      say "ok $wv (node_modules/.bin/wasm-opt)"
    else
      problem "node_modules/.bin/wasm-opt reports '${wv}', expected binaryen 132: run npm ci in $PC_ROOT"
    fi
  fi
fi

# ---------------------------------------------------------------- wait for cargo installs
wait_jobs
for name in "${jobs_queued[@]}"; do
  if finish_job "$name"; then
    case "$name" in
      wasm-pack) v="$(tool_version wasm-pack)" ;;
      wasm-bindgen-cli)
        v="$(tool_version wasm-bindgen)"
        if [[ $v != "$BINDGEN_VERSION" || "$(tool_version wasm-bindgen-test-runner)" != "$BINDGEN_VERSION" ]]; then
          say "FAILED: after the install, wasm-bindgen on PATH ($(command -v wasm-bindgen || echo none)) is ${v:-none}, not $BINDGEN_VERSION"
          problem "put ${CARGO_HOME:-$HOME/.cargo}/bin first on PATH (source scripts/env.sh) or remove the other wasm-bindgen"
        fi
        ;;
      geckodriver) v="$(tool_version "$PC_GECKODRIVER")" ;;
    esac
    say "ok $name $v"
  else
    case "$name" in
      wasm-pack) problem "cargo install --locked wasm-pack --version $PC_WASM_PACK_VERSION" ;;
      wasm-bindgen-cli) problem "cargo install wasm-bindgen-cli --version $BINDGEN_VERSION --force" ;;
      geckodriver) problem "cargo install --locked geckodriver --version $PC_GECKODRIVER_VERSION" ;;
    esac
  fi
done

if [[ $failed != 0 ]]; then
  say ""
  say "setup incomplete after $((SECONDS - t_start)) s. Run these, then run scripts/setup.sh again:"
  for p in "${problems[@]}"; do say "  $p"; done
  exit 1
fi
say "setup complete in $((SECONDS - t_start)) s"
