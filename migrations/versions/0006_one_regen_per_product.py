"""jobs.regenerating_product_id: a generated column with a unique index, one regeneration per product

Revision ID: 0006_one_regen_per_product
Revises: 0005_shop_name
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_one_regen_per_product"
down_revision = "0005_shop_name"
branch_labels = None
depends_on = None

REGENERATING = "CASE WHEN kind = 'regenerate' AND state IN ('queued', 'processing') THEN product_id END"


def upgrade():
    # A queued or running regeneration already twice for one product would stop the index: end extras.
    op.execute("UPDATE jobs SET state = 'failed', error = 'Replaced by a newer request.' "
               "WHERE kind = 'regenerate' AND state = 'queued' AND id NOT IN (SELECT id FROM ("
               "SELECT MIN(id) AS id FROM jobs WHERE kind = 'regenerate' AND state IN ('queued', 'processing') "
               "GROUP BY product_id) AS keep)")
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("regenerating_product_id", sa.Integer(),
                                   sa.Computed(REGENERATING, persisted=False), nullable=True))
        batch.create_unique_constraint("uq_jobs_regenerating_product_id", ["regenerating_product_id"])


def downgrade():
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_regenerating_product_id", type_="unique")
        batch.drop_column("regenerating_product_id")
