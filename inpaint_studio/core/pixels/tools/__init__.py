"""The mask tools, one Qt-free class each, and the table the canvas, the Tools menu and the F1 sheet read."""

from __future__ import annotations

from .base import BrushOutline, MaskTarget, Outline, Tool, ToolResult, ToolSpec
from .brush import BrushTool, EraserTool
from .select import SubjectTool, WandTool
from .shapes import LassoTool, RectTool

#: every tool, in the Tools menu's order: a new tool is its module and one line here
TOOLS: tuple[type[Tool], ...] = (BrushTool, EraserTool, RectTool, LassoTool, WandTool, SubjectTool)


def tool_specs() -> tuple[ToolSpec, ...]:
    """The tool table's rows, in menu order."""
    return tuple(t.spec for t in TOOLS)


def make_tool(name: str) -> Tool:
    """A new instance of the tool called ``name``.

    Raises:
        KeyError: no tool has that name.
    """
    for t in TOOLS:
        if t.spec.name == name:
            return t()
    raise KeyError(name)


__all__ = [
    "TOOLS",
    "BrushOutline",
    "MaskTarget",
    "Outline",
    "Tool",
    "ToolResult",
    "ToolSpec",
    "make_tool",
    "tool_specs",
]
