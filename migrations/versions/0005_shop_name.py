"""users.shop_name: the name customers see on an artisan's listings and shop page

Revision ID: 0005_shop_name
Revises: 0004_job_created_precise
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_shop_name"
down_revision = "0004_job_created_precise"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("shop_name", sa.String(80), nullable=True))


def downgrade():
    op.drop_column("users", "shop_name")
