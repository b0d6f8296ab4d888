#!/usr/bin/env bash
# Issue 16's audit ("no silent loss"), re-measured on the release build: the figures its
# acceptance asks for, rebuilt from the issue's own findings, printed as a table and appended
# to bench/RESULTS.md with the command and the machine.
#
#   bash bench/audit.sh                          # the defaults below, about 5 minutes
#   CASE_5XX=100000 STORM_KILLS=160 bash bench/audit.sh   # the issue's sizes
#
# What it measures (everything on 127.0.0.1, under $WORK):
#   a. diagnose and seo on the hostile inputs the issue names (PHP notices ahead of the 5xx,
#      junk at the head, middle and end, inside .gz/.bz2/.xz, banners and format changes, logs
#      in subdirectories, blank and `000`-status first lines, invalid UTF-8, huge lines, a cut
#      last line, a file of only junk, one good log among unreadable files, …; bench/audit.py
#      `cases`), each with CASE_5XX 5xx written. A case is a SILENT LOSS when the tool reports
#      fewer 5xx than written, says nothing on stderr and does not exit 2 (for a case with no
#      5xx, when it reads nothing and says nothing); `said` when it reports fewer and says why;
#   b. watch on the six first-line scenarios (blank, `000` status, banner, PHP notice, junk,
#      a format change after a banner): the head written and read first, then WATCH_5XX 5xx;
#      5xx written vs `fivehundred_responses_total` for 5xx codes;
#   c. a fault storm: STORM_LINES lines appended in STORM_KILLS segments, each segment with a
#      status code of its own, the log rotated every ROTATE lines (rename and copytruncate in
#      turn) while watch is `kill -9`ed and started again once per segment; lines lost and
#      doubled per code, from `fivehundred_responses_total{code}`;
#   d. descriptors: watch under `ulimit -n FD_LIMIT` following FD_FILES files while FD_IDLE
#      idle connections are held open; lines appended to every file, a tenth of them
#      copytruncated, more lines appended: whether `/metrics` answered, lines lost and doubled;
#   e. a webhook that answers POSTs with a 302 (an http→https redirect) for a while, then 200:
#      ALERTS alerts (robots.txt failing and answering again), those that never arrived as a
#      POST, against a control run with a webhook that answers 200 from the start.
#
# Environment: CASE_5XX (20000), WATCH_5XX (2000), STORM_LINES (400000), STORM_KILLS (40),
# ROTATE (3000), FD_FILES (1500), FD_IDLE (1100), FD_LIMIT (1024), ALERTS (10), PORT (19600;
# PORT+1 for the webhook), WORK (/tmp/fivehundred-audit), RESULTS (bench/RESULTS.md; empty:
# print only), BIN (a fivehundred binary to measure instead of building the release one, e.g.
# an older build for a before/after).
set -euo pipefail

CASE_5XX=${CASE_5XX:-20000}
WATCH_5XX=${WATCH_5XX:-2000}
STORM_LINES=${STORM_LINES:-400000}
STORM_KILLS=${STORM_KILLS:-40}
ROTATE=${ROTATE:-3000}
FD_FILES=${FD_FILES:-1500}
FD_IDLE=${FD_IDLE:-1100}
FD_LIMIT=${FD_LIMIT:-1024}
ALERTS=${ALERTS:-10}
PORT=${PORT:-19600}
WORK=${WORK:-/tmp/fivehundred-audit}
RESULTS=${RESULTS-bench/RESULTS.md}

cd "$(dirname "$0")/.."
REPO=$PWD
BUILT=${CARGO_TARGET_DIR:-$REPO/target}/release/fivehundred
BIN=${BIN:-}
HELPER=$REPO/bench/audit.py
HOOK_PORT=$((PORT + 1))

# shellcheck source=bench/common.sh
. bench/common.sh

# Lines of the table, and each part's verdict line for RESULTS.md.
TABLE=()
SUMMARY=()

