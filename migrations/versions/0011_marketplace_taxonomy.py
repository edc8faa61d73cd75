"""model_versions.taxonomy (the version's attributes and values, read by the web) and
label_mappings (the admin's spellings and synonyms for imported labels)

Revision ID: 0011_marketplace_taxonomy
Revises: 0010_seller_facts
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_marketplace_taxonomy"
down_revision = "0010_seller_facts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("taxonomy", sa.JSON(), nullable=True))
    op.create_table(
        "label_mappings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("attribute", sa.String(32), nullable=False),
        sa.Column("raw", sa.String(128), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("attribute", "raw", name="uq_label_mapping"),
    )


def downgrade():
    op.drop_table("label_mappings")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("taxonomy")
