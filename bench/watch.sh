#!/usr/bin/env bash
# Sustained ingest and alert latency of `fivehundred watch` (issue 5: ≥ 200,000 lines/s on one
# core, alerts in under a second), on a release build pinned to one core.
#
#   bash bench/watch.sh                         # 512 MB access log, seed 42, 3 ingest runs
#   SIZE=128M RUNS=1 PROBES=5 bash bench/watch.sh
#   PERF=1 bash bench/watch.sh                  # also a `perf record` of an extra ingest run
#
# What it does, in order:
#   1. installs what is missing (python3, curl, taskset; perf with PERF=1) with apt-get, via
#      sudo when not root;
#   2. builds fivehundred and the log generator (examples/genlog.rs) in release mode;
#   3. generates the access log once and keeps it in $BENCH_DIR (outside the repo), keyed by
#      size, seed and the generator's source;
#   4. starts a webhook receiver (a small python3 HTTP server that writes down when each POST
#      arrived), then for each of RUNS ingest runs: a fresh state directory and an empty
#      followed directory, `taskset -c 0 fivehundred watch DIR --state … --webhook …`, and,
#      on the other core, the whole log appended to DIR/access.log at full speed (`cat`, 128 KiB
#      writes); `/metrics` is polled every POLL seconds until `fivehundred_log_lines_total`
#      (parsed + unparsed) has every line: lines/s = lines / (that moment - the start of the
#      append). The watch process's CPU time (user + sys, from /proc) gives lines per CPU
#      second as well;
#   5. after the last run, with watch caught up and idle: alert latency. One `error_spike`
#      (a burst of 5xx lines stamped now, in one write), then PROBES times a `/robots.txt` 503
#      stamped now and, once that alert arrived, a `/robots.txt` 200 that resolves it; the time
#      from the write to the webhook POST arriving is measured for each firing and each
#      resolution, after a random pause (0 to 0.5 s) so the probes land at every point of
#      watch's idle poll;
#   6. the same probes while a paced writer keeps appending the log's lines (robots.txt lines
#      left out, they would fire and resolve the alert themselves) at RATE lines/s, to see the
#      latency under that load and that watch keeps up with it (its lag at the end);
#   7. prints the figures and appends them, with the command, the machine and the load, to
#      bench/RESULTS.md.
#
# Environment: SIZE (512M), SEED (42), RUNS (3), PROBES (10), RATE (200000: the paced writer's
# lines/s; 0 skips step 6), POLL (0.05), PORT (19500, and PORT+1 for the receiver), BENCH_DIR
# (/tmp/fivehundred-bench-watch), RESULTS (bench/RESULTS.md), PERF (0), CORE (0: the core watch
# is pinned to; the writers run on the others when there are any).
set -euo pipefail

SIZE=${SIZE:-512M}
SEED=${SEED:-42}
RUNS=${RUNS:-3}
PROBES=${PROBES:-10}
RATE=${RATE:-200000}
POLL=${POLL:-0.05}
PORT=${PORT:-19500}
BENCH_DIR=${BENCH_DIR:-/tmp/fivehundred-bench-watch}
RESULTS=${RESULTS:-bench/RESULTS.md}
PERF=${PERF:-0}
CORE=${CORE:-0}

cd "$(dirname "$0")/.."
REPO=$PWD
BIN=$REPO/target/release/fivehundred
GENLOG=$REPO/target/release/examples/genlog
RECEIVER_PORT=$((PORT + 1))

# shellcheck source=bench/common.sh
. bench/common.sh

# --- 1. tools --------------------------------------------------------------------------------

install_tools() {
  local tools=(python3=python3 curl=curl taskset=util-linux cat=coreutils)
  [ "$PERF" = 1 ] && tools+=(perf=linux-perf)
  install_missing "${tools[@]}"
}

# --- 3. data ---------------------------------------------------------------------------------

