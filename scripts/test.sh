#!/usr/bin/env bash
# The project's whole check, in order, stopping at the first failure (npm test; .ci/run).
#
#    1  setup           bash scripts/setup.sh
#    2  fmt             cargo fmt --all -- --check, and node scripts/check-layers.mjs: no
#                       wasm-bindgen, js-sys, web-sys or gloo in src/plan/ and src/engine/, no
#                       import cycle between modules, no function over 80 lines outside tests,
#                       at most four JavaScript snippets for the wasm test page
#    3  clippy-native   cargo clippy --all-targets -- -D warnings
#    4  clippy-wasm     cargo clippy --target wasm32-unknown-unknown --lib --tests -- -D warnings
#    5  cargo-test      cargo test (unit, property and doc tests)
#    6  docs            RUSTDOCFLAGS="-D warnings" cargo doc --no-deps: the Rust API docs build
#                       without a warning (broken or private links, missing docs)
#    7  fuzz            bash scripts/fuzz.sh $PC_FUZZ_SECONDS (default 20): a bounded fuzz session
#                       of src/tests/fuzzing.rs in release mode; it must report cases and no failure
#    8  mock-unit       node --test tests/mock/
#    9  mock-start      node mock/cli.mjs --port $PC_MOCK_PORT, in the background until exit
#   10  wasm-chrome     wasm-pack test --headless --chrome  --chromedriver $PC_CHROMEDRIVER (once
#                       more only if the browser never loaded the test page, the page had not
#                       loaded PC_BROWSER_PAGE_LIMIT seconds after the runner began (default 90),
#                       or the run hung past PC_BROWSER_SUITE_LIMIT seconds, default 600:
#                       browser_suites)
#   11  wasm-firefox    wasm-pack test --headless --firefox --geckodriver  $PC_GECKODRIVER
#   12  wasm-node       wasm-pack test --node
#   13  release-build   node scripts/build-pkg.mjs --target web --out-dir pkg, i.e. wasm-pack build
#                       --release --target web --out-dir pkg --no-pack + fix-ups; must use
#                       npm's wasm-opt
#   14  e2e             node --test tests/e2e/
#   15  bench-smoke     node bench/run.mjs --smoke: every benchmark implementation runs once and
#                       gives sane results (order totals, 1,000 replies, ...); no timing asserted;
#                       then bench/ab.mjs once over pkg/ against itself (every call resolved)
#   16  chaos-smoke     node --test chaos/ (the chaos judge's own tests), then node chaos/run.mjs
#                       --smoke: 200 orders in Node and 100 in Chromium through random faults
#                       against mock services of its own, judged by the services' state and log
#                       (docs/reliability.md), and 500 compositions at once in one page; it
#                       must end "chaos: 0 discrepancies in N orders, 0 errors"
#   17  consumers       node scripts/pack.mjs (the npm package, npm pack into target/npm/), then
#                       node --test tests/consumers/: the tarball's contents, and each consumer
#                       project (node/, vite/, worker/, typescript/, page/) installing the tarball
#                       (npm ci of its locked tools, npm install of the .tgz) and using it against
#                       the mock services started in step 9
#
# wasm-pack test runs with --mode no-install: it must use the tools setup.sh installed
# (wasm-bindgen-cli at the Cargo.lock version) and fail loudly rather than fetch its own;
# the release step checks wasm-pack's output for the same.
# Browser runs are one wasm-pack call per browser so that each is checked to have run tests.
#
# Environment: PC_MOCK_PORT (default 4500; compiled into the wasm tests via option_env!),
# PC_MOCK_START_TIMEOUT (seconds, default 30), PC_SKIP_SETUP=1 to skip step 1,
# PC_FUZZ_SECONDS (the fuzz step's length, default 20).
# Output: a banner and elapsed seconds per step; then one line per step, a line
# "steps: N passed, N failed, N skipped", and last "tests: N passed, N failed" (the sum of
# what cargo test, wasm-bindgen-test and node --test reported).
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
cd "$PC_ROOT"

# Driver selection must come from our --chromedriver/--geckodriver flags only: the
# wasm-bindgen test runner prefers any *_REMOTE, then GECKODRIVER, over the one wasm-pack sets.
unset CHROMEDRIVER GECKODRIVER SAFARIDRIVER MSEDGEDRIVER \
  CHROMEDRIVER_REMOTE GECKODRIVER_REMOTE SAFARIDRIVER_REMOTE MSEDGEDRIVER_REMOTE \
  NO_HEADLESS WASM_BINDGEN_TEST_ONLY_NODE WASM_BINDGEN_TEST_ONLY_WEB

