#!/usr/bin/env bash
# Error logs beside the access log (issue 15): `fivehundred diagnose --format json --tz UTC` on a
# generated access log alone, with 100 MB and 1 GB of error logs, and on 1 GB and 10 GB of
# error logs alone, with wall time, MB/s over all inputs and peak RSS. With BEFORE=, an older
# binary runs every row too, just before the new one, on the same files under the same load,
# and the table puts the two side by side.
#
#   bash bench/errors.sh                                       # target/release/fivehundred
#   BEFORE=/work/bench-bin/fivehundred-before bash bench/errors.sh
#   BIN=/work/bench-bin/fivehundred-before LABEL=before BIN_COMMIT=9f26fcc bash bench/errors.sh
#
# What it does, in order:
#   1. installs what is missing (hyperfine, GNU time, jq), with apt-get, via sudo when not root;
#   2. builds the log generator (examples/genlog.rs) in release mode, and fivehundred too when
#      BIN is the default;
#   3. generates the logs once and keeps them in $BENCH_DIR/errors/ (outside the repo), keyed by
#      size, seed and the generator's source: access.log, and for each error size (genlog
#      --error-size 100M, 1G, 10G) nginx's error.log, PHP's php_errors.log and php-fpm.log.
#      The access log is the same bytes for every error size (checked with cmp);
#   4. for each row: reads its inputs once so they are in the page cache, runs each binary once
#      checked (exit status 0 or 1, peak RSS from GNU time, the 5xx and their causes against the
#      generator's counts) under a memory watchdog, then times it with hyperfine: RUNS runs, or
#      SLOW_RUNS when the checked run took SLOW_S seconds or more;
#   5. prints the table and appends it, with the machine, the load, the commits and the exact
#      commands, to bench/RESULTS.md.
#
# Memory guard: a row whose peak RSS, extrapolated from the same binary's largest error-logs-alone
# row so far (RSS per input byte), would pass MEM_CAP_MB is not run and says so; a run whose RSS
# passes MEM_CAP_MB anyway is killed and reported failed. The engine before issue 15 holds about
# 2.7 times the error logs in memory, so its 10 GB row is skipped on a 24 GiB machine.
#
# Environment: BIN (target/release/fivehundred), LABEL (the name of BIN's column: "after" with
# BEFORE, otherwise the commit), BIN_COMMIT (the commit BIN was built from, for the record: HEAD
# when BIN is the default), BEFORE (unset: an older binary to run side by side), BEFORE_LABEL
# ("before"), BEFORE_COMMIT, SIZE (1G: the access log), ERROR_SIZES ("100M 1G 10G": the error
# logs of rows 2, 3 and 4, and 5), SEED (42), RUNS (3), SLOW_RUNS (1),
# SLOW_S (10), MEM_CAP_MB (MemTotal less 4 GiB), ROWS (all: or a space-separated subset of
# 1 2 3 4 5), BENCH_DIR (/tmp/fivehundred-bench; no spaces), RESULTS (bench/RESULTS.md, "-" to
# append nowhere), KEEP_OLD=1 keeps cached logs of other sizes, seeds or generator versions.
set -euo pipefail

SIZE=${SIZE:-1G}
SEED=${SEED:-42}
RUNS=${RUNS:-3}
SLOW_RUNS=${SLOW_RUNS:-1}
SLOW_S=${SLOW_S:-10}
BENCH_DIR=${BENCH_DIR:-/tmp/fivehundred-bench}
RESULTS=${RESULTS:-bench/RESULTS.md}
ROWS=${ROWS:-1 2 3 4 5}
MEM_CAP_MB=${MEM_CAP_MB:-$(awk '/MemTotal/ { printf "%d", $2 / 1024 - 4096 }' /proc/meminfo)}
BEFORE=${BEFORE:-}
BEFORE_LABEL=${BEFORE_LABEL:-before}

cd "$(dirname "$0")/.."
REPO=$PWD
GENLOG=$REPO/target/release/examples/genlog
DEFAULT_BIN=$REPO/target/release/fivehundred
BIN=${BIN:-$DEFAULT_BIN}

# shellcheck source=bench/common.sh
. bench/common.sh

