from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Prefect catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog import lookups  # noqa: F401  (registers the cross-database lookups)
        from catalog.adapters import send_aware_datetimes_in_utc

        send_aware_datetimes_in_utc()