PC_MOCK_START_TIMEOUT="${PC_MOCK_START_TIMEOUT:-30}"
SKIP=200   # exit status of a step that had nothing to run

SELF="$PC_ROOT/scripts/test.sh"
if [[ ${1:-} == --run-step ]]; then
  run_dir="$PC_TEST_RUN_DIR"       # a step, run by the loop below: share its folder
else
  run_dir="$(mktemp -d "${TMPDIR:-/tmp}/pc-test.XXXXXX")"
  export PC_TEST_RUN_DIR="$run_dir"
fi
mock_pid_file="$run_dir/mock.pid"

# ------------------------------------------------------------------ cleanup
stop_mock() {
  local pid
  pid="$(cat "$mock_pid_file" 2>/dev/null || true)"
  [[ -n $pid ]] || return 0
  rm -f "$mock_pid_file"
  # The mock runs in its own process group (setsid): stop the group, then make sure.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}
step_pid=""
stop_step() {
  # Each step runs in its own session (setsid): stop all it started (drivers, browsers...).
  local pid="$step_pid"
  [[ -n $pid ]] || return 0
  step_pid=""
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 -- "-$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
}
cleanup() {
  stop_step
  stop_mock
  rm -rf "$run_dir"
}
current_step=""
on_signal() {
  echo
  echo "######## interrupted by SIG$1${current_step:+ during step $current_step}: stopping what it started ########"
  exit "$2"
}
if [[ ${1:-} != --run-step ]]; then
  trap cleanup EXIT
  trap 'on_signal INT 130' INT
  trap 'on_signal TERM 143' TERM
  trap 'on_signal HUP 129' HUP
fi

# ------------------------------------------------------------------ helpers
skip() {
  echo "SKIPPED: $*"
  exit "$SKIP"
}
# require_path PATH: a suite the project has must be there; a missing one fails the step
# rather than passing it off as skipped.
require_path() {
  [[ -e $1 ]] && return 0
  echo "ERROR: $1 is missing; this step cannot run without it"
  exit 1
}
# http_status PORT PATH: HTTP status code of GET http://127.0.0.1:PORT/PATH, or empty.
http_status() {
  local port="$1" path="$2" line=""
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 0
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
    IFS= read -r -t 5 line <&3 || true
    line="${line%$'\r'}"
    [[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] && printf '%s' "${BASH_REMATCH[1]}"
    exit 0
  ) 2>/dev/null || true
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# count_tests LOG: print "PASSED FAILED" summed from the test runners' summary lines.
count_tests() {
  [[ -f $1 ]] || { echo "0 0"; return 0; }
  awk '
    match($0, /test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed/) {
      s = substr($0, RSTART, RLENGTH); split(s, w, " ")
      p += w[4]; f += w[6]
    }
    /^(# |ℹ )pass [0-9]+$/ { p += $3 }
    /^(# |ℹ )fail [0-9]+$/ { f += $3 }
    END { printf "%d %d\n", p, f }
  ' "$1"
}
# require_tests_ran LOG WHAT: fail when a suite that exists ran no test at all.
require_tests_ran() {
  local counts
  counts="$(count_tests "$1")"
  if [[ ${counts%% *} == 0 ]]; then
    echo "ERROR: $2 ran no test (nothing reported as passed)"
    return 1
  fi
}

# ------------------------------------------------------------------ steps
step_setup() {
  if [[ ${PC_SKIP_SETUP:-0} == 1 ]]; then skip "PC_SKIP_SETUP=1"; fi
  bash scripts/setup.sh
}
step_fmt() {
  cargo fmt --all -- --check
  node scripts/check-layers.mjs
}
step_clippy_native() { cargo clippy --all-targets -- -D warnings; }
step_clippy_wasm() { cargo clippy --target wasm32-unknown-unknown --lib --tests -- -D warnings; }
step_cargo_test() { cargo test; }
step_docs() { RUSTDOCFLAGS="-D warnings" cargo doc --no-deps; }
step_fuzz() {
  require_path scripts/fuzz.sh
  bash scripts/fuzz.sh "${PC_FUZZ_SECONDS:-20}"
  # A session that ran no case proves nothing: its last line counts them.
  if ! grep -Eq '^fuzz session: [1-9][0-9]* cases in .*, no failure' "$STEP_LOG"; then
    echo "ERROR: the fuzz session did not report a number of cases and no failure"
    return 1
  fi
}
step_mock_unit() {
  require_path tests/mock
  node --test tests/mock/
  require_tests_ran "$STEP_LOG" "node --test tests/mock/"
}
step_mock_start() {
  require_path mock/cli.mjs
  if port_in_use "$PC_MOCK_PORT"; then
    echo "ERROR: something already listens on 127.0.0.1:$PC_MOCK_PORT (a leftover mock?); stop it or set PC_MOCK_PORT"
    return 1
  fi
  echo "node mock/cli.mjs --port $PC_MOCK_PORT  (background; stdout: $run_dir/mock.out)"
  setsid node mock/cli.mjs --port "$PC_MOCK_PORT" </dev/null >"$run_dir/mock.out" 2>"$run_dir/mock.err" &
  local pid=$!
  echo "$pid" >"$mock_pid_file"
  local deadline=$((SECONDS + PC_MOCK_START_TIMEOUT)) status=""
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "ERROR: the mock exited before it was ready. Its output:"
      cat "$run_dir/mock.out" "$run_dir/mock.err"
      return 1
    fi
    # Ready once it has printed its JSON line and /health answers 200.
    if grep -q '^{' "$run_dir/mock.out" 2>/dev/null; then
      status="$(http_status "$PC_MOCK_PORT" /health)"
      [[ $status == 200 ]] && break
    fi
    if ((SECONDS >= deadline)); then
      echo "ERROR: mock not ready after ${PC_MOCK_START_TIMEOUT} s (last /health status: ${status:-no answer}). Its output:"
      cat "$run_dir/mock.out" "$run_dir/mock.err"
      return 1
    fi
    sleep 0.1
  done
  echo "mock ready (pid $pid): $(grep -m1 '^{' "$run_dir/mock.out")"
  echo "GET http://127.0.0.1:$PC_MOCK_PORT/health -> $status"
}
# The browser never loaded the test page: wasm-bindgen-test-runner's page still says
# "Loading scripts..." when it gives up (a renderer that hung before any script ran,
# "Timed out receiving message from renderer"): no test ran, and none failed. Seen on a
# machine where Chromium processes of runs killed with SIGKILL were still alive; with none
# left, the same clone passed at once.
PAGE_NEVER_LOADED='Loading scripts...Failed to detect test as having been run'

# A browser run that hangs: the test runner waiting on a renderer that stopped answering,
# with no output and no end (seen once in a fresh clone: 7 minutes, where the suite takes
# under one; its own timeouts did not end it). Each attempt gets BROWSER_SUITE_LIMIT seconds
# (the slowest suite, Firefox with its compile, takes under 3 minutes), and is then stopped
# with every process it started: wasm-pack runs in a process group of its own.
BROWSER_SUITE_LIMIT=${PC_BROWSER_SUITE_LIMIT:-600}
BROWSER_SUITE_HUNG="browser suite: no end after ${BROWSER_SUITE_LIMIT} s; stopped"

# The test page that never finishes loading: wasm-bindgen-test-runner's server (tiny_http)
# can leave a new connection without a thread until another connection closes, which a
# browser does after minutes (tests/common/page.js). The runner waits 300 s for the page;
# the driver starts and the page loads in seconds, so an attempt whose page has not loaded
# BROWSER_PAGE_LIMIT seconds after the runner began is stopped and tried again.
BROWSER_PAGE_LIMIT=${PC_BROWSER_PAGE_LIMIT:-90}
BROWSER_PAGE_STALLED="browser suite: the test page had not loaded ${BROWSER_PAGE_LIMIT} s after the runner began; stopped"

# One attempt of `wasm-pack test --headless "$@"`, its output in $1; the exit status of
# wasm-pack, or 124 when it was stopped at the limit.
browser_attempt() {
  local log=$1
  shift
  set -m # the job gets a process group of its own, so that stopping it stops its children
  wasm-pack test --mode no-install --headless "$@" >"$log" 2>&1 &
  local pid=$!
  set +m
  local waited=0 loading_since=-1 why=""
  while kill -0 "$pid" 2>/dev/null; do
    # Each test binary's page: the runner prints "Running headless tests in" before it
    # starts the driver and asks for the page, and the page "running N tests" once loaded.
    # Until the background job has made its log, nothing is pending (and awk stays quiet).
    local pending
    pending=$(awk '/^Running headless tests in/ { p = 1 } /^running [0-9]+ tests?$/ { p = 0 } END { print p + 0 }' "$log" 2>/dev/null)
    if ((pending)); then
      ((loading_since < 0)) && loading_since=$waited
    else
      loading_since=-1
    fi
    if ((waited >= BROWSER_SUITE_LIMIT)); then
      why=$BROWSER_SUITE_HUNG
    elif ((loading_since >= 0 && waited - loading_since >= BROWSER_PAGE_LIMIT)); then
      why=$BROWSER_PAGE_STALLED
    fi
    if [[ -n $why ]]; then
      echo "$why" >>"$log"
      kill -TERM -- "-$pid" 2>/dev/null
      sleep 5
      kill -KILL -- "-$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 1
    waited=$((waited + 1))
  done
  wait "$pid"
}

# wasm-pack test in a headless browser ("$@": which one). Once more, and only once, when
# the browser never loaded the test page or the run hung; any other failure fails the step.
# The first attempt's output is kept, its result lines renamed so that they are not counted
# twice.
browser_suites() {
  local first="$STEP_LOG.attempt-1"
  if browser_attempt "$first" "$@"; then
    cat "$first"
    return 0
  fi
  if ! grep -qF -e "$PAGE_NEVER_LOADED" -e "$BROWSER_SUITE_HUNG" -e "$BROWSER_PAGE_STALLED" "$first"; then
    cat "$first"
    return 1
  fi
  sed -e 's/^/attempt 1 | /' -e 's/test result:/suite result:/' "$first"
  echo "NOTE: the browser never loaded the test page, or the run hung (no test result); running the suites once more"
  local second="$STEP_LOG.attempt-2"
  local status=0
  browser_attempt "$second" "$@" || status=$?
  cat "$second"
  return "$status"
}
step_wasm_chrome() {
  # The suites exist: a run that executes none fails in require_tests_ran, never skips.
  browser_suites --chrome --chromedriver "$PC_CHROMEDRIVER"
  require_tests_ran "$STEP_LOG" "wasm-pack test --chrome"
}
step_wasm_firefox() {
  browser_suites --firefox --geckodriver "$PC_GECKODRIVER"
  require_tests_ran "$STEP_LOG" "wasm-pack test --firefox"
}
step_wasm_node() {
  wasm-pack test --mode no-install --node
  require_tests_ran "$STEP_LOG" "wasm-pack test --node"
}
step_release_build() {
  local wasm_opt
  wasm_opt="$(command -v wasm-opt || true)"
  if [[ $wasm_opt != "$PC_ROOT/node_modules/.bin/wasm-opt" ]]; then
    echo "ERROR: wasm-opt on PATH is '${wasm_opt:-none}', not npm's binaryen ($PC_ROOT/node_modules/.bin/wasm-opt)"
    return 1
  fi
  echo "using $(wasm-opt --version) at $wasm_opt"
  # The project's build: wasm-pack build --release --target web --out-dir pkg --no-pack,
  # plus its fix-ups of the generated module (e2e tests load that pkg/).
  require_path scripts/build-pkg.mjs
  node scripts/build-pkg.mjs --target web --out-dir pkg
  # wasm-pack must have used npm's wasm-opt (it silently skips wasm-opt in no-install mode
  # when it finds none) and must not have fetched its own wasm-bindgen.
  if ! grep -q "found wasm-opt at \"$wasm_opt\"" "$STEP_LOG"; then
    echo "ERROR: wasm-pack did not report using $wasm_opt"
    return 1
  fi
  if grep -q "Installing wasm-bindgen" "$STEP_LOG"; then
    echo "ERROR: wasm-pack installed its own wasm-bindgen: scripts/setup.sh should have installed the Cargo.lock version"
    return 1
  fi
  local f raw gz found=0
  for f in pkg/*.wasm; do
    [[ -f $f ]] || continue
    found=1
    raw=$(wc -c <"$f")
    gz=$(gzip -9 -c "$f" | wc -c)
    awk -v f="$f" -v r="$raw" -v g="$gz" 'BEGIN {
      printf "size %s: %d bytes raw (%.1f KiB), %d bytes gzip -9 (%.1f KiB)\n", f, r, r / 1024, g, g / 1024 }'
  done
  if [[ $found == 0 ]]; then
    echo "ERROR: no .wasm in pkg/"
    return 1
  fi
}
step_e2e() {
  require_path tests/e2e
  node --test tests/e2e/
  require_tests_ran "$STEP_LOG" "node --test tests/e2e/"
}
step_bench_smoke() {
  require_path bench/run.mjs
  node bench/run.mjs --smoke
  # Its closing line counts its sanity checks; a run that checked nothing is no pass.
  if ! grep -Eq '^[1-9][0-9]* passed, 0 failed$' "$STEP_LOG"; then
    echo "ERROR: bench/run.mjs --smoke did not end with 'N passed, 0 failed'"
    return 1
  fi
  # The before-and-after tool (docs/performance.md), one round: it fails when a build does
  # not resolve every call of the plan.
  require_path bench/ab.mjs
  node bench/ab.mjs pkg pkg --rounds 1 --shapes wide
  if ! grep -Eq '^wide +A [0-9.]+ ms' "$STEP_LOG"; then
    echo "ERROR: bench/ab.mjs printed no line for the wide plan"
    return 1
  fi
}
step_chaos_smoke() {
  require_path chaos/run.mjs
  require_path chaos/judge.test.mjs
  node --test chaos/
  require_tests_ran "$STEP_LOG" "node --test chaos/"
  node chaos/run.mjs --smoke
  if ! grep -Eq '^chaos: 0 discrepancies in [1-9][0-9]* orders, 0 errors$' "$STEP_LOG"; then
    echo "ERROR: the chaos smoke run did not end with 'chaos: 0 discrepancies in N orders, 0 errors'"
    return 1
  fi
}
# The consumers of the packed package: each project and its test must be there (a missing
# one fails the step), and the tests run against the mock of step 8.
CONSUMERS=(node vite worker typescript page)
step_consumers() {
  local name
  require_path scripts/pack.mjs
  require_path tests/consumers/helpers.mjs
  require_path tests/consumers/package.test.mjs
  for name in "${CONSUMERS[@]}"; do
    require_path "tests/consumers/$name/package.json"
    require_path "tests/consumers/$name/package-lock.json"
    require_path "tests/consumers/$name.test.mjs"
  done
  local tarball
  tarball="$(node scripts/pack.mjs)"
  echo "packed $tarball"
  PC_PACKAGE_TGZ="$tarball" node --test tests/consumers/
  require_tests_ran "$STEP_LOG" "node --test tests/consumers/"
}

STEPS=(setup fmt clippy-native clippy-wasm cargo-test docs fuzz mock-unit mock-start
  wasm-chrome wasm-firefox wasm-node release-build e2e bench-smoke chaos-smoke consumers)

# ------------------------------------------------------------------ one step (internal)
# test.sh --run-step NAME: what the loop below runs, in a new session, for each step.
if [[ ${1:-} == --run-step ]]; then
  fn="step_${2//-/_}"
  set +e
  ( set -euo pipefail; "$fn" ) 2>&1 | tee "$STEP_LOG"
  exit "${PIPESTATUS[0]}"
fi

# ------------------------------------------------------------------ runner
declare -A result=() elapsed=()
tests_passed=0
tests_failed=0
n_passed=0
n_failed=0
n_skipped=0
t_all=$EPOCHREALTIME

secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

print_summary() {
  local name
  echo
  echo "================================ summary ================================"
  for name in "${STEPS[@]}"; do
    printf '  %-8s %-14s %s\n' "${result[$name]:-not run}" "$name" "${elapsed[$name]:+${elapsed[$name]} s}"
  done
  echo "total $(secs_since "$t_all") s; PC_MOCK_PORT=$PC_MOCK_PORT"
  echo "steps: $n_passed passed, $n_failed failed, $n_skipped skipped"
  echo "tests: $tests_passed passed, $tests_failed failed"
}

i=0
for name in "${STEPS[@]}"; do
  i=$((i + 1))
  STEP_LOG="$run_dir/$name.log"
  export STEP_LOG
  echo
  echo "==> [$i/${#STEPS[@]}] $name"
  t0=$EPOCHREALTIME
  current_step="$name"
  setsid bash "$SELF" --run-step "$name" </dev/null &
  step_pid=$!
  rc=0
  wait "$step_pid" || rc=$?
  step_pid=""
  elapsed[$name]="$(secs_since "$t0")"
  read -r p f < <(count_tests "$STEP_LOG")
  tests_passed=$((tests_passed + p))
  tests_failed=$((tests_failed + f))
  if [[ $rc == 0 ]]; then
    result[$name]=ok
    n_passed=$((n_passed + 1))
    echo "<== [$i/${#STEPS[@]}] $name: ok (${elapsed[$name]} s)"
  elif [[ $rc == "$SKIP" ]]; then
    result[$name]=skipped
    n_skipped=$((n_skipped + 1))
    echo "<== [$i/${#STEPS[@]}] $name: SKIPPED (${elapsed[$name]} s)"
  else
    result[$name]=FAILED
    n_failed=$((n_failed + 1))
    echo "<== [$i/${#STEPS[@]}] $name: FAILED with exit status $rc (${elapsed[$name]} s)"
    echo
    if [[ -s $run_dir/mock.err && $name != mock-start ]]; then
      echo "---- last lines of the mock's stderr ----"
      tail -n 30 "$run_dir/mock.err"
    fi
    echo "######## FAILED: step $name ########"
    print_summary
    exit 1
  fi
done
print_summary