WATCH_PID=
HELPER_PIDS=()
# At exit: what is still running of ours (a helper already gone is no failure).
cleanup() {
  if [ -n "$WATCH_PID" ]; then kill -9 "$WATCH_PID" 2>/dev/null || true; fi
  for pid in "${HELPER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# --- watch ----------------------------------------------------------------------------------

# metric NAME [LABEL_REGEX]: the sum of NAME's series (those whose labels match), or nothing
# when /metrics does not answer within 5 s.
metric() {
  local text
  text=$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics") || return 0
  awk -v n="$1" -v l="${2:-}" '
    ($1 == n || index($1, n "{") == 1) && (l == "" || $1 ~ l) { s += $2 }
    END { printf "%.0f", s }' <<<"$text"
}

# start_watch STATE PATH... [-- WATCH_FLAGS...]: starts watch in the background (WATCH_PID),
# its stderr to STATE.err, and waits for /healthz.
start_watch() {
  local state=$1; shift
  "$BIN" watch --state "$state" --listen "127.0.0.1:$PORT" "$@" 2>>"$state.err" &
  WATCH_PID=$!
  wait_healthz "$state"
}

wait_healthz() {
  local i
  for i in $(seq 1 400); do
    curl -sf --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
    kill -0 "$WATCH_PID" 2>/dev/null || { cat "$1.err" >&2; die "watch exited"; }
    sleep 0.05
  done
  die "watch did not answer /healthz"
}

stop_watch() {
  kill "$WATCH_PID" 2>/dev/null || true
  wait "$WATCH_PID" 2>/dev/null || true
  WATCH_PID=
}

# wait_lines N [LIMIT_S]: until watch counted at least N log lines, or LIMIT_S seconds (30)
# passed with no new line counted.
wait_lines() {
  local want=$1 limit=${2:-30} last=-1 n still=0
  while :; do
    n=$(metric fivehundred_log_lines_total)
    [ -n "$n" ] && [ "$n" -ge "$want" ] && return 0
    if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; last=$n; fi
    [ "$still" -ge $((limit * 10)) ] && return 0
    sleep 0.1
  done
}

# per_code_diff WRITTEN_FILE: compares "CODE COUNT" lines with fivehundred_responses_total;
# prints "LOST DOUBLED".
per_code_diff() {
  local lost=0 doubled=0 code want got
  while read -r code want; do
    got=$(metric fivehundred_responses_total "code=\"$code\"")
    got=${got:-0}
    if [ "$got" -lt "$want" ]; then lost=$((lost + want - got)); fi
    if [ "$got" -gt "$want" ]; then doubled=$((doubled + got - want)); fi
  done < <(awk '{ s[$1] += $2 } END { for (c in s) print c, s[c] }' "$1")
  echo "$lost $doubled"
}

# --- a. diagnose and seo --------------------------------------------------------------------

audit_commands() {
  local dir=$WORK/cases name silent=0 said=0 total=0
  say "a. writing the hostile inputs ($CASE_5XX 5xx each)"
  rm -rf "$dir" && mkdir -p "$dir"
  python3 "$HELPER" cases "$dir" "$CASE_5XX" >"$dir/names"
  TABLE+=("" "a. diagnose / seo on hostile inputs" ""
    "| case | 5xx written | diagnose: reported, exit, stderr lines | seo: reported, exit, stderr lines | verdict |"
    "|---|---|---|---|---|")
  while read -r name; do
    local written args verdicts=() cells=() cmd
    written=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["written"])' "$dir/cases.json" "$name")
    mapfile -t args < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))[sys.argv[2]]["args"]))' "$dir/cases.json" "$name")
    for cmd in diagnose seo; do
      local out=$dir/$name/$cmd.json err=$dir/$name/$cmd.err rc=0 got lines verdict
      "$BIN" "$cmd" --format json "${args[@]}" >"$out" 2>"$err" || rc=$?
      got=$(python3 "$HELPER" count "$cmd" "$out")
      lines=$(grep -c . "$err" || true)
      total=$((total + 1))
      if [ "$got" -gt "$written" ]; then
        verdict="OVERCOUNT"
      elif [ "$written" -eq 0 ] && [ "$rc" -ne 2 ] && [ "$lines" -eq 0 ]; then
        verdict="SILENT SKIP"; silent=$((silent + 1))
      elif [ "$got" -lt "$written" ] && [ "$rc" -ne 2 ] && [ "$lines" -eq 0 ]; then
        verdict="SILENT LOSS"; silent=$((silent + 1))
      elif [ "$got" -lt "$written" ]; then
        verdict="said"; said=$((said + 1))
      else
        verdict="ok"
      fi
      cells+=("$got, $rc, $lines")
      verdicts+=("$cmd $verdict")
    done
    TABLE+=("| $name | $written | ${cells[0]} | ${cells[1]} | ${verdicts[*]} |")
  done <"$dir/names"
  SUMMARY+=("- a. diagnose/seo, $((total / 2)) hostile inputs × 2 commands, $CASE_5XX 5xx written in each (0 in \`only_garbage\`): **$silent silent losses** (issue: 21); $said runs report fewer 5xx than written and say why on stderr (the lines a \`.gz\` cut off no longer holds, a directory 9 levels down)")
}

