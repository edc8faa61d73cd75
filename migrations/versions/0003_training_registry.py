"""training data, model registry and photo heatmaps

Revision ID: 0003_training_registry
Revises: 0002_review_workflow
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_training_registry"
down_revision = "0002_review_workflow"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "training_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=191), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("image_key", sa.String(length=512), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("metal", sa.String(length=40), nullable=True),
        sa.Column("gemstone", sa.String(length=40), nullable=True),
        sa.Column("style", sa.String(length=40), nullable=True),
        sa.Column("colour", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tone", sa.String(length=20), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "source_id", name="uq_training_items_source"),
    )
    op.create_index("ix_training_items_fingerprint", "training_items", ["fingerprint"])
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("object_key", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("label_set", sa.JSON(), nullable=True),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("gate", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("promoted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    op.create_index("ix_model_versions_status", "model_versions", ["status"])
    op.create_table(
        "photo_heatmaps",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.String(length=512), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["photo_id"], ["photos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("photo_id"),
    )


def downgrade():
    op.drop_table("photo_heatmaps")
    op.drop_index("ix_model_versions_status", table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_index("ix_training_items_fingerprint", table_name="training_items")
    op.drop_table("training_items")
