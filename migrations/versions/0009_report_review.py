"""inaccuracy_reports: reporter (one report per visitor per listing) and admin confirmation

Revision ID: 0009_report_review
Revises: 0008_session_version
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_report_review"
down_revision = "0008_session_version"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inaccuracy_reports") as batch:
        batch.add_column(sa.Column("reporter", sa.String(64), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("confirmed_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_reports_confirmed_by", "users", ["confirmed_by_id"], ["id"])
        batch.create_unique_constraint("uq_report_per_visitor", ["product_id", "reporter"])


def downgrade():
    with op.batch_alter_table("inaccuracy_reports") as batch:
        batch.drop_constraint("uq_report_per_visitor", type_="unique")
        batch.drop_constraint("fk_reports_confirmed_by", type_="foreignkey")
        batch.drop_column("confirmed_by_id")
        batch.drop_column("confirmed_at")
        batch.drop_column("reporter")
