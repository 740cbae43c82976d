"""Survivor cases and the signals they submitted; what platforms did about matches

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("pin_hash", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("minor", sa.Boolean(), nullable=False),
        sa.Column("representative_id", _ID, nullable=True),
        sa.Column("representative", sa.String(length=128), nullable=True),
        sa.Column("consent", sa.String(length=256), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contact", sa.LargeBinary(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name=op.f("fk_cases_bank_id_banks"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["representative_id"],
            ["organisations.id"],
            name=op.f("fk_cases_representative_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    op.create_table(
        "case_signals",
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("signal_id", _ID, nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_signals_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"], ["signals.id"], name=op.f("fk_case_signals_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "signal_id", name=op.f("pk_case_signals")),
    )  # fmt: skip
    op.create_index(op.f("ix_case_signals_signal_id"), "case_signals", ["signal_id"])
    with op.batch_alter_table("match_records") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_records") as batch:
        batch.drop_column("outcome_at")
        batch.drop_column("outcome")
    op.drop_index(op.f("ix_case_signals_signal_id"), table_name="case_signals")
    op.drop_table("case_signals")
    op.drop_table("cases")
