"""Departments, user accounts and API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class Department(Base):
    """A party of DOMAIN.md: a municipal department, the government or the enterprise side."""

    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(200))


class User(Base):
    """A person who signs in: staff, supervisor, owner, admin or enterprise user."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(50))  # the real name records show (王明), if known
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    department_code: Mapped[str | None] = mapped_column(sa.ForeignKey("departments.code"))
    enterprise_code: Mapped[str | None] = mapped_column(sa.String(18))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
