"""What goes wrong in a city folder, said so that the city's staff can find and fix it."""

from __future__ import annotations

from pathlib import Path


class CityDataError(ValueError):
    """A city folder that cannot be loaded. Each problem names its file and entry."""

    def __init__(self, folder: Path, problems: list[str]) -> None:
        self.folder = folder
        self.problems = list(problems)
        count = f"{len(self.problems)} problem" + ("s" if len(self.problems) != 1 else "")
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"the city in {folder} cannot be loaded ({count}):\n{lines}")


class Problems:
    """Collects every problem in a folder, so one run shows them all rather than the first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.found: list[str] = []

    def add(self, file: str, where: str, what: str) -> None:
        self.found.append(f"{file}: {where}: {what}" if where else f"{file}: {what}")

    def check(self) -> None:
        if self.found:
            raise CityDataError(self.folder, self.found)