# --- b. watch: first lines --------------------------------------------------------------------

audit_first_lines() {
  local name lost_total=0
  say "b. watch: six first-line scenarios, $WATCH_5XX 5xx each"
  TABLE+=("" "b. watch: a file's first lines, then its 5xx" ""
    "| scenario | 5xx written | 5xx counted | lost |" "|---|---|---|---|")
  for name in blank_first_line status_000_first_line banner_first_line php_notice_first garbage_first format_change; do
    local dir=$WORK/first/$name five lines head_five head_lines counted
    rm -rf "$dir" && mkdir -p "$dir/logs"
    read -r head_five head_lines < <(python3 "$HELPER" watchcase "$name" "$dir/logs/access.log" "$WATCH_5XX" HEAD)
    start_watch "$dir/state" "$dir/logs"
    wait_lines "$head_lines" 2
    sleep 0.5  # one more poll: a blank line is not counted, and must be seen before the rest
    read -r five lines < <(python3 "$HELPER" watchcase "$name" "$dir/logs/access.log" "$WATCH_5XX" BODY)
    wait_lines $((head_lines + lines))
    counted=$(metric fivehundred_responses_total 'code="5')
    stop_watch
    five=$((five + head_five))
    TABLE+=("| $name | $five | $counted | $((five - counted)) |")
    lost_total=$((lost_total + five - counted))
  done
  SUMMARY+=("- b. watch, six first-line scenarios × $WATCH_5XX 5xx: **$lost_total 5xx lost** (issue: 100% in each)")
}

# --- c. fault storm -------------------------------------------------------------------------

audit_storm() {
  local dir=$WORK/storm seg per code written=0 n lost doubled
  say "c. fault storm: $STORM_LINES lines, $STORM_KILLS kill -9s, rotation every $ROTATE lines"
  rm -rf "$dir" && mkdir -p "$dir/logs"
  per=$((STORM_LINES / STORM_KILLS))
  : >"$dir/written"
  start_watch "$dir/state" "$dir/logs"
  for seg in $(seq 0 $((STORM_KILLS - 1))); do
    code=$((200 + seg % 300))
    python3 "$HELPER" storm "$dir/logs/access.log" "$code" "$per" "$ROTATE" "$seg" >"$dir/seg" &
    local writer=$!
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", r % 30 / 100 }')"
    kill -9 "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null || true
    start_watch "$dir/state" "$dir/logs"
    wait "$writer"
    n=$(cat "$dir/seg")
    echo "$code $n" >>"$dir/written"
    written=$((written + n))
  done
  wait_lines "$written" 20
  read -r lost doubled < <(per_code_diff "$dir/written")
  stop_watch
  TABLE+=("" "c. fault storm" "" "| lines written | kill -9 | rotations | lost | doubled |" "|---|---|---|---|---|"
    "| $written | $STORM_KILLS | $(find "$dir/logs" -name 'access.log.*' | wc -l) | $lost | $doubled |")
  SUMMARY+=("- c. fault storm, $written lines, $STORM_KILLS \`kill -9\` restarts, $(find "$dir/logs" -name 'access.log.*' | wc -l) rotations (rename and copytruncate in turn): **$lost lost, $doubled doubled** (issue: 0, 0)")
}