# The error-log sizes of rows 2, 3 (and 4) and 5, as genlog's --error-size takes them.
read -r -a ERROR_SIZES <<< "${ERROR_SIZES:-100M 1G 10G}"
[ ${#ERROR_SIZES[@]} = 3 ] || die "ERROR_SIZES needs three sizes, e.g. \"100M 1G 10G\""


# --- 1, 2. tools and build -------------------------------------------------------------------

setup() {
  install_missing hyperfine=hyperfine /usr/bin/time=time jq=jq cmp=diffutils
  command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs)"
  if [ "$BIN" = "$DEFAULT_BIN" ]; then
    build
  else
    say "building genlog (release)"
    cargo build --release --quiet --example genlog
  fi
  local b
  for b in "$BIN" ${BEFORE:+"$BEFORE"}; do
    [ -x "$b" ] || die "not an executable: $b"
  done
}

# The commit a binary was built from, for the record.
commit_of() {
  local bin=$1 given=$2
  if [ -n "$given" ]; then
    echo "$given"
  elif [ "$bin" = "$DEFAULT_BIN" ]; then
    local dirty=
    if git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock 2>/dev/null | grep -q .; then
      dirty=" + uncommitted changes to src/"
    fi
    echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
  else
    echo "unknown"
  fi
}

# --- 3. data ---------------------------------------------------------------------------------

# Sets DATA to the cached directory for this size, seed and generator source, making it if
# needed: access.log, and e100M/ e1G/ e10G/ with error.log, php_errors.log, php-fpm.log and
# genlog's stats.json. Each set is made in a temporary directory and renamed, so an interrupted
# run leaves no half-made set behind.
prepare_data() {
  local gen_hash
  gen_hash=$(sha256sum examples/genlog.rs | cut -c1-12)
  DATA=$BENCH_DIR/errors/$SIZE-seed$SEED-gen$gen_hash
  mkdir -p "$BENCH_DIR/errors"
  if [ "${KEEP_OLD:-0}" != 1 ]; then
    # Logs of other sizes, seeds or generator versions: gigabytes nobody reads any more.
    find "$BENCH_DIR/errors" -mindepth 1 -maxdepth 1 -type d ! -path "$DATA" -exec rm -rf {} +
  fi
  mkdir -p "$DATA"
  local e tmp
  for e in "${ERROR_SIZES[@]}"; do
    [ -f "$DATA/e$e/.complete" ] && continue
    tmp=$DATA/e$e.tmp
    rm -rf "$tmp" "$DATA/e$e"
    say "generating $SIZE of access log and $e of error logs (seed $SEED) in $tmp"
    "$GENLOG" --size "$SIZE" --seed "$SEED" --error-size "$e" --out "$tmp" >/dev/null
    if [ -f "$DATA/access.log" ]; then
      cmp -s "$tmp/access.log" "$DATA/access.log" ||
        die "genlog --error-size $e wrote another access.log than the other sizes"
      rm "$tmp/access.log"
    else
      mv "$tmp/access.log" "$DATA/access.log"
    fi
    touch "$tmp/.complete"
    mv "$tmp" "$DATA/e$e"
  done
  say "logs: $DATA"
}

# A number from a stats.json: `stat_of FILE key`.
stat_of() { jq -r ".$2" "$1"; }

# The error logs of a set, in the order diagnose is given them.
error_files() { echo "$DATA/e$1/error.log $DATA/e$1/php_errors.log $DATA/e$1/php-fpm.log"; }

# "1G" -> "1 GB", "100M" -> "100 MB".
human() { sed -E 's/^([0-9]+)K$/\1 KB/; s/^([0-9]+)M$/\1 MB/; s/^([0-9]+)G$/\1 GB/' <<< "$1"; }

# --- 4. measure ------------------------------------------------------------------------------

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Results, by "ROW|SIDE" (SIDE is "bin" or "before"): "wall|stddev|runs|rss_kb|status|note".
declare -A RESULT
ROW_NAME=()  # by row number
ROW_FILES=()
ROW_BYTES=()
ROW_SET=()   # the error set whose stats.json counts the row's 5xx ("" for the access log alone)

define_rows() {
  local acc="access $(human "$SIZE")" files
  ROW_NAME[1]="$acc alone"
  ROW_FILES[1]="$DATA/access.log"
  ROW_SET[1]=${ERROR_SIZES[0]}
  ROW_NAME[2]="$acc + error logs $(human "${ERROR_SIZES[0]}")"
  ROW_FILES[2]="$DATA/access.log $(error_files "${ERROR_SIZES[0]}")"
  ROW_SET[2]=${ERROR_SIZES[0]}
  ROW_NAME[3]="$acc + error logs $(human "${ERROR_SIZES[1]}")"
  ROW_FILES[3]="$DATA/access.log $(error_files "${ERROR_SIZES[1]}")"
  ROW_SET[3]=${ERROR_SIZES[1]}
  ROW_NAME[4]="error logs $(human "${ERROR_SIZES[1]}") alone"
  ROW_FILES[4]="$(error_files "${ERROR_SIZES[1]}")"
  ROW_SET[4]=${ERROR_SIZES[1]}
  ROW_NAME[5]="error logs $(human "${ERROR_SIZES[2]}") alone"
  ROW_FILES[5]="$(error_files "${ERROR_SIZES[2]}")"
  ROW_SET[5]=${ERROR_SIZES[2]}
  local r
  for r in 1 2 3 4 5; do
    # shellcheck disable=SC2086
    ROW_BYTES[r]=$(stat -c %s ${ROW_FILES[r]} | awk '{ s += $1 } END { print s }')
  done
}

command_of() { echo "$1 diagnose --format json --tz UTC $2"; }

# run_capped OUT ERR TIMEFILE COMMAND...: runs COMMAND under GNU time, killing it if its RSS
# passes MEM_CAP_MB; sets STATUS (the exit status, or "killed").
run_capped() {
  local out=$1 err=$2 tf=$3
  shift 3
  /usr/bin/time -f '%e %M' -o "$tf" "$@" > "$out" 2> "$err" &
  local tpid=$! killed=0 kid rss
  while kill -0 "$tpid" 2>/dev/null; do
    for kid in $(pgrep -P "$tpid" || true); do
      rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$kid/status" 2>/dev/null || echo 0)
      if [ "${rss:-0}" -gt $((MEM_CAP_MB * 1024)) ]; then
        say "RSS ${rss} kB passed MEM_CAP_MB=$MEM_CAP_MB: killing $kid"
        kill -9 "$kid" 2>/dev/null || true
        killed=1
      fi
    done
    sleep 0.25
  done
  STATUS=0
  wait "$tpid" || STATUS=$?
  [ "$killed" = 1 ] && STATUS=killed
  return 0
}

# The peak RSS (kB) a binary is expected to reach on a row, from its largest error-logs-alone
# row measured so far (RSS per input byte); empty when there is none.
predict_rss() {
  local side=$1 row=$2 r best=
  for r in 4 5; do
    [ "$r" = "$row" ] && continue
    local res=${RESULT["$r|$side"]:-}
    [ -n "$res" ] || continue
    local rss status
    rss=$(cut -d'|' -f4 <<< "$res")
    status=$(cut -d'|' -f5 <<< "$res")
    [ "$status" = ok ] || continue
    best=$(awk -v rss="$rss" -v b="${ROW_BYTES[r]}" -v n="${ROW_BYTES[row]}" 'BEGIN { printf "%d", rss / b * n }')
  done
  echo "$best"
}

# Why a binary is not run on a row (its expected peak RSS passes MEM_CAP_MB), or nothing.
skip_reason() {
  local side=$1 row=$2 predicted
  predicted=$(predict_rss "$side" "$row")
  if [ -n "$predicted" ] && [ "$predicted" -gt $((MEM_CAP_MB * 1024)) ]; then
    awk -v p="$predicted" -v b="${ROW_BYTES[row]}" -v cap="$MEM_CAP_MB" 'BEGIN {
      printf "not run: needs ~%.1fx the input in RAM (~%.1f GB, extrapolated from its smaller error-logs-alone row; MEM_CAP_MB=%d)", p * 1024 / b, p / 1048576, cap }'
  fi
}

