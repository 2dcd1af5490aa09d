"""evaluation documents name bids by public id

The evaluation now stores and shows a bid's random public id wherever its review sheets, review result and result
name a bid (issue 9 item 8). Rooms of evaluations still under way (no report drawn up yet) are rewritten; rooms
whose report exists keep the ids their signed report was drawn up with (a signed document is never rewritten).

Revision ID: e7b1f04c9a2d
Revises: c4a1e0d2b7f3
Create Date: 2026-12-06 22:00:00

"""
import json
from typing import Any, Callable

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7b1f04c9a2d'
down_revision = 'c4a1e0d2b7f3'
branch_labels = None
depends_on = None

bids = sa.table('bids', sa.column('id', sa.Integer), sa.column('public_id', sa.String))
rooms = sa.table(
    'evaluation_rooms',
    sa.column('id', sa.Integer),
    sa.column('tender_id', sa.Integer),
    sa.column('review_result', sa.JSON),
    sa.column('result', sa.JSON),
)
sheets = sa.table(
    'evaluation_review_sheets', sa.column('id', sa.Integer), sa.column('room_id', sa.Integer), sa.column('verdicts', sa.JSON)
)
reports = sa.table('evaluation_reports', sa.column('tender_id', sa.Integer))


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _verdicts(rows: Any, name: Callable[[Any], Any]) -> Any:
    return [{**v, 'bid_id': name(v.get('bid_id'))} for v in rows or []]


def _review(doc: Any, name: Callable[[Any], Any]) -> Any:
    if not doc:
        return doc
    return {
        **doc,
        'bids': {str(name(k)): v for k, v in (doc.get('bids') or {}).items()},
        'failed': {str(name(k)): v for k, v in (doc.get('failed') or {}).items()},
        'votes': {seat: _verdicts(vs, name) for seat, vs in (doc.get('votes') or {}).items()},
    }


def _result(doc: Any, name: Callable[[Any], Any]) -> Any:
    if not doc:
        return doc
    return {**doc, 'bids': [{**b, 'bid_id': name(b.get('bid_id'))} for b in doc.get('bids') or []]}


def _rewrite(to_public: bool) -> None:
    bind = op.get_bind()
    pairs = bind.execute(sa.select(bids.c.id, bids.c.public_id)).all()
    if to_public:
        table = {str(i): p for i, p in pairs}
    else:
        table = {p: i for i, p in pairs}

    def name(value: Any) -> Any:
        return table.get(str(value), value)  # already converted, or not a bid of this platform: left as it is

    drawn_up = sa.select(reports.c.tender_id)
    for room_id, review, result in bind.execute(
        sa.select(rooms.c.id, rooms.c.review_result, rooms.c.result).where(rooms.c.tender_id.not_in(drawn_up))
    ).all():
        changes = {}
        if review is not None:
            changes['review_result'] = _review(_load(review), name)
        if result is not None:
            changes['result'] = _result(_load(result), name)
        if changes:
            bind.execute(rooms.update().where(rooms.c.id == room_id).values(**changes))
        for sheet_id, verdicts in bind.execute(
            sa.select(sheets.c.id, sheets.c.verdicts).where(sheets.c.room_id == room_id)
        ).all():
            if verdicts is not None:
                new = _verdicts(_load(verdicts), name)
                bind.execute(sheets.update().where(sheets.c.id == sheet_id).values(verdicts=new))


def upgrade():
    _rewrite(to_public=True)


def downgrade():
    _rewrite(to_public=False)
