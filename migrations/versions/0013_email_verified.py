"""users.email_verified_at: an account signs in only once its address is proven by an emailed link

Accounts made before verification existed stay usable: they count as verified since they
were made (they were signed in at registration). Proving the address is what makes an
ADMIN_EMAILS account an admin, so none becomes one here.

Revision ID: 0013_email_verified
Revises: 0012_training_item_attributes
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_email_verified"
down_revision = "0012_training_item_attributes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at WHERE email_verified_at IS NULL")


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