# --- d. descriptors -------------------------------------------------------------------------

audit_descriptors() {
  local dir=$WORK/fd opened closed asked=0 answered=0 lost doubled
  say "d. descriptors: ulimit -n $FD_LIMIT, $FD_FILES files, $FD_IDLE idle connections"
  rm -rf "$dir" && mkdir -p "$dir/logs"
  python3 "$HELPER" files "$dir/logs" "$FD_FILES" 10 220 | sed 's/^/220 /' >"$dir/written"
  (ulimit -n "$FD_LIMIT" && exec "$BIN" watch --state "$dir/state" --listen "127.0.0.1:$PORT" "$dir/logs" 2>>"$dir/state.err") &
  WATCH_PID=$!
  wait_healthz "$dir/state"
  wait_lines $((FD_FILES * 10)) 20
  (ulimit -n $((FD_IDLE + 64)) && exec python3 "$HELPER" idle "$PORT" "$FD_IDLE" "$dir/stop") >"$dir/idle" &
  local idle=$!
  HELPER_PIDS+=("$idle")
  while [ ! -s "$dir/idle" ]; do sleep 0.1; done
  opened=$(head -1 "$dir/idle")
  python3 "$HELPER" files "$dir/logs" "$FD_FILES" 10 221 | sed 's/^/221 /' >>"$dir/written"
  python3 "$HELPER" files "$dir/logs" "$FD_FILES" 10 222 copytruncate 0.1 | sed 's/^/222 /' >>"$dir/written"
  local i
  for i in $(seq 1 10); do
    asked=$((asked + 1))
    curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >/dev/null && answered=$((answered + 1))
    sleep 0.5
  done
  wait_lines $((FD_FILES * 30)) 20
  read -r lost doubled < <(per_code_diff "$dir/written")
  touch "$dir/stop"; wait "$idle" || true
  closed=$(sed -n 2p "$dir/idle")
  stop_watch
  TABLE+=("" "d. descriptors (ulimit -n $FD_LIMIT)" ""
    "| files | idle connections opened | closed by watch | /metrics answered | lines written | lost | doubled |"
    "|---|---|---|---|---|---|---|"
    "| $FD_FILES | $opened | $closed | $answered of $asked | $((FD_FILES * 30)) | $lost | $doubled |")
  SUMMARY+=("- d. descriptors, \`ulimit -n $FD_LIMIT\`, $FD_FILES files followed, $opened idle connections held: \`/metrics\` answered $answered of $asked times (5 s limit); $((FD_FILES * 30)) lines, $((FD_FILES / 10)) files copytruncated: **$lost lost, $doubled doubled** (issue: /metrics stopped, 7,000 doubled, 493 lost)")
}

# --- e. a webhook answering 302 ---------------------------------------------------------------

