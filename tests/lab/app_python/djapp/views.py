"""The lab's faults, each a view that fails the way real code does."""
import os
import time

from django.db import connection
from django.http import HttpResponse


def ok(request):
    return HttpResponse("ok")


def boom(request):
    order = {"id": 7}
    return HttpResponse(order["customer"])


def slow(request):
    """Says it started (its pid in LAB_MARK, for the test that kills it), then works too long."""
    with open(os.environ["LAB_MARK"], "w") as mark:
        mark.write(str(os.getpid()))
    time.sleep(60)
    return HttpResponse("late")


def db(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("db ok")


def disk(request):
    """Saves an upload into LAB_UPLOAD, a filesystem the test filled."""
    with open(os.path.join(os.environ["LAB_UPLOAD"], "upload.bin"), "wb") as f:
        f.write(b"x" * (1 << 20))
    return HttpResponse("saved")


def memory(request):
    """Builds a report buffer far larger than the machine's memory: the allocation fails."""
    report = bytearray(1 << 42)
    return HttpResponse(str(len(report)))
