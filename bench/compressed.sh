#!/usr/bin/env bash
# Reading rotated logs compressed each way (issue 17, point 4): one access log from the
# generator, plain and compressed with Debian's gzip, bzip2, xz and zstd at the levels logrotate
# uses by default, each read by `fivehundred diagnose --format json`, beside the same CLI
# decompressing it to /dev/null (the floor of any reader of that format).
#
#   bash bench/compressed.sh                 # 200 MB access log, seed 42
#   SIZE=1G RUNS=3 bash bench/compressed.sh
#
# What it does, in order:
#   1. installs the tools that are missing (hyperfine bzip2 xz-utils zstd), with apt-get;
#   2. builds fivehundred and the log generator (examples/genlog.rs) in release mode;
#   3. generates the log once and keeps it, with its compressed copies, in $BENCH_DIR (outside
#      the repo), keyed by size, seed and the generator's source;
#   4. reads every input once so it is in the page cache, checks fivehundred's count of 5xx on
#      each against the generator's, then times each command with hyperfine;
#   5. prints a table and appends it, with the machine and the commit, to $RESULTS.
#
# Environment: SIZE (200M), SEED (42), RUNS (5), BENCH_DIR (/tmp/fivehundred-bench), RESULTS
# (bench/RESULTS.md).
set -euo pipefail

SIZE=${SIZE:-200M}
SEED=${SEED:-42}
RUNS=${RUNS:-5}
BENCH_DIR=${BENCH_DIR:-/tmp/fivehundred-bench}
RESULTS=${RESULTS:-bench/RESULTS.md}

cd "$(dirname "$0")/.."
REPO=$PWD
BIN=$REPO/target/release/fivehundred
GENLOG=$REPO/target/release/examples/genlog

# shellcheck source=bench/common.sh
. bench/common.sh

# Each compressor with its logrotate default level (gzip -6, bzip2 -9, xz -6, zstd -3), as
# EXT=COMMAND; its first word with -dc decompresses.
COMPRESSORS=("gz=gzip -6" "bz2=bzip2 -9" "xz=xz -6" "zst=zstd -3 -q")

# Sets DATA to the cached directory for this size, seed and generator, making it if needed:
# access.log, stats.json and access.log.EXT for every compressor. Built in a temporary
# directory and renamed, so an interrupted run leaves no half-made cache behind.
prepare_data() {
  local gen_hash tmp pair
  gen_hash=$(sha256sum examples/genlog.rs | cut -c1-12)
  DATA=$BENCH_DIR/compressed/$SIZE-seed$SEED-gen$gen_hash
  [ -f "$DATA/.complete" ] && { say "cached logs: $DATA"; return; }
  tmp=$DATA.tmp.$$
  rm -rf "$tmp" && mkdir -p "$tmp"
  say "generating a $SIZE access log (seed $SEED)"
  "$GENLOG" --size "$SIZE" --seed "$SEED" --out "$tmp" >/dev/null
  for pair in "${COMPRESSORS[@]}"; do
    say "compressing with ${pair#*=}"
    ${pair#*=} -c "$tmp/access.log" > "$tmp/access.log.${pair%%=*}"
  done
  touch "$tmp/.complete"
  rm -rf "$DATA" && mv "$tmp" "$DATA"
}

# The 5xx count in a diagnose JSON report on stdin.
server_errors() { python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["server_errors"])'; }

# Times COMMAND (a string) with hyperfine; prints "median sd" in seconds.
timed() {
  local csv
  csv=$(mktemp)
  hyperfine --style none -i --warmup 0 --runs "$RUNS" --export-json "$csv" "$1" >/dev/null 2>&1 ||
    die "hyperfine failed on: $1"
  python3 -c 'import json,sys,statistics as s; t=json.load(open(sys.argv[1]))["results"][0]["times"]; print(f"{s.median(t):.3f} {s.pstdev(t):.3f}")' "$csv"
  rm -f "$csv"
}

main() {
  install_missing hyperfine=hyperfine bzip2=bzip2 xz=xz-utils zstd=zstd gzip=gzip python3=python3
  build
  prepare_data
  local log=$DATA/access.log want bytes load pair ext cmd file got t_fh t_cli rows=()
  want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server_errors"])' "$DATA/stats.json")
  bytes=$(stat -c %s "$log")
  cat "$DATA"/access.log* > /dev/null
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  for pair in "plain=cat" "${COMPRESSORS[@]}"; do
    ext=${pair%%=*} cmd=${pair#*=}
    file=$log
    [ "$ext" = plain ] || file=$log.$ext
    got=$("$BIN" diagnose --format json --tz UTC "$file" | server_errors) || true
    [ "$got" = "$want" ] || die "$file: $got 5xx read, the generator wrote $want"
    say "timing $ext"
    t_fh=$(timed "$BIN diagnose --format json --tz UTC $file")
    t_cli=$([ "$ext" = plain ] && echo "- -" || timed "${cmd%% *} -dc $file")
    rows+=("$ext $(stat -c %s "$file") $t_fh $t_cli")
  done
  report "$want" "$bytes" "$load" "${rows[@]}" | tee -a "$RESULTS"
}

# The results section, in Markdown.
report() {
  local want=$1 bytes=$2 load=$3 row ext size med sd cmed csd
  shift 3
  echo
  echo "## $(date -u '+%Y-%m-%d %H:%M') UTC: compressed logs (issue 17), SIZE=$SIZE SEED=$SEED, $(git rev-parse --short HEAD)"
  echo
  echo "Command: \`SIZE=$SIZE SEED=$SEED RUNS=$RUNS bash bench/compressed.sh\`"
  echo
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), nproc $(nproc), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r); load before: $load"
  echo "- access.log: $bytes bytes, $want 5xx (generator seed $SEED); tools: $(gzip --version | head -1), bzip2 $(bzip2 --help 2>&1 | head -1 | sed 's/.*Version \([^,]*\),.*/\1/'), $(xz --version | head -1), zstd $(zstd --version | grep -o 'v[0-9.]*'), $(hyperfine --version)"
  echo "- runs: hyperfine, $RUNS runs each (median ± sd), page cache warm; MB/s = MB (10^6 bytes) of the uncompressed log per second; each fivehundred run checked first (its 5xx against the generator's)"
  echo
  echo "| input | on disk | \`fivehundred diagnose --format json\` | MB/s | \`CLI -dc > /dev/null\` | MB/s |"
  echo "|---|--:|--:|--:|--:|--:|"
  for row in "$@"; do
    read -r ext size med sd cmed csd <<< "$row"
    printf '| %s | %s MB | %s s ± %s | %s | %s | %s |\n' "$ext" \
      "$(awk "BEGIN {printf \"%.1f\", $size / 1e6}")" "$med" "$sd" \
      "$(awk "BEGIN {printf \"%.0f\", $bytes / 1e6 / $med}")" \
      "$([ "$cmed" = - ] && echo - || echo "$cmed s ± $csd")" \
      "$([ "$cmed" = - ] && echo - || awk "BEGIN {printf \"%.0f\", $bytes / 1e6 / $cmed}")"
  done
}

main "$@"
