"""users.session_version: part of every session cookie, moved on to end them server-side

Revision ID: 0008_session_version
Revises: 0007_photo_embeddings
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_session_version"
down_revision = "0007_photo_embeddings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