# Checks one run's report against the generator's counts; prints a problem, or nothing.
check_report() {
  local row=$1 out=$2 stats=$DATA/e${ROW_SET[$1]}/stats.json
  jq -e . "$out" >/dev/null 2>&1 || { echo "no JSON report"; return; }
  case $row in
    1 | 2 | 3)
      local want got
      want=$(stat_of "$stats" server_errors)
      got=$(jq -r '.summary.server_errors' "$out")
      [ "$got" = "$want" ] || { echo "$got 5xx, the generator wrote $want"; return; }
      [ "$row" = 1 ] && return
      want=$(jq -cS '.by_cause' "$stats")
      got=$(jq -cS '[.incidents[] | {cause, count}] | group_by(.cause)
        | map({(.[0].cause): (map(.count) | add)}) | add // {}' "$out")
      [ "$got" = "$want" ] || echo "5xx by cause $got, the generator's $want"
      ;;
  esac
}

# measure ROW SIDE BIN
measure() {
  local row=$1 side=$2 bin=$3
  local cmd name="$row-$side"
  cmd=$(command_of "$bin" "${ROW_FILES[row]}")
  local skip
  skip=$(skip_reason "$side" "$row")
  if [ -n "$skip" ]; then
    say "${ROW_NAME[row]} ($side): $skip"
    RESULT["$row|$side"]="||||skipped|$skip"
    return
  fi
  say "${ROW_NAME[row]} ($side): $cmd"
  # shellcheck disable=SC2086
  run_capped "$WORK/$name.out" "$WORK/$name.err" "$WORK/$name.time" $cmd
  local wall rss
  read -r wall rss < <(tail -1 "$WORK/$name.time")
  if [ "$STATUS" = killed ]; then
    RESULT["$row|$side"]="|||$((MEM_CAP_MB * 1024))|failed|failed: killed when its RSS passed MEM_CAP_MB=$MEM_CAP_MB"
    return
  fi
  if [ "$STATUS" != 0 ] && [ "$STATUS" != 1 ]; then
    sed 's/^/  /' "$WORK/$name.err" | tail -5 >&2
    RESULT["$row|$side"]="|||$rss|failed|failed: exit status $STATUS"
    return
  fi
  local problem
  problem=$(check_report "$row" "$WORK/$name.out")
  [ -z "$problem" ] || say "warning: ${ROW_NAME[row]} ($side): $problem"
  local runs=$RUNS
  awk -v w="$wall" -v s="$SLOW_S" 'BEGIN { exit !(w >= s) }' && runs=$SLOW_RUNS
  # -i: the exit status was checked above (diagnose exits 1 when it finds 5xx).
  hyperfine --style none -i --warmup 0 --runs "$runs" --export-csv "$WORK/$name.csv" "$cmd" \
    >/dev/null 2> "$WORK/$name.hyperfine" || { cat "$WORK/$name.hyperfine" >&2; die "hyperfine failed on $name"; }
  # command,mean,stddev,median,user,system,min,max (read from the end: the command has commas)
  local median stddev
  read -r median stddev < <(tail -1 "$WORK/$name.csv" | awk -F, '{ n = NF; print $(n-4), ($(n-5) == "" ? 0 : $(n-5)) }')
  RESULT["$row|$side"]="$median|$stddev|$runs|$rss|ok|$problem"
}

