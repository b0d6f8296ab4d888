from django.urls import path

from . import views

urlpatterns = [
    path("dj/ok", views.ok),
    path("dj/boom", views.boom),
    path("dj/slow", views.slow),
    path("dj/stuck", views.slow),
    path("dj/hold", views.slow),
    path("dj/queued", views.ok),
    path("dj/db", views.db),
    path("dj/db-down", views.db),
    path("dj/disk", views.disk),
    path("dj/memory", views.memory),
]
