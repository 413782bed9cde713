"""The Select subject tool's controller: a rectangle selects the object inside it (added to
the mask, or subtracted with Alt); Shift-strokes then refine that selection (include, or
exclude with Alt), each an undoable step that replaces the previous result
(:func:`~inpaint_studio.core.pixels.select.select_subject`, run off the GUI thread)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import InpaintError
from ..core.pixels.maskedit import Rect, clip_rect, stamp_segment, union


@dataclass(eq=False)
class SubjectState:
    """The selection being refined: its rectangle, add or subtract, the mask it started
    from (read-only), the refining strokes, and the mask version it produced."""

    box: Rect
    add: bool
    base: np.ndarray
    include: np.ndarray | None = None
    exclude: np.ndarray | None = None
    marks: Rect | None = None
    version: int = -1


class SubjectTool:
    """Binds the canvas's subject signals to the session's undoable mask edits."""

    def __init__(self, window, session, canvas) -> None:
        self.window, self.session, self.canvas = window, session, canvas
        self.state: SubjectState | None = None
        canvas.subject_requested.connect(self.select)
        canvas.subject_marked.connect(self.refine)

    def select(self, box: Rect, add: bool):
        s = self.session
        if s.doc.photo is None:
            return None
        base, _ = s.doc.mask_snapshot()
        self.state = SubjectState(box, add, base)
        return self._run("Select subject")

    def refine(self, points: list, include: bool):
        st, s = self.state, self.session
        if st is None or s.doc.mask_version != st.version:
            self.state = None
            self.window.report_error(
                "Drag a rectangle around the subject first; Shift-strokes then refine that selection."
            )
            return None
        h, w = s.doc.mask.shape
        attr = "include" if include else "exclude"
        if getattr(st, attr) is None:
            setattr(st, attr, np.zeros((h, w), bool))
        strokes = getattr(st, attr)
        r = self.canvas.brush_radius
        for p0, p1 in zip(points, points[1:] or points, strict=False):
            rect = stamp_segment(strokes, p0, p1, r, True)
            st.marks = union(st.marks, rect)
        return self._run("Refine selection")

    def _run(self, text: str):
        st, s = self.state, self.session
        rgb = s.doc.photo.rgb
        rect = clip_rect(union(st.box, st.marks), s.doc.mask.shape)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect

        def fn(m: np.ndarray) -> Rect:
            from ..core.pixels.select import select_subject

            sel = select_subject(rgb, st.box, include=st.include, exclude=st.exclude)[y0:y1, x0:x1]
            base = st.base[y0:y1, x0:x1]
            m[y0:y1, x0:x1] = (base | sel) if st.add else (base & ~sel)
            return rect

        async def run() -> None:
            try:
                await s.edit_mask(fn, text)
            except InpaintError as exc:
                self.window.report_error(str(exc))
                return
            if self.state is st:
                st.version = s.doc.mask_version

        return self.window.spawn(run())
