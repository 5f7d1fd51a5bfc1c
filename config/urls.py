from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/", include("catalog.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "catalog.errors.not_found"
handler500 = "catalog.errors.server_error"
