"""The catalog app: its lookups, datetime adapters, kept-JSON triggers and the request
deadline's database guards, wired at start."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Prefect catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib import admin
        from django.core.signals import setting_changed
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from catalog.adapters import send_aware_datetimes_in_utc
        from catalog.admin.guarded import guard_every_admin
        from catalog.api.deadline import guard_new_connection
        from catalog.models import lookups  # noqa: F401  (registers the cross-database lookups)
        from catalog.models.definition_counts import install_definition_triggers
        from catalog.models.deployment_tags import install_tag_triggers
        from catalog.models.history_triggers import install_history_triggers
        from catalog.models.name_grams import install_gram_triggers
        from catalog.models.schedule_counts import install_schedule_count_triggers
        from catalog.rendering.json_cache import install_triggers
        from catalog.services.deployment_rules import apply_pattern_budget, pattern_setting_changed

        send_aware_datetimes_in_utc()
        post_migrate.connect(install_triggers, sender=self)
        post_migrate.connect(install_history_triggers, sender=self)
        post_migrate.connect(install_schedule_count_triggers, sender=self)
        post_migrate.connect(install_tag_triggers, sender=self)
        post_migrate.connect(install_definition_triggers, sender=self)
        post_migrate.connect(install_gram_triggers, sender=self)
        connection_created.connect(guard_new_connection)
        # The admin registered every app's ModelAdmins before this runs (it comes first).
        guard_every_admin(admin.site)
        apply_pattern_budget()
        setting_changed.connect(pattern_setting_changed)
