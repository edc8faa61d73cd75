"""The admin dashboard page."""
from flask import render_template, request

from webapp.admin import bp, dashboard_figures
from webapp.listings.merge import threshold


@bp.get("/dashboard")
def dashboard():
    days = min(max(request.args.get("days", 14, type=int), 1), 365)
    approved_share, approved_n = dashboard_figures.share_approved_without_edits(days)
    low_share, attributes_n = dashboard_figures.share_low_confidence(days, threshold())
    return render_template(
        "admin/dashboard.html", days=days, per_day=dashboard_figures.listings_per_day(days),
        median_ready=dashboard_figures.median_upload_to_ready_seconds(days),
        approved_share=approved_share, approved_n=approved_n,
        low_share=low_share, attributes_n=attributes_n, threshold=threshold())
