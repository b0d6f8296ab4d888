"""The helper of bench/audit.sh: writes the hostile inputs of issue 16's audit with known 5xx
counts, reads the tools' answers, and plays the parts around `watch` (a log writer that
rotates, idle HTTP connections, a webhook that redirects). Standard library only.

    python3 audit.py cases OUT N             the diagnose/seo cases, one directory each
    python3 audit.py count diagnose|seo FILE  the 5xx a report gives (0 if it is not JSON)
    python3 audit.py watchcase NAME LOG N HEAD|BODY   a watch scenario's head, or its body
    python3 audit.py storm LOG CODE LINES ROTATE SEED  appends, rotating on the way
    python3 audit.py files DIR M K CODE [copytruncate FRACTION]
    python3 audit.py idle PORT N STOPFILE    holds N idle connections until STOPFILE exists
    python3 audit.py receiver PORT MODEFILE OUT   a webhook: 302 or 200 as MODEFILE says
"""

import bz2
import gzip
import json
import lzma
import os
import random
import shutil
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
# 2026-11-25 10:00:00 UTC: the diagnose/seo cases' first second.
BASE = 1795600800


def clf_time(t):
    g = time.gmtime(t)
    return "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
        g.tm_mday, MONTHS[g.tm_mon - 1], g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)


def combined(t, n, status, path=None, agent=GOOGLEBOT):
    """One nginx `combined` line, from Googlebot (so `seo` counts it too)."""
    path = path or "/p/%d" % (n % 997)
    return '10.%d.%d.%d - - [%s] "GET %s HTTP/1.1" %d 512 "-" "%s"\n' % (
        n // 65536 % 256, n // 256 % 256, n % 256, clf_time(t), path, status, agent)


def vhost(t, n, status):
    """The same in Apache's `vhost_combined` (a format change at a reload)."""
    return "shop.example.com:443 " + combined(t, n, status)


def as_json(t, n, status):
    iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
    return json.dumps({"time": iso, "remote_addr": "10.0.0.%d" % (n % 256),
                       "request": "GET /j/%d HTTP/1.1" % (n % 997), "status": str(status),
                       "body_bytes_sent": 512, "http_user_agent": GOOGLEBOT}) + "\n"


def traffic(n5xx, start=BASE, make=combined, first=0):
    """`n5xx` 5xx lines (500, 502, 503, 504 in turn) each after a 200: 2 × n5xx lines."""
    out = []
    for i in range(n5xx):
        t = start + (first + i) // 4
        out.append(make(t, 2 * (first + i), 200))
        out.append(make(t, 2 * (first + i) + 1, (500, 502, 503, 504)[i % 4]))
    return "".join(out)


def garbage(rng, lines):
    """Binary junk: random bytes of every value, in lines of 1 to 300 bytes."""
    return b"".join(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) + b"\n"
                    for _ in range(lines))