# Sets DATA to the cached directory for this size, seed and generator source, making it if
# needed: access.log, stats.json, and paced.log (access.log without its robots.txt lines).
prepare_data() {
  local gen_hash
  gen_hash=$(sha256sum examples/genlog.rs | cut -c1-12)
  DATA=$BENCH_DIR/$SIZE-seed$SEED-gen$gen_hash
  if [ -f "$DATA/.complete" ]; then
    say "cached log: $DATA"
    return
  fi
  mkdir -p "$BENCH_DIR"
  find "$BENCH_DIR" -mindepth 1 -maxdepth 1 -type d -name '*-seed*-gen*' -exec rm -rf {} +
  local tmp=$DATA.tmp
  rm -rf "$tmp"
  say "generating $SIZE of access log (seed $SEED) in $tmp"
  "$GENLOG" --size "$SIZE" --seed "$SEED" --out "$tmp" >/dev/null
  rm -f "$tmp/error.log"
  grep -a -v -F ' /robots.txt' "$tmp/access.log" > "$tmp/paced.log" || true
  touch "$tmp/.complete"
  mv "$tmp" "$DATA"
}

gen_stat() { grep -o "\"$1\": [0-9]*" "$DATA/stats.json" | grep -o '[0-9]*$'; }

# --- 4. helpers ------------------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fivehundred-watch-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The python side: the webhook receiver, the latency probes and the paced writer.
write_helper() {
  cat > "$WORK/helper.py" <<'PY'
import json, os, random, sys, threading, time, urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def receiver(port, out):
    """Writes one JSON line per POST: its arrival time (after the body) and the alert."""
    f = open(out, "a", buffering=1)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            at = time.time()
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {}
            with lock:
                f.write(json.dumps({"received": at, "alert": doc.get("alert"),
                                    "status": doc.get("status"), "summary": doc.get("summary")}) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def stamp(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


def line(path, status, t=None):
    return ('203.0.113.9 - - [%s] "GET %s HTTP/1.1" %d 512 "-" '
            '"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"\n'
            % (stamp(t or time.time()), path, status)).encode()


def append(log, data):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class Alerts:
    """Follows the receiver's file."""

    def __init__(self, path):
        self.f = open(path)

    def wait(self, alert, status, timeout=30.0):
        end = time.time() + timeout
        buf = ""
        while time.time() < end:
            chunk = self.f.readline()
            if not chunk:
                time.sleep(0.002)
                continue
            buf += chunk
            if not buf.endswith("\n"):
                continue
            doc, buf = json.loads(buf), ""
            if doc["alert"] == alert and doc["status"] == status:
                return doc
        return None


def probes(log, alerts_file, n, label):
    """Prints `label kind latency_s` per probe; `lost` when no alert came within 30 s."""
    alerts = Alerts(alerts_file)
    alerts.f.seek(0, os.SEEK_END)
    rows = []
    if label == "idle":
        # A burst of 5xx (30 of 40 lines, stamped now, in one write): error_spike, once (it
        # resolves only after 5 calm minutes).
        t0 = time.time()
        append(log, b"".join(line("/checkout", 500 if i % 4 else 200, t0) for i in range(40)))
        doc = alerts.wait("error_spike", "firing")
        rows.append(("error_spike", doc["received"] - t0 if doc else None))
    # robots.txt may be firing from the log's history: a 200 first resolves it.
    append(log, line("/robots.txt", 200))
    alerts.wait("robots_txt_5xx", "resolved", timeout=3.0)
    for _ in range(n):
        time.sleep(random.uniform(0.0, 0.5))
        t0 = time.time()
        append(log, line("/robots.txt", 503, t0))
        doc = alerts.wait("robots_txt_5xx", "firing")
        rows.append(("robots_txt_5xx firing", doc["received"] - t0 if doc else None))
        time.sleep(random.uniform(0.0, 0.5))
        t0 = time.time()
        append(log, line("/robots.txt", 200, t0))
        doc = alerts.wait("robots_txt_5xx", "resolved")
        rows.append(("robots_txt_5xx resolved", doc["received"] - t0 if doc else None))
    for kind, latency in rows:
        print(label, kind.replace(" ", "_"), "lost" if latency is None else "%.4f" % latency)


def pace(src, log, rate, seconds, avg_line):
    """Appends src's lines to log at `rate` lines/s (paced in bytes by the average line, cut
    at a newline; from its top again at its end) in 10 ms steps for `seconds`; prints the
    lines and bytes written and the seconds it took."""
    data = open(src, "rb").read()
    per_step = int(rate * avg_line / 100)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pos, lines, start = 0, 0, time.monotonic()
    step = 0
    written = 0
    while time.monotonic() - start < seconds:
        step += 1
        if pos >= len(data):
            pos = 0  # from the top again: the rate holds however long the probes take
        end = data.find(b"\n", min(pos + per_step, len(data) - 1)) + 1 or len(data)
        os.write(fd, data[pos:end])
        lines += data.count(b"\n", pos, end)
        written += end - pos
        pos = end
        delay = start + step / 100 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - start
    print(lines, written, "%.3f" % elapsed)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "receiver":
        receiver(int(args[0]), args[1])
    elif cmd == "probes":
        probes(args[0], args[1], int(args[2]), args[3])
    elif cmd == "pace":
        pace(args[0], args[1], int(args[2]), float(args[3]), float(args[4]))
PY
}

# A Prometheus sample's value summed over its label sets: `metric NAME`.
metric() {
  { curl -sf --max-time 10 "http://127.0.0.1:$PORT/metrics" || true; } | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%.0f", s }'
}

# CPU seconds (user + sys) used so far by a process and its threads.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

# The core(s) the writers run on: any but watch's, when there are others.
other_cores() {
  local n
  n=$(nproc)
  if [ "$n" -gt 1 ]; then
    seq 0 $((n - 1)) | grep -vx "$CORE" | paste -sd, -
  else
    echo "$CORE"
  fi
}

# Starts watch pinned to $CORE on an empty followed dir and a fresh state; sets WATCH_PID,
# FOLLOW. Waits for /healthz.
start_watch() {
  local run=$1
  FOLLOW=$WORK/run$run/follow
  STATE=$WORK/run$run/state
  mkdir -p "$FOLLOW" "$STATE"
  taskset -c "$CORE" "$BIN" watch "$FOLLOW" --state "$STATE" --listen "127.0.0.1:$PORT" \
    --webhook "http://127.0.0.1:$RECEIVER_PORT/" > "$WORK/run$run/watch.out" 2> "$WORK/run$run/watch.err" &
  WATCH_PID=$!
  PIDS+=("$WATCH_PID")
  local i
  for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return
    kill -0 "$WATCH_PID" 2>/dev/null || { cat "$WORK/run$run/watch.err" >&2; die "watch exited"; }
    sleep 0.1
  done
  die "watch did not answer /healthz on 127.0.0.1:$PORT"
}

stop_watch() {
  kill "$WATCH_PID"
  wait "$WATCH_PID" 2>/dev/null || true
}

# --- 5. measure ------------------------------------------------------------------------------

INGEST=()    # run|lines|elapsed s|cpu s|peak RSS KB

ingest_run() {
  local run=$1 lines=$2
  start_watch "$run"
  local cpu0 t0 t1 n=0 cpu1 rss
  cpu0=$(cpu_seconds "$WATCH_PID")
  if [ "$run" = 0 ]; then
    perf record -g -o "$WORK/perf.data" -p "$WATCH_PID" 2> "$WORK/perf.err" > /dev/null &
    PERF_PID=$!
    sleep 0.5
  fi
  t0=$(date +%s.%N)
  taskset -c "$(other_cores)" cat "$DATA/access.log" > "$FOLLOW/access.log"
  while :; do
    n=$(metric fivehundred_log_lines_total)
    [ "$n" -ge "$lines" ] && break
    kill -0 "$WATCH_PID" 2>/dev/null || die "watch exited during run $run"
    sleep "$POLL"
  done
  t1=$(date +%s.%N)
  cpu1=$(cpu_seconds "$WATCH_PID")
  rss=$(awk '/VmHWM/ { print $2 }' "/proc/$WATCH_PID/status")
  if [ "$run" = 0 ]; then
    kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
    perf report -i "$WORK/perf.data" --no-children --percent-limit 2 --stdio 2>/dev/null \
      | grep -E '^ +[0-9.]+%' | head -25 > "$WORK/perf.top" || true
  fi
  [ "$n" = "$lines" ] || say "warning: run $run counted $n lines, the log has $lines"
  local row
  row=$(awk -v r="$run" -v l="$n" -v a="$t0" -v b="$t1" -v c0="$cpu0" -v c1="$cpu1" -v rss="$rss" \
    'BEGIN { printf "%s|%d|%.3f|%.2f|%d", r, l, b - a, c1 - c0, rss }')
  [ "$run" = 0 ] || INGEST+=("$row")
  say "run $run: $(awk -F'|' '{ printf "%d lines in %.3f s: %.0f lines/s; %.2f CPU s: %.0f lines per CPU s; peak RSS %.0f MB", $2, $3, $2 / $3, $4, $2 / $4, $5 / 1024 }' <<< "$row")"
  responses=$(metric fivehundred_responses_total)
  [ "$run" = "$RUNS" ] || stop_watch
}

# Latency probes against the last run's watch (caught up): idle, then under the paced load.
latency() {
  local log=$FOLLOW/access.log
  say "alert latency, watch idle: 1 error_spike and $PROBES robots.txt probes"
  sleep 3  # let the 5xx of the history settle (explained after 1.5 s)
  python3 "$WORK/helper.py" probes "$log" "$WORK/alerts.jsonl" "$PROBES" idle >> "$WORK/latency"
  PACED=
  if [ "$RATE" -gt 0 ]; then
    local avg secs=$((2 * PROBES + 5)) before cpu0 cpu1 paced_secs
    avg=$(awk -v b="$(stat -c %s "$DATA/access.log")" -v l="$(gen_stat lines)" 'BEGIN { printf "%.2f", b / l }')
    before=$(metric fivehundred_log_lines_total)
    cpu0=$(cpu_seconds "$WATCH_PID")
    say "alert latency while $RATE lines/s are appended for about $secs s"
    taskset -c "$(other_cores)" python3 "$WORK/helper.py" pace "$DATA/paced.log" "$log" "$RATE" "$secs" "$avg" > "$WORK/paced" &
    local pacer=$!
    PIDS+=("$pacer")
    sleep 2
    python3 "$WORK/helper.py" probes "$log" "$WORK/alerts.jsonl" "$PROBES" loaded >> "$WORK/latency"
    wait "$pacer"
    local end_counted lines_written
    end_counted=$(metric fivehundred_log_lines_total)
    cpu1=$(cpu_seconds "$WATCH_PID")
    read -r lines_written _ paced_secs < "$WORK/paced"
    # Lines still to count when the writer stopped (the probes' lines included: a 200, then a
    # 503 and a 200 per probe), and how long until none.
    local target=$((before + lines_written + 1 + 2 * PROBES)) t0 n waited
    t0=$(date +%s.%N)
    while :; do
      n=$(metric fivehundred_log_lines_total)
      [ "$n" -ge "$target" ] && break
      awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a > 30) }' && { say "warning: watch did not catch up within 30 s"; break; }
      sleep "$POLL"
    done
    waited=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    PACED=$(awk -v l="$lines_written" -v s="$paced_secs" -v c0="$cpu0" -v c1="$cpu1" -v lag="$((target - end_counted))" -v w="$waited" -v rate="$RATE" \
      'BEGIN { printf "writer: %d lines in %.1f s (%.0f lines/s, asked %d); watch CPU %.0f%% of its core meanwhile; at the writer'"'"'s end %d lines were uncounted, all counted %.2f s later", l, s, l / s, rate, (c1 - c0) / s * 100, lag, w }')
    say "$PACED"
  fi
}