ROW_LOADS=()  # the 1-minute load average as each row started, for the record

run_rows() {
  local row
  for row in $ROWS; do
    ROW_LOADS+=("${ROW_NAME[row]} $(cut -d' ' -f1 /proc/loadavg)")
    if [ -z "$(skip_reason bin "$row")" ] || { [ -n "$BEFORE" ] && [ -z "$(skip_reason before "$row")" ]; }; then
      say "warming the page cache for ${ROW_NAME[row]}"
      # shellcheck disable=SC2086
      cat ${ROW_FILES[row]} > /dev/null
    fi
    [ -n "$BEFORE" ] && measure "$row" before "$BEFORE"
    measure "$row" bin "$BIN"
  done
}

# --- 5. report -------------------------------------------------------------------------------

# One binary's cells for a row: wall, MB/s, peak RSS (or the reason it has none).
cells() {
  local row=$1 side=$2 res
  res=${RESULT["$row|$side"]:-}
  if [ -z "$res" ]; then
    echo "| | |"
    return
  fi
  local median sd runs rss status note
  IFS='|' read -r median sd runs rss status note <<< "$res"
  if [ "$status" != ok ]; then
    echo "$note | | "
    return
  fi
  awk -v m="$median" -v sd="$sd" -v runs="$runs" -v b="${ROW_BYTES[row]}" -v rss="$rss" 'BEGIN {
    wall = (runs > 1) ? sprintf("%.2f s ± %.2f", m, sd) : sprintf("%.2f s (1 run)", m)
    mbs = b / 1e6 / m
    printf "%s | %s | %s", wall, (mbs >= 100 ? sprintf("%.0f", mbs) : sprintf("%.1f", mbs)),
      (rss >= 1048576 ? sprintf("%.2f GB", rss / 1048576) : sprintf("%.0f MB", rss / 1024))
  }'
}

