"""Periodic tasks for the `beat` process (Procfile): name -> {"task": ..., "schedule": seconds or crontab}.

Run exactly one beat process (one dyno), however many workers there are.
"""


def beat_schedule(config) -> dict:
    """The schedule, with intervals from the settings."""
    return {
        # Re-queues stuck jobs, fails jobs tried too often, deletes abandoned uploads (workers/reaper.py).
        "reap-stale-jobs": {"task": "workers.reaper.reap_stale_jobs",
                            "schedule": config["REAPER_INTERVAL"],
                            "options": {"queue": config["CELERY_QUEUE"],
                                        "expires": config["REAPER_INTERVAL"]}},
    }
