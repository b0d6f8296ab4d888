#!/usr/bin/env bash
# Installs what the probe lab's apps need (tests/probe_lab.rs), idempotently: Flask and Django
# (pinned in python/requirements.txt) into a venv at <target>/tmp/probe-venv, where the test
# finds it through CARGO_TARGET_TMPDIR, and Express and pg (pinned by package-lock.json) into
# express/node_modules. PostgreSQL, nginx and PHP-FPM come from scripts/test's Debian packages.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$(realpath -m "${CARGO_TARGET_DIR:-$here/../../target}")"
venv="$target/tmp/probe-venv"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/python/requirements.txt"

cd "$here/express"
npm install --no-audit --no-fund --silent
