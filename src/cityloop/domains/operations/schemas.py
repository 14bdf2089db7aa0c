"""Request bodies of the operations routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TaskIn(BaseModel):
    """A hotspot to turn into a proactive task (未诉先办)."""

    model_config = ConfigDict(extra="forbid")
    month: str = Field(max_length=7, description="YYYY-MM")
    level: Literal["street", "grid"]
    area: str = Field(min_length=1, max_length=40, description="the street's or grid's code")
    category: str = Field(min_length=1, max_length=20)
