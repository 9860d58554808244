"""Where a flow file's values came from, and the errors that point there.

Shared by the loader, which records the lines, and the linter, which reports against
them; kept apart from both so neither has to import the other to name a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FlowError:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class Source:
    """A flow file's data, with the line of each path (1-based)."""

    name: str
    text: str
    data: Any = None
    lines: dict[str, int] = field(default_factory=dict)
    seen_nodes: set[int] = field(default_factory=set, repr=False)

    def line_of(self, path: str) -> int | None:
        # An error inside a missing field points at its nearest existing parent.
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("", 1)
