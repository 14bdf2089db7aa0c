"""Every table of every package, so the metadata (and Alembic) sees them all."""

from cityloop.base.db import Base
from cityloop.modules import load_modules

MODELS: tuple[type, ...] = tuple(model for module in load_modules() for model in module.models)

__all__ = ["MODELS", "Base"]