PHP_NOTICE = ("[25-Nov-2026 09:59:%02d UTC] PHP Notice:  Undefined variable $cart in "
              "/var/www/shop/cart.php on line 41\n")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def cases(out, n):
    """Each case: OUT/NAME/in/… and OUT/NAME/meta.json with the 5xx written (what diagnose
    and seo should count) and a note."""
    rng = random.Random(16)
    half = n // 2
    body = traffic(n).encode()
    first, rest = traffic(half).encode(), traffic(n - half, first=half).encode()
    made = {}

    def case(name, note, files, written=n, args=None):
        root = os.path.join(out, name, "in")
        for rel, data in files.items():
            write(os.path.join(root, rel), data)
        made[name] = {"written": written, "note": note,
                      "args": [os.path.join(root, a) for a in (args or sorted(files))]}

    case("php_notices_head", "43 PHP notices, then the access log",
         {"access.log": "".join(PHP_NOTICE % (s % 60) for s in range(43)).encode() + body})
    case("garbage_head", "200 lines of binary junk, then the log",
         {"access.log": garbage(rng, 200) + body})
    case("garbage_middle", "the log with 200 junk lines in its middle",
         {"access.log": first + garbage(rng, 200) + rest})
    case("garbage_end", "the log, then 200 junk lines", {"access.log": body + garbage(rng, 200)})
    mid = first + garbage(rng, 200) + rest
    case("gz_garbage_middle", "junk in the middle, inside a .gz",
         {"access.log.2.gz": gzip.compress(mid)})
    case("bz2_garbage_middle", "junk in the middle, inside a .bz2",
         {"access.log.2.bz2": bz2.compress(mid)})
    case("xz_garbage_middle", "junk in the middle, inside a .xz",
         {"access.log.2.xz": lzma.compress(mid)})
    case("banner_head", "a banner line, then the log",
         {"access.log": b"# access log of shop.example.com, opened by logger 1.2\n" + body})
    case("banner_format_change", "combined, a reload banner, then JSON lines",
         {"access.log": first + b"-- nginx reloaded: log_format json --\n"
          + traffic(n - half, make=as_json, first=half).encode()})
    case("format_change_vhost", "combined, then vhost_combined without a word",
         {"access.log": first + traffic(n - half, make=vhost, first=half).encode()})
    case("json_garbage_middle", "JSON lines with junk in the middle",
         {"access.json": traffic(half, make=as_json).encode() + garbage(rng, 200)
          + traffic(n - half, make=as_json, first=half).encode()})
    case("subdirectory", "per-site logs in subdirectories (site1/, site2/old/)",
         {"site1/access.log": first, "site2/old/access.log": rest}, args=["."])
    case("blank_first_line", "an empty first line", {"access.log": b"\n" + body})
    case("status_000_first_line", "a first line with status 000 (a closed connection)",
         {"access.log": combined(BASE - 1, 0, 0).replace(" 0 512", " 000 0").encode() + body})
    bad = body.replace(b'"GET /p/1', b'"GET /p/\xff\xfe1').replace(b"Googlebot/2.1;",
                                                                    b"Googlebot/2.1;\xc3(")
    case("invalid_utf8", "invalid UTF-8 in paths and agents", {"access.log": bad})
    huge = b"".join(b"x" * (3 << 20) + b"\n" for _ in range(3))
    case("huge_lines", "three 3 MiB lines among the log lines",
         {"access.log": first + huge + rest})
    cut = body + combined(BASE, 1, 200).encode()[:40]
    case("truncated_last_line", "the last line cut off (a 200)", {"access.log": cut})
    case("crlf", "CRLF line ends", {"access.log": body.replace(b"\n", b"\r\n")})
    case("nul_bytes", "NUL bytes in some lines",
         {"access.log": body.replace(b'"-" "Mozilla', b'"\x00-" "Mozilla', 50)})
    third = n // 3
    case("rotated_set", "access.log, access.log.1, access.log.2.gz in a directory",
         {"access.log.2.gz": gzip.compress(traffic(third).encode()),
          "access.log.1": traffic(third, first=third).encode(),
          "access.log": traffic(n - 2 * third, first=2 * third).encode()}, args=["."])
    gz = gzip.compress(body)
    cut_gz = gz[: len(gz) * 2 // 3]
    case("gz_cut_off", "a .gz cut off at two thirds (the rest is gone: said, not silent)",
         {"access.log.3.gz": cut_gz})
    case("only_garbage", "a file of only junk: nothing read must be said, not 'no 5xx'",
         {"access.log": garbage(rng, 500)}, written=0)
    case("one_good_among_unreadable",
         "a directory: one good log, a dangling link, a corrupt .gz, a junk file",
         {"access.log": body, "broken.log.1.gz": b"\x1f\x8b\x08\x00junk" + garbage(rng, 5),
          "junk.log": garbage(rng, 50)}, args=["."])
    os.symlink(os.path.join(out, "one_good_among_unreadable", "in", "gone"),
               os.path.join(out, "one_good_among_unreadable", "in", "access.log.9"))
    deep = "/".join("d%d" % i for i in range(1, 10))
    case("nine_levels_down", "a log 9 directory levels down (one more than read: said)",
         {"access.log": first, deep + "/access.log": rest}, args=["."])
    case("symlink_loop", "a per-site directory with a link back up (a loop)",
         {"site1/access.log": body}, args=["."])
    os.symlink("..", os.path.join(out, "symlink_loop", "in", "site1", "up"))
    case("error_log_beside", "the access log with nginx's error log beside it",
         {"access.log": body, "error.log": "".join(
             "2026/11/25 10:00:%02d [error] 812#812: *%d connect() to unix:/run/php/php-fpm.sock "
             "failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, "
             'server: _, request: "GET /p/1 HTTP/1.1", upstream: "fastcgi://unix:/run/php/'
             'php-fpm.sock:", host: "shop.example.com"\n' % (s % 60, s) for s in range(50))},
         args=["."])
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(made, f, indent=1)
    for name in made:
        print(name)


def count(mode, path):
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        print(0)
        return
    if mode == "diagnose":
        print(report["summary"]["server_errors"])
    else:
        print(sum(c.get("server_errors", 0) for c in report.get("crawlers", {}).values()))


# The six ways issue 16 found a file's first lines to hide its later 5xx from `watch`.
WATCH_HEADS = {
    "blank_first_line": lambda t: "\n",
    "status_000_first_line": lambda t: combined(t, 0, 0).replace(" 0 512", " 000 0"),
    "banner_first_line": lambda t: "# access log of shop.example.com, opened by logger 1.2\n",
    "php_notice_first": lambda t: PHP_NOTICE % 0,
    "garbage_first": lambda t: garbage(random.Random(5), 5).decode("latin-1"),
    "format_change": lambda t: traffic(5, start=t) + "-- nginx reloaded: log_format json --\n",
}


def watchcase(name, log, n, part):
    """HEAD: writes the scenario's first lines; BODY: appends n 5xx (and n 200s), as JSON
    lines after a format change. Prints the 5xx written and the lines that are not blank."""
    t = int(time.time()) - 1200
    if part == "HEAD":
        text = WATCH_HEADS[name](t)
        fives = 5 if name == "format_change" else 0
    else:
        make = as_json if name == "format_change" else combined
        text = traffic(n, start=t, make=make)
        fives = n
    with open(log, "ab") as f:
        f.write(text.encode("latin-1"))
    print(fives, sum(1 for line in text.split("\n") if line.strip()))


def storm(log, code, lines, rotate, seed):
    """Appends `lines` lines of status `code`, 500 at a time; every `rotate` lines the log is
    rotated, by rename (written on through the old descriptor for a while, then reopened, as
    nginx does until its USR1) or by copytruncate, in turn."""
    rng = random.Random(seed)
    t = int(time.time()) - 1200
    f = open(log, "ab")
    written, since = 0, 0
    while written < lines:
        k = min(500, lines - written)
        f.write("".join(combined(t, written + i, code, agent="storm") for i in range(k)).encode())
        f.flush()
        written += k
        since += k
        if since >= rotate:
            since = 0
            stamp = "%d-%d-%d" % (code, written, rng.randrange(1 << 30))
            if rng.random() < 0.5:
                os.rename(log, "%s.%s" % (log, stamp))
                f.write("".join(combined(t, i, code, agent="storm-late")
                                for i in range(min(100, lines - written))).encode())
                late = min(100, lines - written)
                written += late
                f.close()
                f = open(log, "ab")
            else:
                shutil.copyfile(log, "%s.%s" % (log, stamp))
                os.truncate(log, 0)
    f.close()
    print(written)


def files(d, m, k, code, *rest):
    """Appends k lines of status `code` to each of m files d/site-I.log; with `copytruncate
    FRACTION`, first copytruncates that fraction of them (to d/site-I.log.1, ...)."""
    t = int(time.time()) - 1200
    if rest and rest[0] == "copytruncate":
        step = max(1, int(1 / float(rest[1])))
        for i in range(0, m, step):
            p = os.path.join(d, "site-%d.log" % i)
            n = 1
            while os.path.exists("%s.%d" % (p, n)):
                n += 1
            shutil.copyfile(p, "%s.%d" % (p, n))
            os.truncate(p, 0)
    for i in range(m):
        # Each site's own clients: files alike byte for byte would be copies of one another.
        with open(os.path.join(d, "site-%d.log" % i), "ab") as f:
            f.write("".join(combined(t, i * 65536 + j, code, agent="fd") for j in range(k))
                    .encode())
    print(m * k)


def idle(port, n, stopfile):
    """Opens n connections that never send a byte; prints how many opened and, at the stop,
    how many the server had closed."""
    held = []
    for _ in range(n):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    print(len(held), flush=True)
    while not os.path.exists(stopfile):
        time.sleep(0.1)
    closed = 0
    for s in held:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print(closed, flush=True)


def receiver(port, modefile, out):
    """A webhook on 127.0.0.1: a POST gets 302 to /landing while MODEFILE says 302, else 200
    (its body written to OUT as a line); anything else gets 200. Attempts go to OUT.posts."""

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with open(out + ".posts", "a") as f:
                f.write("x\n")
            with open(modefile) as f:
                redirect = f.read().strip() == "302"
            if redirect:
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:%d/landing" % port)
            else:
                with open(out, "ab") as f:
                    f.write(body.replace(b"\n", b" ") + b"\n")
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "cases":
        cases(args[0], int(args[1]))
    elif cmd == "count":
        count(args[0], args[1])
    elif cmd == "watchcase":
        watchcase(args[0], args[1], int(args[2]), args[3])
    elif cmd == "storm":
        storm(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]))
    elif cmd == "files":
        files(args[0], int(args[1]), int(args[2]), int(args[3]), *args[4:])
    elif cmd == "idle":
        idle(int(args[0]), int(args[1]), args[2])
    elif cmd == "receiver":
        receiver(int(args[0]), args[1], args[2])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
