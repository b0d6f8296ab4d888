#!/usr/bin/env bash
# Throughput of `fivehundred diagnose` (and `seo`, on the same engine) beside the tools people already point at big logs
# (issue 3): GoAccess, gawk, and ripgrep as the floor of any scan, all on the same file with a
# warm page cache, in one run.
#
#   bash bench/run.sh                       # 1 GB access log, seed 42
#   SIZE=256M SEED=7 bash bench/run.sh      # a smaller file, another seed
#   RUNS=3 SLOW_RUNS=1 bash bench/run.sh    # fewer timed runs
#
# What it does, in order:
#   1. installs the tools that are missing (goaccess gawk ripgrep hyperfine time pigz), with
#      apt-get, via sudo when not root;
#   2. builds fivehundred and the log generator (examples/genlog.rs) in release mode;
#   3. generates the logs once and keeps them in $BENCH_DIR (outside the repo), keyed by size,
#      seed and the generator's source, with their .gz and a directory of 100 pieces;
#   4. reads every input once so it is in the page cache, checks each command's output once
#      (exit status, peak RSS), then times it with hyperfine;
#   5. prints a table and appends it, with the machine and the commit, to bench/RESULTS.md.
#
# Environment: SIZE (1G), SEED (42), RUNS (5: timed runs of the fast commands), SLOW_RUNS (1:
# of GoAccess, about a minute per GB), BENCH_DIR (/tmp/fivehundred-bench), RESULTS
# (bench/RESULTS.md), KEEP_OLD=1 keeps cached logs of other sizes, seeds or generator versions.
set -euo pipefail

SIZE=${SIZE:-1G}
SEED=${SEED:-42}
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-1}
BENCH_DIR=${BENCH_DIR:-/tmp/fivehundred-bench}
RESULTS=${RESULTS:-bench/RESULTS.md}

cd "$(dirname "$0")/.."
REPO=$PWD
BIN=$REPO/target/release/fivehundred
GENLOG=$REPO/target/release/examples/genlog

# shellcheck source=bench/common.sh
. bench/common.sh

# --- 1. tools --------------------------------------------------------------------------------

install_tools() {
  install_missing goaccess=goaccess gawk=gawk rg=ripgrep hyperfine=hyperfine \
    /usr/bin/time=time pigz=pigz gzip=gzip split=coreutils
}

# --- 3. data ---------------------------------------------------------------------------------

# Sets DATA to the cached directory for this size, seed and generator source, making it if
# needed: access.log, error.log, stats.json, access.log.gz, split/ (100 pieces of access.log,
# cut at line boundaries). Built in a temporary directory and renamed, so an interrupted run
# leaves no half-made cache behind.
prepare_data() {
  local gen_hash
  gen_hash=$(sha256sum examples/genlog.rs | cut -c1-12)
  DATA=$BENCH_DIR/$SIZE-seed$SEED-gen$gen_hash
  if [ -f "$DATA/.complete" ]; then
    say "cached logs: $DATA"
    return
  fi
  mkdir -p "$BENCH_DIR"
  if [ "${KEEP_OLD:-0}" != 1 ]; then
    # Logs of other sizes, seeds or generator versions: gigabytes nobody reads any more.
    find "$BENCH_DIR" -mindepth 1 -maxdepth 1 -type d -name '*-seed*-gen*' -exec rm -rf {} +
  fi
  local tmp=$DATA.tmp
  rm -rf "$tmp"
  say "generating $SIZE of logs (seed $SEED) in $tmp"
  "$GENLOG" --size "$SIZE" --seed "$SEED" --out "$tmp" >/dev/null
  say "compressing access.log (gzip -6 format)"
  if command -v pigz >/dev/null; then
    pigz -6 -c "$tmp/access.log" > "$tmp/access.log.gz"
  else
    gzip -6 -c "$tmp/access.log" > "$tmp/access.log.gz"
  fi
  say "splitting access.log into 100 files"
  mkdir "$tmp/split"
  split -n l/100 -d -a 3 "$tmp/access.log" "$tmp/split/access.log."
  touch "$tmp/.complete"
  mv "$tmp" "$DATA"
}

