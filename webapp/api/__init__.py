"""The JSON API under /api/v1/, for integrations; documented in openapi.yaml."""
