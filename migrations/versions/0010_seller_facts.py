"""products: the seller's facts (price and currency, quantity, SKU, size, weight, materials,
technique, origin, care, a short story), filled only by a person and quoted by the description

Revision ID: 0010_seller_facts
Revises: 0009_report_review
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_seller_facts"
down_revision = "0009_report_review"
branch_labels = None
depends_on = None

COLUMNS = (("price", sa.Numeric(10, 2)), ("currency", sa.String(3)), ("quantity", sa.Integer()),
           ("sku", sa.String(64)), ("size", sa.String(120)), ("weight", sa.String(60)),
           ("materials", sa.String(200)), ("technique", sa.String(120)), ("origin", sa.String(120)),
           ("care", sa.String(300)), ("story", sa.String(500)))


def upgrade():
    with op.batch_alter_table("products") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade():
    with op.batch_alter_table("products") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