# --- 6. report -------------------------------------------------------------------------------

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ingest_table() {
  echo "| run | lines | wall s | lines/s | watch CPU s | lines per CPU s | peak RSS |"
  echo "|--:|--:|--:|--:|--:|--:|--:|"
  local r
  for r in "${INGEST[@]}"; do
    awk -F'|' '{ printf "| %s | %d | %.3f | %.0f | %.2f | %.0f | %.0f MB |\n", $1, $2, $3, $2 / $3, $4, $2 / $4, $5 / 1024 }' <<< "$r"
  done
}

latency_table() {
  echo "| load | alert | probes | median s | max s | lost |"
  echo "|---|---|--:|--:|--:|--:|"
  local load kind
  for load in idle loaded; do
    for kind in error_spike robots_txt_5xx_firing robots_txt_5xx_resolved; do
      local values lost n
      values=$(awk -v l="$load" -v k="$kind" '$1 == l && $2 == k && $3 != "lost" { print $3 }' "$WORK/latency")
      lost=$(awk -v l="$load" -v k="$kind" '$1 == l && $2 == k && $3 == "lost"' "$WORK/latency" | wc -l)
      n=$(awk -v l="$load" -v k="$kind" '$1 == l && $2 == k' "$WORK/latency" | wc -l)
      [ "$n" -gt 0 ] || continue
      printf '| %s | %s | %d | %s | %s | %d |\n' "$load" "${kind//_5xx_/_5xx }" "$n" \
        "$(median <<< "$values" | awk '{ printf "%.3f", $1 }')" \
        "$(sort -g <<< "$values" | tail -1 | awk '{ printf "%.3f", $1 }')" "$lost"
    done
  done
}

