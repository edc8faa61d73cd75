"""Periodic tasks for the `beat` process (Procfile): name -> {"task": ..., "schedule": seconds or crontab}.

Empty until a periodic task exists; add entries here, e.g.
    "sweep-stale-uploads": {"task": "workers.tasks.sweep_stale_uploads", "schedule": 600.0},
Run exactly one beat process (one dyno), however many workers there are.
"""

BEAT_SCHEDULE: dict = {}
