"""Image ▸ Expand canvas: presets (aspect ratios, +25 % each side), a number per side, and
the frame on the canvas with a drag handle on each side; Expand makes the new margin the mask
(:meth:`~inpaint_studio.core.document.session.EditSession.expand`)."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
)

from ..core.document.expand import PRESETS, pad_by_fraction, pad_for_aspect

CUSTOM = "Custom"


class ExpandDialog(QDialog):
    """Non-modal, so the canvas's handles can be dragged while it is open. Emits
    ``expand_requested(pad)`` with ``(left, top, right, bottom)`` pixels."""

    expand_requested = Signal(object)

    def __init__(self, parent, canvas) -> None:
        super().__init__(parent, objectName="expandDialog")
        self.setWindowTitle("Expand canvas")
        self.canvas = canvas
        self.size_ = canvas.image_size
        self.preset = QComboBox(objectName="expandPreset")
        self.preset.addItems([CUSTOM, *PRESETS])
        self.spins = {}
        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        for side in ("left", "top", "right", "bottom"):
            spin = QSpinBox(objectName=f"expand_{side}", minimum=0, maximum=20_000, suffix=" px")
            spin.valueChanged.connect(self._spun)
            self.spins[side] = spin
            form.addRow(side.title(), spin)
        self.result = QLabel(objectName="expandSize")
        form.addRow("New size", self.result)
        hint = QLabel(
            "Drag the handles on the canvas's edges, or pick a preset. The new margin becomes the "
            "mask: describe what to add and Generate.",
            wordWrap=True,
        )
        form.addRow(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.expand_button = buttons.addButton("Expand", QDialogButtonBox.ButtonRole.AcceptRole)
        self.expand_button.setObjectName("expandButton")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.preset.currentTextChanged.connect(self._preset)
        canvas.expand_frame_changed.connect(self._dragged)
        self.finished.connect(lambda _: self._close_frame())
        self.preset.setCurrentText("+25 % each side")
        self._preset(self.preset.currentText())
        canvas.set_expand_frame(self.pad(), fit=True)

    def pad(self) -> tuple[int, int, int, int]:
        return tuple(self.spins[s].value() for s in ("left", "top", "right", "bottom"))

    def set_pad(self, pad) -> None:
        for side, v in zip(("left", "top", "right", "bottom"), pad, strict=True):
            with QSignalBlocker(self.spins[side]):
                self.spins[side].setValue(int(v))
        self._show()

    def _preset(self, name: str) -> None:
        value = PRESETS.get(name)
        if value is None:
            return
        self.set_pad(
            pad_by_fraction(self.size_, value)
            if isinstance(value, float)
            else pad_for_aspect(self.size_, value)
        )
        self.canvas.set_expand_frame(self.pad(), fit=True)

    def _spun(self) -> None:
        with QSignalBlocker(self.preset):
            self.preset.setCurrentText(CUSTOM)
        self._show()
        self.canvas.set_expand_frame(self.pad())

    def _dragged(self, pad) -> None:
        with QSignalBlocker(self.preset):
            self.preset.setCurrentText(CUSTOM)
        self.set_pad(pad)

    def _show(self) -> None:
        left, top, right, bottom = self.pad()
        w, h = self.size_
        self.result.setText(f"{w + left + right} × {h + top + bottom} px")
        self.expand_button.setEnabled(any(self.pad()))

    def _accept(self) -> None:
        pad = self.pad()
        self.accept()
        self.expand_requested.emit(pad)

    def _close_frame(self) -> None:
        try:
            self.canvas.expand_frame_changed.disconnect(self._dragged)
        except (RuntimeError, TypeError):
            pass
        self.canvas.set_expand_frame(None)
        self.canvas.fit()
