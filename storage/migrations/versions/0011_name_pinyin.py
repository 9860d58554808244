"""respondents.name_pinyin: the name's pinyin, so staff find 张三丰 by "zsf" or "zhangsan".

Filled here for the names already stored, in batches (storage/name_keys.py says how).

Revision ID: 0011_name_pinyin
Revises: 0010_report_indexes
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.name_keys import pinyin_key

revision: str = "0011_name_pinyin"
down_revision: str | None = "0010_report_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    op.add_column("respondents", sa.Column("name_pinyin", sa.Text(), nullable=True))
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, name FROM respondents WHERE name IS NOT NULL AND id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            break
        keys = [{"id": row.id, "key": pinyin_key(row.name)} for row in rows]
        conn.execute(sa.text("UPDATE respondents SET name_pinyin = :key WHERE id = :id"), keys)
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("respondents") as batch:
        batch.drop_column("name_pinyin")
