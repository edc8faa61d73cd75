"""photo_embeddings: each photo's image embedding, for "more like this" and duplicate photos

Revision ID: 0007_photo_embeddings
Revises: 0006_one_regen_per_product
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_photo_embeddings"
down_revision = "0006_one_regen_per_product"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "photo_embeddings",
        sa.Column("photo_id", sa.Integer(), sa.ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        # 1280 float16 values: 2,560 bytes (BLOB holds 64 KiB).
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade():
    op.drop_table("photo_embeddings")
