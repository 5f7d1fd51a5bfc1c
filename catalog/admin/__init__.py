"""The Django admin: the ops staff's tool for the catalog."""

from catalog.admin import (  # noqa: F401  (register the ModelAdmins)
    api_keys,
    audit_log,
    catalog_models,
    deployments,
)
