"""An index on photos.thumbnail_key: the orphan sweep keeps an object a thumbnail points to

Revision ID: 0015_photo_thumbnail_key_index
Revises: 0014_photo_upload_etag
"""
from alembic import op

revision = "0015_photo_thumbnail_key_index"
down_revision = "0014_photo_upload_etag"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_photos_thumbnail_key", "photos", ["thumbnail_key"])


def downgrade():
    op.drop_index("ix_photos_thumbnail_key", table_name="photos")
