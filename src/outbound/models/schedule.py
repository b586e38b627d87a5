"""Schedules: weekday windows and blackout dates in a time zone."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outbound.db.base import Base
from outbound.models._columns import Timestamps


class Schedule(Timestamps, Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    contact_local_time: Mapped[bool] = mapped_column(default=False)
    builtin: Mapped[bool] = mapped_column(default=False)

    windows: Mapped[list[ScheduleWindow]] = relationship(
        order_by="(ScheduleWindow.weekday, ScheduleWindow.start_minute)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    blackouts: Mapped[list[ScheduleBlackout]] = relationship(
        order_by="ScheduleBlackout.day", cascade="all, delete-orphan", passive_deletes=True
    )


class ScheduleWindow(Base):
    """[start_minute, end_minute) of local time on one weekday (0 = Monday); 1440 = midnight."""

    __tablename__ = "schedule_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class ScheduleBlackout(Base):
    __tablename__ = "schedule_blackouts"
    __table_args__ = (UniqueConstraint("schedule_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(255), default="")