# A number from the generator's stats.json: `gen_stat lines`.
gen_stat() { grep -o "\"$1\": [0-9]*" "$DATA/stats.json" | grep -o '[0-9]*$'; }

# Reads the inputs once so every timed run finds them in the page cache, and says whether
# they fit (a benchmark from disk would measure the disk).
warm_cache() {
  cat "$DATA/access.log" "$DATA/error.log" "$DATA/access.log.gz" "$DATA"/split/* > /dev/null
  local need avail
  need=$(du -sk "$DATA" | cut -f1)
  avail=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
  [ "$need" -lt "$avail" ] || say "warning: inputs ($((need >> 10)) MB) exceed available memory ($((avail >> 10)) MB): timings include disk reads"
}

# --- 4. measure ------------------------------------------------------------------------------

ROWS=()      # name|command|bytes|lines|median s|stddev s|cpu %|peak RSS KB
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# measure NAME BYTES LINES RUNS OK_STATUSES COMMAND
# One checked run first (its exit status must be one of OK_STATUSES, e.g. "0 1" for diagnose,
# which exits 1 when it finds 5xx; its peak RSS is recorded; it also warms up), then RUNS
# timed runs with hyperfine. Output goes to $WORK/NAME.out for the sanity checks.
measure() {
  local name=$1 bytes=$2 lines=$3 runs=$4 ok=$5 cmd=$6
  say "$name: $cmd"
  local status=0
  /usr/bin/time -f '%M' -o "$WORK/$name.rss" bash -c "$cmd" > "$WORK/$name.out" 2> "$WORK/$name.err" || status=$?
  if [[ " $ok " != *" $status "* ]]; then
    sed 's/^/  /' "$WORK/$name.err" | tail -5 >&2
    die "$name exited with status $status (expected one of: $ok)"
  fi
  # -i: the exit status was checked above (diagnose exits 1 when it finds 5xx).
  hyperfine --style none -i --warmup 0 --runs "$runs" --export-csv "$WORK/$name.csv" "$cmd" \
    >/dev/null 2> "$WORK/$name.hyperfine" || { cat "$WORK/$name.hyperfine" >&2; die "hyperfine failed on $name"; }
  # command,mean,stddev,median,user,system,min,max (quoted command may hold commas: read from the end)
  local row
  row=$(tail -1 "$WORK/$name.csv" | awk -F, '{ n = NF; printf "%s|%s|%s|%s", $(n-4), $(n-5), $(n-3), $(n-2) }')
  local median stddev user sys
  IFS='|' read -r median stddev user sys <<< "$row"
  local cpu
  cpu=$(awk -v u="$user" -v s="$sys" -v m="$median" 'BEGIN { printf "%.0f", (u + s) / m * 100 }')
  ROWS+=("$name|$cmd|$bytes|$lines|$median|$stddev|$cpu|$(tail -1 "$WORK/$name.rss")")
}

# The median wall time of a measured row.
median_of() {
  local r
  for r in "${ROWS[@]}"; do
    [ "${r%%|*}" = "$1" ] && { cut -d'|' -f5 <<< "$r"; return; }
  done
}

run_all() {
  local log=$DATA/access.log err=$DATA/error.log gz=$DATA/access.log.gz split=$DATA/split
  local log_bytes err_bytes gz_bytes lines err_lines
  log_bytes=$(stat -c %s "$log")
  err_bytes=$(stat -c %s "$err")
  gz_bytes=$(stat -c %s "$gz")
  lines=$(gen_stat lines)
  err_lines=$(wc -l < "$err")

  measure diagnose "$log_bytes" "$lines" "$RUNS" "0 1" \
    "$BIN diagnose --format json $log"
  measure "diagnose-1-core" "$log_bytes" "$lines" "$RUNS" "0 1" \
    "taskset -c 0 $BIN diagnose --format json $log"
  measure "diagnose+error.log" "$((log_bytes + err_bytes))" "$((lines + err_lines))" "$RUNS" "0 1" \
    "$BIN diagnose --format json --tz UTC $log $err"
  measure seo "$log_bytes" "$lines" "$RUNS" "0 1" "$BIN seo --format json $log"
  printf '{"prefixes": [{"ipv4Prefix": "66.249.64.0/19"}, {"ipv6Prefix": "2001:4860:4801::/48"}]}\n' \
    > "$WORK/googlebot.json"
  measure "seo --crawler-ranges" "$log_bytes" "$lines" "$RUNS" "0 1" \
    "$BIN seo --format json --crawler-ranges $WORK/googlebot.json $log"
  measure "diagnose .gz" "$log_bytes" "$lines" "$RUNS" "0 1" \
    "$BIN diagnose --format json $gz"
  measure "gzip -dc" "$log_bytes" "$lines" "$RUNS" "0" "gzip -dc $gz"
  measure "pigz -dc" "$log_bytes" "$lines" "$RUNS" "0" "pigz -dc $gz"
  measure "diagnose 100 files" "$log_bytes" "$lines" "$RUNS" "0 1" \
    "$BIN diagnose --format json $split"
  say "goaccess takes about a minute per GB and run"
  measure goaccess "$log_bytes" "$lines" "$SLOW_RUNS" "0" \
    "goaccess --log-format=COMBINED -o $WORK/report.json $log"
  # C locale: gawk's fast byte path, as anyone timing awk would run it.
  measure gawk "$log_bytes" "$lines" "$RUNS" "0" \
    "LC_ALL=C gawk '\$9 ~ /^5[0-9][0-9]\$/ { split(\$7, p, \"?\"); n[\$9 \" \" p[1]]++ } END { for (k in n) print n[k], k }' $log"
  measure "rg -c" "$log_bytes" "$lines" "$RUNS" "0 1" "rg -c ' 50[0-9] ' $log"
  GZ_BYTES=$gz_bytes
}

# Every tool saw the same 5xx: the generator's count, diagnose's and gawk's agree.
sanity_check() {
  local expected got_diag got_gawk got_rg
  expected=$(gen_stat server_errors)
  got_diag=$(grep -o '"server_errors": *[0-9]*' "$WORK/diagnose.out" | grep -o '[0-9]*$')
  got_gawk=$(awk '{ s += $1 } END { print s + 0 }' "$WORK/gawk.out")
  got_rg=$(cat "$WORK/rg -c.out")
  CHECKS="5xx written by the generator: $expected; diagnose: $got_diag; gawk: $got_gawk; rg -c (also matches a byte count of 500-509): $got_rg"
  say "$CHECKS"
  [ "$got_diag" = "$expected" ] || say "warning: diagnose counted $got_diag 5xx, the generator wrote $expected"
}

# --- 5. report -------------------------------------------------------------------------------

# The table, in Markdown (it reads as well in a terminal). The last column is the command's
# time over diagnose's on the plain file: above 1, diagnose is that many times faster.
table() {
  local diag
  diag=$(median_of diagnose)
  echo "| what | wall s (median ± sd) | MB/s | lines/s | CPU | peak RSS | time ÷ diagnose's |"
  echo "|---|--:|--:|--:|--:|--:|--:|"
  local r name cmd bytes lines median sd cpu rss
  for r in "${ROWS[@]}"; do
    IFS='|' read -r name cmd bytes lines median sd cpu rss <<< "$r"
    awk -v name="$name" -v b="$bytes" -v l="$lines" -v m="$median" -v sd="$sd" -v cpu="$cpu" \
        -v rss="$rss" -v diag="$diag" 'BEGIN {
      printf "| %s | %.3f ± %.3f | %.0f | %.2fM | %s%% | %.0f MB | %.2f |\n",
        name, m, sd, b / 1e6 / m, l / 1e6 / m, cpu, rss / 1024, m / diag
    }'
  done
}

# The targets of issue 3, met or missed.
targets() {
  local diag goa gawk dec gz rss
  diag=$(median_of diagnose); goa=$(median_of goaccess); gawk=$(median_of gawk)
  gz=$(median_of 'diagnose .gz')
  dec=$(awk -v a="$(median_of 'gzip -dc')" -v b="$(median_of 'pigz -dc')" 'BEGIN { print (a < b ? a : b) }')
  # The access log alone, plain, .gz or split (with error.log, its records are all held).
  rss=$(for r in "${ROWS[@]}"; do
    case ${r%%|*} in diagnose|diagnose-1-core|"diagnose .gz"|"diagnose 100 files") cut -d'|' -f8 <<< "$r" ;; esac
  done | sort -n | tail -1)
  awk -v b="$(stat -c %s "$DATA/access.log")" -v diag="$diag" -v goa="$goa" -v gawk="$gawk" \
      -v gz="$gz" -v dec="$dec" -v rss="$rss" 'BEGIN {
    v = b / 1e9 / diag
    printf "- diagnose ≥ 3 GB/s: %.2f GB/s, %s\n", v, (v >= 3 ? "met" : "missed")
    printf "- ≥ 100× GoAccess: %.0f×, %s\n", goa / diag, (goa / diag >= 100 ? "met" : "missed")
    printf "- ≥ 5× gawk: %.1f×, %s\n", gawk / diag, (gawk / diag >= 5 ? "met" : "missed")
    printf "- peak RSS ≤ 100 MB (largest of the access-log-only diagnose runs): %.0f MB, %s\n", rss / 1024, (rss / 1024 <= 100 ? "met" : "missed")
    printf "- .gz within 1.5× of the decompressor: %.2f×, %s\n", gz / dec, (gz / dec <= 1.5 ? "met" : "missed")
  }'
}

machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "${cpu:-unknown CPU}, nproc $(nproc), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
}

report() {
  local commit dirty date
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=
  if git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock 2>/dev/null | grep -q .; then
    dirty=" + uncommitted changes to src/"
  fi
  date=$(date -u '+%Y-%m-%d %H:%M UTC')
  local section
  section=$(
    echo "## $date: SIZE=$SIZE SEED=$SEED, commit $commit$dirty"
    echo
    echo "Command: \`SIZE=$SIZE SEED=$SEED RUNS=$RUNS SLOW_RUNS=$SLOW_RUNS bash bench/run.sh\`"
    echo
    echo "- machine: $(machine)"
    echo "- load (uptime) before: $LOAD_BEFORE; after: $(uptime | sed 's/.*load average: //')"
    echo "- input: access.log $(stat -c %s "$DATA/access.log") bytes, $(gen_stat lines) lines ($(gen_stat malformed) malformed), $(gen_stat server_errors) 5xx, $(grep -o '"first": "[^"]*"' "$DATA/stats.json" | cut -d'"' -f4) to $(grep -o '"last": "[^"]*"' "$DATA/stats.json" | cut -d'"' -f4); error.log $(stat -c %s "$DATA/error.log") bytes; access.log.gz $GZ_BYTES bytes; split/ 100 files"
    echo "- tools: $(goaccess --version | head -1 | sed 's/ - / /; s/\.$//'), $(gawk --version | head -1 | cut -d, -f1), $(rg --version | head -1), $(gzip --version | head -1), $(pigz --version 2>&1), $(hyperfine --version)"
    echo "- runs: hyperfine, $RUNS timed runs each ($SLOW_RUNS for GoAccess) after one checked run; page cache warm; MB = 10^6 bytes; lines/s counts the lines of every input read; CPU = (user + sys) / wall, 200% = both cores; peak RSS from \`/usr/bin/time -f %M\` on the checked run"
    echo "- $CHECKS"
    echo
    table
    echo
    echo "Targets (issue 3):"
    echo
    targets
    echo
    echo "Commands timed:"
    echo
    local r
    for r in "${ROWS[@]}"; do
      echo "- ${r%%|*}: \`$(cut -d'|' -f2 <<< "$r")\`"
    done
  )
  echo
  echo "$section"
  if [ ! -f "$RESULTS" ]; then
    printf '# Benchmark results\n\nAppended by %s (see the comments at its top); newest last.\n' \
      "\`bash bench/run.sh\`" > "$RESULTS"
  fi
  printf '\n%s\n' "$section" >> "$RESULTS"
  say "appended to $RESULTS"
}

main() {
  LOAD_BEFORE=$(uptime | sed 's/.*load average: //')
  install_tools
  build
  prepare_data
  warm_cache
  run_all
  sanity_check
  report
}

main "$@"
