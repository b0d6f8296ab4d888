"""Django app in one file for the probe lab:
`python django_app.py runserver --noreload 127.0.0.1:PORT` with `PROBE_DEBUG=1` or `0`.

Same failing routes as the Flask app: a query on a missing table (through Django's own
database connection, so the debug page shows the SQL) and a missing report file. With
`DEBUG = True` Django answers its technical 500 page; with `DEBUG = False`, "Server Error (500)".
"""

import os
import sys

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path

DATA = os.environ.get("PROBE_DATA", os.path.dirname(os.path.abspath(__file__)))

settings.configure(
    DEBUG=os.environ.get("PROBE_DEBUG") == "1",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY="probe-lab-not-a-secret",
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(DATA, "shop.sqlite3"),
        }
    },
)


def index(request):
    return HttpResponse("<h1>Shop</h1><p>Welcome.</p>")


def orders(request):
    # The `orders` table does not exist: django.db.utils.OperationalError.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, total FROM orders WHERE customer = %s", ["42"])
        return JsonResponse({"orders": cursor.fetchall()})


def report(request):
    # The nightly export never ran: FileNotFoundError naming the server-side path.
    with open(os.path.join(DATA, "reports", "daily.csv"), encoding="utf-8") as f:
        return HttpResponse(f.read(), content_type="text/csv")


urlpatterns = [
    path("", index),
    path("orders", orders),
    path("report", report),
]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
