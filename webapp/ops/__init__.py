"""Operations: liveness and readiness probes, /metrics, and the admins' operations page."""
