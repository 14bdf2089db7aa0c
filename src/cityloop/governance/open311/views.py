from fastapi import FastAPI


def install_open311(app: FastAPI) -> None:
    """Replaced by the Open311 adapter (work in progress in this commit series)."""
