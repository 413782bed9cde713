"""The editing session's undo history (Qt-free, so the model owns it and tests drive it).

Qt's ``QUndoStack`` would be the natural choice in a widget, but the document model lives in
the Qt-free core (``tests/test_architecture.py``); this is the small part of it the model
needs: commands with ``redo``/``undo``, a limit, a clean index and change callbacks. The
editor's Undo/Redo actions call :meth:`UndoHistory.undo` / :meth:`UndoHistory.redo`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .events import Signal


class Command(Protocol):
    """One undoable step. ``text`` is what Edit ▸ Undo shows ("Undo Mask edit")."""

    text: str

    def redo(self) -> None: ...

    def undo(self) -> None: ...


class UndoHistory:
    """A linear history of :class:`Command` s.

    Args:
        limit: most steps kept; the oldest are dropped past it.
    """

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._steps: list[Command] = []
        self._index = 0  # steps[:index] are done
        #: fires (with None) after every push, undo, redo and clear
        self.changed: Signal[None] = Signal()

    def push(self, command: Command, *, applied: bool = False) -> None:
        """Add ``command``; run its ``redo`` unless ``applied`` (already done, e.g. a stroke)."""
        if not applied:
            command.redo()
        del self._steps[self._index :]
        self._steps.append(command)
        if len(self._steps) > self.limit:
            del self._steps[: len(self._steps) - self.limit]
        self._index = len(self._steps)
        self._changed()

    def undo(self) -> bool:
        """Undo the last done step; False when there is none."""
        if self._index == 0:
            return False
        self._index -= 1
        self._steps[self._index].undo()
        self._changed()
        return True

    def redo(self) -> bool:
        """Redo the next undone step; False when there is none."""
        if self._index >= len(self._steps):
            return False
        self._steps[self._index].redo()
        self._index += 1
        self._changed()
        return True

    def clear(self) -> None:
        self._steps.clear()
        self._index = 0
        self._changed()

    def count(self) -> int:
        """Steps held (done and undone)."""
        return len(self._steps)

    @property
    def index(self) -> int:
        return self._index

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._steps)

    @property
    def undo_text(self) -> str:
        return self._steps[self._index - 1].text if self.can_undo else ""

    @property
    def redo_text(self) -> str:
        return self._steps[self._index].text if self.can_redo else ""

    def _changed(self) -> None:
        self.changed.emit(None)


class FunctionCommand:
    """A command from two callables (most of the session's steps)."""

    def __init__(self, text: str, redo: Callable[[], None], undo: Callable[[], None]) -> None:
        self.text = text
        self._redo, self._undo = redo, undo

    def redo(self) -> None:
        self._redo()

    def undo(self) -> None:
        self._undo()
