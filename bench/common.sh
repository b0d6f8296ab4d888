# Shared by the benchmark scripts (bench/run.sh, bench/watch.sh): messages, running as root,
# installing missing tools, building. Sourced, not run.

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# Runs a command as root: directly, or with sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root or sudo to run: $*"
  fi
}

# install_missing CMD=PACKAGE...: installs the Debian packages of the commands that are
# missing. A stale package index is refreshed only if the first attempt fails.
install_missing() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]}"
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "${missing[@]}" >/dev/null ||
    { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q "${missing[@]}" >/dev/null; }
}

# Builds fivehundred and the log generator in release mode.
build() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs)"
  say "building fivehundred and genlog (release)"
  cargo build --release --quiet --bin fivehundred --example genlog
}
