"""Django settings of the Python lab (tests/lab_python.rs): one app, no models, logging its
500s the way a production site does (DEBUG off, `django.request` to stderr, which gunicorn's
`--capture-output` puts in its error log). The database, when the lab gives one, comes from
the environment."""
import os

SECRET_KEY = "lab-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djapp.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
USE_TZ = True
# Django sets the process TZ to TIME_ZONE, which its log times are written in.
TIME_ZONE = "UTC"
DATABASES = {}
if os.environ.get("LAB_PG_PORT"):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": os.environ["LAB_PG_PORT"],
        "NAME": os.environ["LAB_PG_DB"],
        "USER": os.environ["LAB_PG_USER"],
        "PASSWORD": os.environ["LAB_PG_PASSWORD"],
    }
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False}},
}
