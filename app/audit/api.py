"""JSON API of the evidence log (/api/v1/audit) and the platform's public keys (/api/v1/keys, /.well-known).

Checkpoints, consistency proofs and keys are public: they reveal only hashes and let anybody watch
that the log never forks. Entries and exports describe who did what, so they need `audit.read`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from app.audit import schemas, services
from app.core.api import problem_responses
from app.core.errors import NotFound
from app.core.keys import platform_public_keys
from app.core.problems import N_
from app.core.security import public, requires

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Evidence log: checkpoints, proofs, export")
keys_blp = Blueprint("platform_keys", __name__, url_prefix="/api/v1/keys", description="Platform public keys")
well_known = FlaskBlueprint("well_known_keys", __name__)


def _problems(*codes: int) -> Any:
    return problem_responses(blp, *codes)


@blp.route("/checkpoints/latest")
@blp.response(200, schemas.SignedCheckpointSchema)
@_problems(404)
@public
def latest_checkpoint() -> dict[str, Any]:
    """The latest signed checkpoint (tree head)."""
    cp = services.latest_checkpoint()
    if cp is None:
        raise NotFound(N_("no checkpoint has been issued yet"))
    return services.checkpoint_document(cp)


@blp.route("/checkpoints/<int:tree_size>")
@blp.response(200, schemas.SignedCheckpointSchema)
@_problems(404)
@public
def checkpoint(tree_size: int) -> dict[str, Any]:
    """The signed checkpoint issued for exactly this tree size."""
    return services.checkpoint_document(services.get_checkpoint(tree_size))


@blp.route("/entries/<int:index>")
@blp.arguments(schemas.EntryArgsSchema, location="query")
@blp.response(200, schemas.EntryResponseSchema)
@_problems(401, 403, 404, 422)
@requires("audit.read")
def entry(args: dict[str, Any], index: int) -> dict[str, Any]:
    """One log entry with its inclusion proof to the latest checkpoint, or to `tree_size`."""
    return services.get_entry(index, args.get("tree_size"))


@blp.route("/consistency")
@blp.arguments(schemas.ConsistencyArgsSchema, location="query")
@blp.response(200, schemas.ConsistencyResponseSchema)
@_problems(404, 422)
@public
def consistency(args: dict[str, Any]) -> dict[str, Any]:
    """Consistency proof (RFC 6962 §2.1.2) that tree size `first` is a prefix of tree size `second`."""
    return services.get_consistency(args["first"], args["second"])


@blp.route("/export")
@blp.arguments(schemas.ExportArgsSchema, location="query")
@blp.response(200, schemas.ExportSchema)
@_problems(401, 403, 409, 422)
@requires("audit.read")
def export(args: dict[str, Any]) -> dict[str, Any]:
    """Entries [start, end) with canonical bytes, the covering checkpoint and a range proof to its root.

    Verify offline with `python -m crypto verify-log EXPORT --key PUBLIC_KEY`.
    """
    return services.export_range(args["start"], args["end"], args.get("consistency_from"))


def _keys_document() -> dict[str, Any]:
    return {"keys": platform_public_keys()}


@keys_blp.route("")
@keys_blp.response(200, schemas.PublicKeysSchema)
@public
def keys() -> dict[str, Any]:
    """The Ed25519 public keys that sign checkpoints, receipts and manifests."""
    return _keys_document()


@well_known.route("/.well-known/platform-keys.json")
@public
def well_known_keys() -> ResponseReturnValue:
    return jsonify(_keys_document())


def register(app: Flask) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
    api.register_blueprint(keys_blp)
    app.register_blueprint(well_known)
