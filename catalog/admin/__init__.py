"""The Django admin: the ops staff's tool for the catalog."""

from catalog.admin import api_keys, catalog_models, deployments  # noqa: F401  (register the ModelAdmins)
