"""The catalog's commands: import_deployments, export_deployments, create_api_key, setup_demo."""