table() {
  local row
  if [ -n "$BEFORE" ]; then
    echo "| inputs | $BEFORE_LABEL: wall | MB/s over all inputs | peak RSS | $LABEL: wall | MB/s over all inputs | peak RSS |"
    echo "|---|--:|--:|--:|--:|--:|--:|"
    for row in $ROWS; do
      echo "| ${ROW_NAME[row]} | $(cells "$row" before) | $(cells "$row" bin) |"
    done
  else
    echo "| inputs ($LABEL) | wall | MB/s over all inputs | peak RSS |"
    echo "|---|--:|--:|--:|"
    for row in $ROWS; do
      echo "| ${ROW_NAME[row]} | $(cells "$row" bin) |"
    done
  fi
}

# A row's figure for BIN: "median rss" or nothing.
figure() {
  local res=${RESULT["$1|$2"]:-}
  [ -n "$res" ] && [ "$(cut -d'|' -f5 <<< "$res")" = ok ] && echo "$(cut -d'|' -f1 <<< "$res") $(cut -d'|' -f4 <<< "$res")"
  return 0
}

# The targets of issue 15, for BIN.
targets() {
  local f row
  f=$(figure 4 bin)
  if [ -n "$f" ]; then
    awk -v f="$f" -v b="${ROW_BYTES[4]}" 'BEGIN { split(f, a, " "); v = b / 1e9 / a[1]
      printf "- error logs alone ≥ 1 GB/s: %.3f GB/s, %s\n", v, (v >= 1 ? "met" : "missed") }'
  fi
  f=$(figure 3 bin)
  if [ -n "$f" ]; then
    awk -v f="$f" -v b="${ROW_BYTES[3]}" 'BEGIN { split(f, a, " "); v = b / 1e9 / a[1]
      printf "- access + error logs 1 GB ≥ 1.5 GB/s over both: %.3f GB/s, %s\n", v, (v >= 1.5 ? "met" : "missed") }'
  fi
  for row in 4 5; do
    f=$(figure "$row" bin)
    if [ -n "$f" ]; then
      awk -v f="$f" -v name="${ROW_NAME[row]}" 'BEGIN { split(f, a, " "); v = a[2] / 1024
        printf "- peak RSS ≤ 150 MB (%s): %.0f MB, %s\n", name, v, (v <= 150 ? "met" : "missed") }'
    else
      echo "- peak RSS ≤ 150 MB (${ROW_NAME[row]}): not measured, missed"
    fi
  done
  f=$(figure 1 bin)
  local was
  was=$(figure 1 before)
  if [ -n "$f" ] && [ -n "$was" ]; then
    awk -v f="$f" -v w="$was" 'BEGIN { split(f, a, " "); split(w, b, " ")
      printf "- access-only throughput at or above before'"'"'s: %.2f s vs %.2f s, %s\n", a[1], b[1],
        (a[1] <= b[1] * 1.05 ? "met (within 5%)" : "missed") }'
  fi
}

machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "${cpu:-unknown CPU}, nproc $(nproc), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
}

inputs_line() {
  local acc=$DATA/e${ERROR_SIZES[0]}/stats.json e s
  echo "- access.log: $(stat -c %s "$DATA/access.log") bytes, $(stat_of "$acc" lines) lines, $(stat_of "$acc" server_errors) 5xx in $(stat_of "$acc" bursts) bursts, $(stat_of "$acc" first) to $(stat_of "$acc" last) (the same bytes in every set)"
  for e in "${ERROR_SIZES[@]}"; do
    s=$DATA/e$e/stats.json
    echo "- error logs, \`genlog --error-size $e\`: $(stat_of "$s" error_logs_bytes) bytes in all: error.log $(stat_of "$s" error_bytes) bytes ($(stat_of "$s" error_lines) records, $(stat_of "$s" error_extra_records) of them added), php_errors.log $(stat_of "$s" php_error_bytes) bytes ($(stat_of "$s" php_error_records) records), php-fpm.log $(stat_of "$s" fpm_bytes) bytes ($(stat_of "$s" fpm_records) records); $(stat_of "$s" other_error_records) records name a cause but no 5xx"
  done
}

