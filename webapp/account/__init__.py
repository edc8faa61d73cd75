"""The artisan's settings: API tokens for integrations."""
