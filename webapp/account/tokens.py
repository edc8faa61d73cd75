"""API tokens: random, shown once, stored as SHA-256 (they are long and random, so a fast
hash is enough), revocable."""
import hashlib
import secrets

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ApiToken, utcnow

PREFIX = "jai_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, name: str) -> tuple[ApiToken, str]:
    """Make a token for `user`; the plain text is returned here and never again."""
    plain = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip()[:100] or "token", token_hash=hash_token(plain),
                   prefix=plain[:len(PREFIX) + 6])
    db.session.add(row)
    db.session.commit()
    return row, plain


def user_for_token(plain: str):
    """The owner of a live token, or None; records when it was last used."""
    if not plain or not plain.startswith(PREFIX):
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain),
                                                   ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row.user


def revoke(row: ApiToken) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
