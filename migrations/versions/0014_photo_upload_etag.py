"""photos.upload_etag: the stored upload's ETag when it was confirmed; the worker reads only those bytes

Revision ID: 0014_photo_upload_etag
Revises: 0013_email_verified
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_photo_upload_etag"
down_revision = "0013_email_verified"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("upload_etag", sa.String(100), nullable=True))


def downgrade():
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("upload_etag")
