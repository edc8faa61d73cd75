"""jobs.created_at keeps microseconds on MySQL, so a product's jobs order reliably

Revision ID: 0004_job_created_precise
Revises: 0003_training_registry
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004_job_created_precise"
down_revision = "0003_training_registry"
branch_labels = None
depends_on = None


def upgrade():
    # SQLite already stores microseconds; only MySQL/MariaDB DATETIME drops them.
    if op.get_bind().dialect.name == "mysql":
        op.alter_column("jobs", "created_at", existing_type=sa.DateTime(), type_=mysql.DATETIME(fsp=6),
                        existing_nullable=False)


def downgrade():
    if op.get_bind().dialect.name == "mysql":
        op.alter_column("jobs", "created_at", existing_type=mysql.DATETIME(fsp=6), type_=sa.DateTime(),
                        existing_nullable=False)