notes() {
  local row side res note
  for row in $ROWS; do
    for side in before bin; do
      res=${RESULT["$row|$side"]:-}
      [ -n "$res" ] || continue
      note=$(cut -d'|' -f6 <<< "$res")
      [ "$(cut -d'|' -f5 <<< "$res")" = ok ] && [ -n "$note" ] &&
        echo "- check failed, ${ROW_NAME[row]} ($([ "$side" = bin ] && echo "$LABEL" || echo "$BEFORE_LABEL")): $note"
    done
  done
  return 0
}

report() {
  local date section
  date=$(date -u '+%Y-%m-%d %H:%M UTC')
  local env="SIZE=$SIZE SEED=$SEED RUNS=$RUNS SLOW_RUNS=$SLOW_RUNS SLOW_S=$SLOW_S"
  [ "$BIN" != "$DEFAULT_BIN" ] && env="BIN=$BIN LABEL=$LABEL $env"
  [ -n "${BIN_COMMIT:-}" ] && env="BIN_COMMIT=$BIN_COMMIT $env"
  [ -n "$BEFORE" ] && env="BEFORE=$BEFORE${BEFORE_COMMIT:+ BEFORE_COMMIT=$BEFORE_COMMIT} $env"
  [ "$ROWS" != "1 2 3 4 5" ] && env="ROWS=\"$ROWS\" $env"
  section=$(
    echo "## $date: error logs (issue 15), SIZE=$SIZE SEED=$SEED, $LABEL${BEFORE:+ beside $BEFORE_LABEL}"
    echo
    echo "Command: \`$env bash bench/errors.sh\` (repo at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
    echo
    echo "- machine: $(machine)"
    echo "- load (uptime) before: $LOAD_BEFORE; after: $(uptime | sed 's/.*load average: //'); 1-minute load as each row started: $(printf '%s, ' "${ROW_LOADS[@]}" | sed 's/, $//')"
    echo "- $LABEL: \`$BIN\`, built from $(commit_of "$BIN" "${BIN_COMMIT:-}"), sha256 $(sha256sum "$BIN" | cut -c1-12)"
    if [ -n "$BEFORE" ]; then
      echo "- $BEFORE_LABEL: \`$BEFORE\`, built from $(commit_of "$BEFORE" "${BEFORE_COMMIT:-}"), sha256 $(sha256sum "$BEFORE" | cut -c1-12)"
    fi
    inputs_line
    echo "- runs: each row's inputs read once into the page cache, then each binary run once checked (exit status 0 or 1; peak RSS from \`/usr/bin/time -f %M\`; the 5xx, and with error logs their causes, against the generator's counts), then timed with $(hyperfine --version): $RUNS runs (median ± sd), or $SLOW_RUNS when the checked run took ${SLOW_S} s or more. MB = 10^6 bytes, over all the inputs of the row. Memory guard: MEM_CAP_MB=$MEM_CAP_MB"
    notes
    echo
    table
    echo
    echo "Targets (issue 15), for $LABEL:"
    echo
    targets
    echo
    echo "Commands timed (BIN stands for the binary of each column):"
    echo
    local row
    for row in $ROWS; do
      echo "- ${ROW_NAME[row]}: \`$(command_of BIN "${ROW_FILES[row]}")\`"
    done
  )
  echo
  echo "$section"
  if [ "$RESULTS" != - ]; then
    printf '\n%s\n' "$section" >> "$RESULTS"
    say "appended to $RESULTS"
  fi
}

main() {
  LOAD_BEFORE=$(uptime | sed 's/.*load average: //')
  if [ -z "${LABEL:-}" ]; then
    if [ -n "$BEFORE" ]; then LABEL=after; else LABEL=$(commit_of "$BIN" "${BIN_COMMIT:-}"); fi
  fi
  setup
  prepare_data
  define_rows
  run_rows
  report
}

main "$@"
