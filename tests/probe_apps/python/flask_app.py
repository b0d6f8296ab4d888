"""Flask app for the probe lab: `python flask_app.py PORT debug|production`.

Its failing routes are the everyday ones: a query on a table a migration never created and a
report file that is not there; `/account` fails the same way, behind a login (a session cookie). With `debug=True` Werkzeug answers them with its interactive
debugger page (traceback, paths, SQL); without, Flask answers a generic 500 page.
"""

import os
import sqlite3
import sys

from flask import Flask, jsonify, redirect, request

app = Flask(__name__)
DATA = os.environ.get("PROBE_DATA", os.path.dirname(os.path.abspath(__file__)))


@app.route("/")
def index():
    return "<h1>Shop</h1><p>Welcome.</p>"


@app.route("/orders")
def orders():
    # The `orders` table does not exist: sqlite3.OperationalError.
    db = sqlite3.connect(os.path.join(DATA, "shop.sqlite3"))
    rows = db.execute("SELECT id, total FROM orders WHERE customer = ?", ("42",)).fetchall()
    return jsonify(rows)


@app.route("/report")
def report():
    # The nightly export never ran: FileNotFoundError naming the server-side path.
    with open(os.path.join(DATA, "reports", "daily.csv"), encoding="utf-8") as f:
        return f.read()


@app.route("/account")
def account():
    # Behind a login: without the session cookie, a redirect to the login page (which answers
    # 401); with it, the page's query fails on the missing table like /orders.
    if request.cookies.get("session") != "lab":
        return redirect("/login")
    return orders()


@app.route("/login")
def login():
    return "<h1>Log in</h1><form method=post><input name=user></form>", 401


if __name__ == "__main__":
    port, mode = int(sys.argv[1]), sys.argv[2]
    app.run(host="127.0.0.1", port=port, debug=(mode == "debug"), use_reloader=False)
