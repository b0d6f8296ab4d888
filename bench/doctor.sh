#!/usr/bin/env bash
# How long `fivehundred doctor` takes on a large site: FILES files (default 200000) in
# nested directories under one document root, with an .htaccess in every directory, served
# by nginx + PHP-FPM + Apache configs written here (the servers are only asked to test their
# configs, not started). The walk of the root (permissions) and of its .htaccess files is
# what grows with the site. Appends a section to bench/RESULTS.md.
#
#   FILES=200000 RUNS=5 bash bench/doctor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

FILES=${FILES:-200000}
RUNS=${RUNS:-5}
[ "$(id -u)" = 0 ] || die "run as root: doctor reads the servers' configs as root"
install_missing hyperfine=hyperfine nginx=nginx-light apache2=apache2 php-fpm8.2=php-fpm
cargo build --release --quiet --bin fivehundred

work=$(mktemp -d /tmp/fivehundred-bench-doctor.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # mktemp makes it 0700: the server users must be able to enter it
www="$work/www"
say "making $FILES files under $www"
per_dir=100
for ((d = 0; d < FILES / per_dir; d++)); do
  dir="$www/d$((d / 100))/d$d"
  mkdir -p "$dir"
  printf 'RewriteEngine On\nRewriteRule ^x$ index.php [L]\n' >"$dir/.htaccess"
  (cd "$dir" && touch $(seq -f 'f%g.php' 1 $((per_dir - 1))))
done
mkdir -p "$work/log" "$work/run" "$work/tmp"
cat >"$work/nginx.conf" <<CONF
user www-data;
pid $work/run/nginx.pid;
error_log $work/log/nginx-error.log;
events {}
http {
  access_log $work/log/access.log;
  client_body_temp_path $work/tmp/body; fastcgi_temp_path $work/tmp/fastcgi;
  proxy_temp_path $work/tmp/proxy; scgi_temp_path $work/tmp/scgi; uwsgi_temp_path $work/tmp/uwsgi;
  server { listen 127.0.0.1:1; root $www; location ~ \.php$ { fastcgi_pass unix:$work/run/fpm.sock; } }
}
CONF
cat >"$work/apache.conf" <<CONF
ServerRoot $work
PidFile $work/run/httpd.pid
Mutex file:$work/run default
DefaultRuntimeDir $work/run
Listen 127.0.0.1:1
User www-data
Group www-data
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
ErrorLog $work/log/apache-error.log
DocumentRoot $www
<Directory $www>
  AllowOverride All
</Directory>
CONF
cat >"$work/fpm.conf" <<CONF
[global]
pid = $work/run/fpm.pid
error_log = $work/log/fpm.log
[www]
user = www-data
group = www-data
listen = $work/run/fpm.sock
pm = static
pm.max_children = 4
CONF
flags=(--nginx-conf "$work/nginx.conf" --apache-conf "$work/apache.conf" --fpm-conf "$work/fpm.conf")
bin=target/release/fivehundred
"$bin" doctor --format json "${flags[@]}" >"$work/report.json" || die "doctor exited $?: see $work/report.json"
# The timed runs must do the whole walk: no critical finding (one would cut the walk short).
grep -q "$((FILES / per_dir)) .htaccess files; Apache can parse every line" "$work/report.json" ||
  die "doctor did not read every .htaccess: see $work/report.json"
grep -q '"status": "critical"' "$work/report.json" && die "doctor found something critical: see $work/report.json"
say "timing $RUNS runs"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/h.json" \
  "$bin doctor --format json ${flags[*]}" >/dev/null
read -r mean sd < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.3f %.3f" % (r["median"], r["stddev"]))' "$work/h.json")
dirs=$((FILES / per_dir))
{
  echo
  echo "## $(date -u '+%Y-%m-%d %H:%M') UTC: doctor on a $FILES-file site, commit $(git rev-parse --short HEAD)"
  echo
  echo "Command: \`FILES=$FILES RUNS=$RUNS bash bench/doctor.sh\`"
  echo
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), nproc $(nproc), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
  echo "- site: $FILES entries in $dirs directories, an .htaccess in each ($dirs .htaccess files), page cache warm"
  echo "- doctor (nginx -T, apache2 -M and -t, php-fpm -tt and -i, the walks): **${mean} s** median ± ${sd} over $RUNS runs"
} >>bench/RESULTS.md
say "doctor: ${mean} s median on $FILES files; appended to bench/RESULTS.md"
