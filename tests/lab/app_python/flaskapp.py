"""The Flask app of the Python lab (tests/lab_python.rs), served by uWSGI: its faults fail the
way real code does, and Flask logs each uncaught exception (`Exception on /path [GET]`) with
its traceback on stderr, which uWSGI's `--logto` file receives."""
import os
import time

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
