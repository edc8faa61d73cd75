"""Periodic tasks for the `beat` process (Procfile): name -> {"task": ..., "schedule": seconds or crontab}.

Run exactly one beat process (one dyno), however many workers there are.
"""
from celery.schedules import crontab


def beat_schedule(config) -> dict:
    """The schedule, with intervals from the settings."""
    schedule = {
        # Re-queues stuck jobs, fails jobs tried too often, deletes abandoned uploads (workers/reaper.py).
        "reap-stale-jobs": {"task": "workers.reaper.reap_stale_jobs",
                            "schedule": config["REAPER_INTERVAL"],
                            "options": {"queue": config["CELERY_QUEUE"],
                                        "expires": config["REAPER_INTERVAL"]}},
    }
    if config.get("RETRAIN_ENABLED"):
        # Trains, evaluates on the held-out split and promotes only if not worse (workers/retrain.py).
        minute, hour, day, month, weekday = config["RETRAIN_SCHEDULE"].split()
        schedule["retrain-models"] = {
            "task": "workers.retrain.retrain_models",
            "schedule": crontab(minute=minute, hour=hour, day_of_month=day, month_of_year=month,
                                day_of_week=weekday),
            "options": {"queue": config.get("RETRAIN_QUEUE") or config["CELERY_QUEUE"],
                        "time_limit": config["RETRAIN_TIME_LIMIT"] + 60,
                        "soft_time_limit": config["RETRAIN_TIME_LIMIT"]}}
    return schedule