targets() {
  local rates median_rate worst
  rates=$(for r in "${INGEST[@]}"; do awk -F'|' '{ print $2 / $3 }' <<< "$r"; done)
  median_rate=$(median <<< "$rates")
  worst=$(awk '$3 != "lost" { print $3 } $3 == "lost" { print 999 }' "$WORK/latency" | sort -g | tail -1)
  awk -v r="$median_rate" -v w="$worst" 'BEGIN {
    printf "- ≥ 200,000 lines/s on one core (median of the runs, wall clock): %.0f lines/s, %s\n", r, (r >= 200000 ? "met" : "missed")
    printf "- alert latency < 1 s (worst probe, idle and loaded): %.3f s, %s\n", w, (w < 1 ? "met" : "missed")
  }'
}

machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "${cpu:-unknown CPU}, nproc $(nproc), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
}

report() {
  local commit dirty date cmd
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=
  if git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock 2>/dev/null | grep -q .; then
    dirty=" + uncommitted changes to src/"
  fi
  date=$(date -u '+%Y-%m-%d %H:%M UTC')
  cmd="SIZE=$SIZE SEED=$SEED RUNS=$RUNS PROBES=$PROBES RATE=$RATE bash bench/watch.sh"
  [ "$PERF" = 1 ] && cmd="PERF=1 $cmd"
  local section
  section=$(
    echo "## $date: watch, SIZE=$SIZE SEED=$SEED, commit $commit$dirty"
    echo
    echo "Command: \`$cmd\`"
    echo
    echo "- machine: $(machine)"
    echo "- load (uptime) before: $LOAD_BEFORE; after: $(uptime | sed 's/.*load average: //')"
    echo "- input: access.log $(stat -c %s "$DATA/access.log") bytes, $(gen_stat lines) lines ($(gen_stat malformed) malformed), $(gen_stat server_errors) 5xx, log time $(grep -o '"first": "[^"]*"' "$DATA/stats.json" | cut -d'"' -f4) to $(grep -o '"last": "[^"]*"' "$DATA/stats.json" | cut -d'"' -f4); \`fivehundred_responses_total\` after the last run: $responses"
    echo "- ingest: \`taskset -c $CORE fivehundred watch DIR --state STATE --webhook …\` (fresh state, empty DIR, release build), then \`cat access.log > DIR/access.log\` on core(s) $(other_cores); wall = from the start of the append until \`/metrics\` (polled every ${POLL} s) counts every line in \`fivehundred_log_lines_total\`; it includes watch's idle poll (≤ 0.2 s) before it sees the new file, the SQLite commit (fsync) of each step and the scrapes; CPU = the watch process's user + sys over the same time"
    echo "- alert latency: write of the line(s) stamped now → the webhook POST received (python3 receiver on 127.0.0.1); a random 0–0.5 s pause before each probe; idle = watch caught up; loaded = while a paced writer appends the log (its robots.txt lines left out) at $RATE lines/s"
    echo
    ingest_table
    echo
    latency_table
    echo
    [ -n "$PACED" ] && { echo "Under load: $PACED."; echo; }
    echo "Targets (issue 5):"
    echo
    targets
    if [ -s "$WORK/perf.top" ]; then
      echo
      echo "Where the time of an extra, untimed ingest run went (\`perf record -g -p\` on watch, self time, entries ≥ 2%):"
      echo
      echo '```'
      cat "$WORK/perf.top"
      echo '```'
    fi
  )
  echo
  echo "$section"
  printf '\n%s\n' "$section" >> "$RESULTS"
  say "appended to $RESULTS"
}

main() {
  LOAD_BEFORE=$(uptime | sed 's/.*load average: //')
  install_tools
  build
  prepare_data
  cat "$DATA/access.log" "$DATA/paced.log" > /dev/null   # page cache
  write_helper
  : > "$WORK/alerts.jsonl"
  : > "$WORK/latency"
  python3 "$WORK/helper.py" receiver "$RECEIVER_PORT" "$WORK/alerts.jsonl" &
  PIDS+=("$!")
  local lines run
  lines=$(gen_stat lines)
  if [ "$PERF" = 1 ]; then
    say "profiled ingest run (not timed): $lines lines"
    ingest_run 0 "$lines"
  fi
  for run in $(seq 1 "$RUNS"); do
    say "ingest run $run of $RUNS: $lines lines"
    ingest_run "$run" "$lines"
  done
  latency
  stop_watch
  report
}

main "$@"
