"""The main window's mask commands: tools and brush size, invert, clear, grow, the magic wand, zoom to the mask, Expand canvas, the split view and the overlay (a mixin of :class:`~inpaint_studio.ui.main_window.MainWindow`)."""

from __future__ import annotations

import asyncio

import numpy as np
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QInputDialog,
)

from ..core.pixels.imaging import mask_bbox
from ..core.pixels.maskedit import grow, magic_wand
from .pyramid import build_pyramid


class MaskActions:
    """Mask commands of the main window; each edit goes to the session as one undoable step."""

    # -- mask --------------------------------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)

    def brush_step(self, direction: int, large: bool = False) -> None:
        """``[`` / ``]`` (Shift: ``large``): the brush ~10 % smaller or larger."""
        self.brush.step(direction, large)

    def tolerance_dialog(self) -> None:
        v, ok = QInputDialog.getInt(
            self, "Magic wand", "Tolerance (0–255)", self.wand_tolerance, 0, 255
        )
        if ok:
            self.wand_tolerance = v

    def invert_mask(self) -> asyncio.Task:
        def inv(m: np.ndarray):
            np.logical_not(m, out=m)
            return (0, 0, m.shape[1], m.shape[0])

        return self.spawn(self.session.edit_mask(inv, "Invert mask"))

    def clear_mask(self) -> asyncio.Task:
        def clear(m: np.ndarray):
            box = mask_bbox(m)
            if box is not None:
                m[box[1] : box[3], box[0] : box[2]] = False
            return box

        return self.spawn(self.session.edit_mask(clear, "Clear mask"))

    def grow_mask(self, pixels: int) -> asyncio.Task:
        return self.spawn(
            self.session.edit_mask(
                lambda m: grow(m, pixels), "Grow mask" if pixels > 0 else "Shrink mask"
            )
        )

    def grow_dialog(self, sign: int) -> None:
        n, ok = QInputDialog.getInt(
            self, "Grow mask" if sign > 0 else "Shrink mask", "Pixels", 8, 1, 500
        )
        if ok:
            self.grow_mask(sign * n)

    def _wand(self, x: int, y: int, add: bool) -> None:
        rgb, tol = self.session.doc.photo.rgb, self.wand_tolerance
        self.spawn(
            self.session.edit_mask(lambda m: magic_wand(rgb, m, (x, y), tol, add), "Magic wand")
        )

    def zoom_to_mask(self) -> asyncio.Task | None:
        """View ▸ Zoom to mask: fit the mask's bounding box (found off the GUI thread)."""
        mask = self.session.doc.mask
        if mask is None:
            return None

        async def run() -> None:
            box = await asyncio.to_thread(mask_bbox, mask)
            if box is None:
                self.report_error("The mask is empty: paint the area to change first.")
            elif self.session.doc.mask is mask:
                self.canvas.zoom_to_rect(box)

        return self.spawn(run())

    def expand_dialog(self):
        """Image ▸ Expand canvas…: the frame and its handles on the canvas, presets, sizes."""
        from .expand_dialog import ExpandDialog

        if self.session.doc.photo is None:
            return None
        if self.session.doc.layers:  # they belong to the current size: settle them first
            return self.spawn(self._settle_variants_then_expand())
        dlg = ExpandDialog(self, self.canvas)
        dlg.expand_requested.connect(self.expand_canvas)
        dlg.finished.connect(dlg.deleteLater)
        dlg.show()
        dock = self.docks["generateDock"]  # over the docks, so the canvas's handles stay in view
        corner = dock.mapToGlobal(dock.rect().topLeft())
        dlg.move(corner.x() + max(0, dock.width() - dlg.width()) // 2, corner.y() + 30)
        return dlg

    async def _settle_variants_then_expand(self) -> None:
        """One question: accept the variant shown (and drop the rest) or discard them all —
        each one undoable step — then the Expand dialog; Cancel leaves everything as it was."""
        from PySide6.QtWidgets import QMessageBox

        doc = self.session.doc
        shown = [lay.key for lay in doc.layers if lay.visible and lay.drawable]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Expand canvas",
            "The variants belong to the canvas's current size.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("expandVariantsDialog")
        box.setInformativeText(
            "Accept the one shown and discard the others, or discard them all, then expand. "
            "Either can be undone."
        )
        accept = box.addButton("Accept shown", QMessageBox.ButtonRole.AcceptRole)
        accept.setObjectName("acceptShownButton")
        accept.setEnabled(len(shown) == 1)
        if len(shown) != 1:
            accept.setToolTip("Show exactly one variant to accept it.")
        discard = box.addButton("Discard all", QMessageBox.ButtonRole.DestructiveRole)
        discard.setObjectName("discardAllButton")
        box.setDefaultButton(accept if len(shown) == 1 else discard)
        done = asyncio.get_running_loop().create_future()
        box.finished.connect(lambda _: done.done() or done.set_result(box.clickedButton()))
        box.open()
        try:
            clicked = await done
        finally:
            box.deleteLater()
        if clicked is accept and len(shown) == 1:
            if not await self.session.accept(shown[0]):
                return
        elif clicked is not discard:
            return
        if doc.layers:
            self.session.discard_all()
        self.expand_dialog()

    def expand_canvas(self, pad) -> asyncio.Task:
        """Expand by ``pad`` (left, top, right, bottom px); the margin becomes the mask."""
        from ..core.errors import InpaintError

        def prepare(photo, mask) -> None:  # the new canvas's pyramid, built in the worker thread
            self.files.pending_pyramid = (photo.rgb, build_pyramid(photo.rgb, mask))

        async def run() -> None:
            try:
                if await self.session.expand(tuple(pad), prepare):
                    w, h = self.session.doc.photo.size
                    self.statusBar().showMessage(
                        f"Canvas expanded to {w} × {h}: describe what to add and Generate.", 8000
                    )
            except InpaintError as exc:
                self.report_error(str(exc))

        self.statusBar().showMessage("Expanding the canvas…")
        return self.spawn(run())

    def toggle_split(self, on: bool) -> None:
        self.canvas.set_split(on)

    def toggle_overlay(self) -> None:
        self.canvas.overlay_visible = self.overlay_action.isChecked()
        self.canvas.update()

    def pick_mask_colour(self) -> None:
        c = QColorDialog.getColor(
            self.canvas.overlay_color,
            self,
            "Mask colour",
            QColorDialog.ColorDialogOption.ShowAlphaChannel,
        )
        if c.isValid():
            self.canvas.set_overlay_color(c)
            self.settings["mask_colour"] = c.name(QColor.NameFormat.HexArgb)
            self.save_settings()
