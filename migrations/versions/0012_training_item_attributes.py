"""training_items.type, finish and stone_count: a catalogue's labels for every attribute of the
default taxonomy, not only category, metal, gemstone, style and colour

Revision ID: 0012_training_item_attributes
Revises: 0011_marketplace_taxonomy
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_training_item_attributes"
down_revision = "0011_marketplace_taxonomy"
branch_labels = None
depends_on = None

COLUMNS = ("type", "finish", "stone_count")


def upgrade():
    with op.batch_alter_table("training_items") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(40), nullable=True))


def downgrade():
    with op.batch_alter_table("training_items") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
