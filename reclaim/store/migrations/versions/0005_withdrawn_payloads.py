"""Withdrawn signals keep no payload

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Withdrawing now deletes a signal's payload (local features can yield a rough likeness
    # and nothing reads a withdrawn signal's); signals withdrawn before lose theirs here.
    op.execute(
        "DELETE FROM signal_payloads WHERE signal_id IN "
        "(SELECT id FROM signals WHERE status = 'withdrawn')"
    )


def downgrade() -> None:
    pass  # the deleted payloads cannot be brought back, and none are needed
