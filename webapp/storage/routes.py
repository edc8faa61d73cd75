"""Endpoints that make the local store behave like S3 for the browser."""
from flask import Response, abort, request, send_file

from webapp.extensions import csrf
from webapp.storage import bp, get_store
from webapp.storage.local import PolicyError


def _s3_error(status, code, message):
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status=status, mimetype="application/xml")


@bp.post("/upload")
@csrf.exempt  # authorised by the signed policy, exactly as S3 does
def upload():
    store = get_store()
    if store.kind != "local":
        abort(404)
    file = request.files.get("file")
    if file is None:
        return _s3_error(400, "InvalidArgument", "No file field in the form.")
    try:
        store.accept_post(request.form, file.read())
    except PolicyError as exc:
        return _s3_error(exc.status, exc.code, exc.message)
    except (KeyError, ValueError):
        return _s3_error(400, "InvalidPolicyDocument", "The upload policy is malformed.")
    return Response(status=204)


@bp.get("/objects/<path:key>")
def download(key):
    store = get_store()
    if store.kind != "local" or not store.check_download(
            key, request.args.get("until", 0, type=int), request.args.get("sig", "")):
        abort(404)
    head = store.head(key)
    if head is None:
        abort(404)
    # Photos may be private (drafts): no shared cache keeps them. Anything not an image is a
    # download, never a page shown from this site's origin.
    content_type = head["content_type"] or "application/octet-stream"
    response = send_file(store._path(key), mimetype=content_type, as_attachment=not content_type.startswith("image/"))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.errorhandler(413)
def too_large(_exc):
    return _s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
