"""The admin's answer to a login django-axes locked out (catalog/api/logins.py counts)."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

LOCKED_OUT_STATUS = 429


def lockout_response(request: HttpRequest, original_response: HttpResponse, credentials):
    """AXES_LOCKOUT_CALLABLE: the lockout page for the admin's login form. Basic auth on
    the API has already answered with its own 401, which stands."""
    if not request.path_info.startswith(reverse("admin:index")):
        return original_response
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "failure_limit": settings.CATALOG_LOGIN_FAILURE_LIMIT,
        "cooloff_minutes": settings.CATALOG_LOGIN_COOLOFF_MINUTES,
    }
    return render(request, "admin/locked_out.html", context, status=LOCKED_OUT_STATUS)
