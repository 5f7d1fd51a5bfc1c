"""A URLconf mounting the "Upcoming runs" admin page as the deployment ModelAdmin will."""

from functools import partial

from django.contrib import admin
from django.urls import path

from catalog.admin.upcoming import upcoming_runs_view
from catalog.models import Deployment

urlpatterns = [
    path(
        "admin/catalog/deployment/upcoming/",
        admin.site.admin_view(
            partial(upcoming_runs_view, model_admin=admin.site._registry[Deployment])
        ),
        name="catalog_deployment_upcoming",
    ),
    path("admin/", admin.site.urls),
]