# webhook_run NAME MODE EXPECT: the alert log through watch with a webhook whose POSTs get
# MODE (200, or 302 until the first alert has been redirected twice, then 200); prints the
# alerts received as POSTs and the POST attempts, once EXPECT arrived (0: once none came for
# 5 s), or after 60 s.
webhook_run() {
  local dir=$WORK/hook/$1 mode=$2 expect=$3 i t
  rm -rf "$dir" && mkdir -p "$dir/logs"
  echo "$mode" >"$dir/mode"
  : >"$dir/got"; : >"$dir/got.posts"
  python3 "$HELPER" receiver "$HOOK_PORT" "$dir/mode" "$dir/got" &
  local rx=$!
  HELPER_PIDS+=("$rx")
  for i in $(seq 1 100); do curl -s --max-time 1 "http://127.0.0.1:$HOOK_PORT/" >/dev/null && break; sleep 0.05; done
  start_watch "$dir/state" "$dir/logs" --webhook "http://127.0.0.1:$HOOK_PORT/hook"
  t=$(date -u +%d/%b/%Y:%H:%M:%S)
  for i in $(seq 1 $((ALERTS / 2))); do
    printf '10.0.0.%d - - [%s +0000] "GET /robots.txt HTTP/1.1" %d 20 "-" "Googlebot/2.1"\n' \
      "$i" "$t" 500 "$i" "$t" 200 >>"$dir/logs/access.log"
  done
  if [ "$mode" = 302 ]; then
    for i in $(seq 1 300); do
      [ "$(wc -l <"$dir/got.posts")" -ge 2 ] && break
      sleep 0.1
    done
    echo 200 >"$dir/mode"
  fi
  local got last=-1 still=0 deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    got=$(wc -l <"$dir/got")
    [ "$expect" -gt 0 ] && [ "$got" -ge "$expect" ] && break
    if [ "$got" = "$last" ]; then still=$((still + 1)); else still=0; last=$got; fi
    [ "$expect" -eq 0 ] && [ "$got" -gt 0 ] && [ "$still" -ge 50 ] && break
    sleep 0.1
  done
  stop_watch
  kill "$rx" 2>/dev/null || true; wait "$rx" 2>/dev/null || true
  echo "$got $(wc -l <"$dir/got.posts")"
}

audit_webhook() {
  local control redirected posts
  say "e. a webhook answering 302: $ALERTS alerts"
  read -r control _ < <(webhook_run control 200 0)
  read -r redirected posts < <(webhook_run redirect 302 "$control")
  TABLE+=("" "e. a webhook answering 302, then 200" ""
    "| alerts (control, webhook answering 200) | received after the 302s | POST attempts | lost |"
    "|---|---|---|---|" "| $control | $redirected | $posts | $((control - redirected)) |")
  SUMMARY+=("- e. webhook answering 302 to POSTs (then 200): $control alerts in the control run, $redirected received: **$((control - redirected)) lost** (issue: 10 of 10)")
}

# --- report ----------------------------------------------------------------------------------

report() {
  local line
  printf '%s\n' "${TABLE[@]}"
  printf '%s\n' "" "${SUMMARY[@]}"
  [ -n "$RESULTS" ] || return 0
  {
    echo
    echo "## audit (issue 16) re-measured, $(date -u +%Y-%m-%d)"
    echo
    echo "\`$(env | grep -E '^(CASE_5XX|WATCH_5XX|STORM_LINES|STORM_KILLS|ROTATE|FD_FILES|FD_IDLE|FD_LIMIT|ALERTS|BIN)=' | tr '\n' ' ')bash bench/audit.sh\` at $(git rev-parse --short HEAD) ($("$BIN" --version)); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)."
    echo
    printf '%s\n' "${SUMMARY[@]}"
    for line in "${TABLE[@]}"; do
      case $line in
        "") echo ;;
        "|"*) echo "$line" ;;
        *) echo "**$line**" ;;
      esac
    done
  } >>"$RESULTS"
  say "appended to $RESULTS"
}

install_missing python3=python3 curl=curl
if [ -z "$BIN" ]; then
  build
  BIN=$BUILT
fi
mkdir -p "$WORK"
audit_commands
audit_first_lines
audit_storm
audit_descriptors
audit_webhook
report
