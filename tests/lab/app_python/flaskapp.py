"""The Flask app of the Python lab (tests/lab_python.rs), served by uWSGI: its faults fail the
way real code does, and Flask logs each uncaught exception (`Exception on /path [GET]`) with
its traceback on stderr, which uWSGI's `--logto` file receives."""
import os
import time

import psycopg2
from flask import Flask

app = Flask(__name__)


@app.route("/fl/ok")
@app.route("/fl/queued")
def ok():
    return "ok"


@app.route("/fl/boom")
def boom():
    prices = {"tea": 3}
    return str(prices["coffee"] * 2)


@app.route("/fl/slow")
@app.route("/fl/stuck")
@app.route("/fl/hold")
def slow():
    """Says it started (its pid in LAB_MARK, for the test that kills it), then works too long."""
    with open(os.environ["LAB_MARK"], "w") as mark:
        mark.write(str(os.getpid()))
    time.sleep(60)
    return "late"


@app.route("/fl/db")
@app.route("/fl/db-down")
def db():
    """Reads from the lab's PostgreSQL (LAB_PG_*), whose password is wrong or which is stopped."""
    conn = psycopg2.connect(
        host="127.0.0.1",
        port=os.environ["LAB_PG_PORT"],
        dbname=os.environ["LAB_PG_DB"],
        user=os.environ["LAB_PG_USER"],
        password=os.environ["LAB_PG_PASSWORD"],
        connect_timeout=5,
    )
    conn.close()
    return "db ok"


@app.route("/fl/disk")
def disk():
    """Saves an export into LAB_UPLOAD, a filesystem the test filled."""
    with open(os.path.join(os.environ["LAB_UPLOAD"], "export.bin"), "wb") as f:
        f.write(b"x" * (1 << 20))
    return "saved"


@app.route("/fl/memory")
def memory():
    """Builds a report buffer far larger than the machine's memory: the allocation fails."""
    report = bytearray(1 << 42)
    return str(len(report))
