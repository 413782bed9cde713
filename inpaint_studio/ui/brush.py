"""The brush's controls on the toolbar: size (slider and number, px), hardness and opacity
(a soft mask), remembered between sessions, and the canvas's feather preview."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

#: Brush diameter range, px.
SIZES = (1, 1000)


class BrushControls(QWidget):
    """Size (diameter, px), hardness (%: full strength out to this part of the radius) and
    opacity (%: a stroke's strength). Below 100 % either paints a soft mask: the provider
    still gets a two-level mask, the blend uses the strength."""

    def __init__(self, canvas) -> None:
        super().__init__(objectName="brushControls")
        self.canvas = canvas
        self.size_slider = QSlider(
            Qt.Orientation.Horizontal,
            objectName="brushSlider",
            minimum=SIZES[0],
            maximum=SIZES[1],
            value=40,
        )
        self.size_slider.setFixedWidth(120)
        self.size_spin = QSpinBox(
            objectName="brushSizeSpin", minimum=SIZES[0], maximum=SIZES[1], value=40, suffix=" px"
        )
        self.hardness = QSpinBox(
            objectName="brushHardnessSpin", minimum=0, maximum=100, value=100, suffix=" %"
        )
        self.opacity = QSpinBox(
            objectName="brushOpacitySpin", minimum=1, maximum=100, value=100, suffix=" %"
        )
        for spin in (self.size_spin, self.hardness, self.opacity):
            spin.installEventFilter(self)  # Return gives the canvas back the keyboard
            spin.lineEdit().installEventFilter(self)
        self.size_spin.setFixedWidth(88)
        self.hardness.setFixedWidth(72)
        self.opacity.setFixedWidth(72)
        for w, tip in (
            (self.size_slider, "Brush size ([ and ]: about 10 %, Shift: five times that)"),
            (self.size_spin, "Brush diameter in photo pixels"),
            (self.hardness, "Hardness: below 100 % the brush's edge fades (a soft mask)"),
            (self.opacity, "Opacity: how strongly a stroke replaces the photo (a soft mask)"),
        ):
            w.setToolTip(tip)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        for label, w in (
            (" Size", self.size_slider),
            (None, self.size_spin),
            ("  Hardness", self.hardness),
            ("  Opacity", self.opacity),
        ):
            if label:
                lay.addWidget(QLabel(label))
            lay.addWidget(w)
        lay.addStretch(1)
        self.size_slider.valueChanged.connect(self._size_changed)
        self.size_spin.valueChanged.connect(self._size_changed)
        self.hardness.valueChanged.connect(
            lambda v: setattr(canvas, "brush_hardness", v / 100) or canvas.update()
        )
        self.opacity.valueChanged.connect(
            lambda v: setattr(canvas, "brush_opacity", v / 100) or canvas.update()
        )
        self._size_changed(self.size_slider.value())

    def _size_changed(self, v: int) -> None:
        with QSignalBlocker(self.size_slider), QSignalBlocker(self.size_spin):
            self.size_slider.setValue(v)
            self.size_spin.setValue(v)
        self.canvas.set_brush_radius(v / 2)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        """Return or Enter in a field takes its value and gives the canvas the keyboard: the
        next drag paints, and [ ] size the brush instead of typing into the field."""
        kind = event.type()
        if (
            kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and isinstance(spin := obj if isinstance(obj, QSpinBox) else obj.parent(), QSpinBox)
        ):
            if kind == QEvent.Type.ShortcutOverride:  # the field's Return, not Accept variant
                event.accept()
                return True
            spin.interpretText()
            self.canvas.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        return super().eventFilter(obj, event)

    def step(self, direction: int, large: bool = False) -> None:
        """``[`` / ``]``: about 10 % of the size (Shift: five times that)."""
        from ..core.pixels.tools.brush import next_brush_size

        self.size_spin.setValue(
            next_brush_size(self.size_spin.value(), direction, large=large, limits=SIZES)
        )

    def values(self) -> dict:
        return {
            "size": self.size_spin.value(),
            "hardness": self.hardness.value(),
            "opacity": self.opacity.value(),
        }

    def restore(self, data) -> None:
        """Show ``data`` (from :meth:`values`, read from settings: untrusted)."""
        if not isinstance(data, dict):
            return
        for key, spin in (
            ("size", self.size_spin),
            ("hardness", self.hardness),
            ("opacity", self.opacity),
        ):
            v = data.get(key)
            if isinstance(v, int) and not isinstance(v, bool):
                spin.setValue(v)  # the spin clamps to its range


class FeatherPreview:
    """Shows the blend's feather band on the canvas for a moment whenever a feather control
    changes (Generate's Edge feather, Re-blend's Feather)."""

    SECONDS = 2.5

    def __init__(self, canvas, *spins) -> None:
        self.canvas = canvas
        self.timer = QTimer(
            canvas,
            singleShot=True,
            interval=int(self.SECONDS * 1000),
            timeout=lambda: canvas.set_feather_preview(None),
        )
        for spin in spins:
            spin.valueChanged.connect(self.show)

    def show(self, px: int) -> None:
        self.canvas.set_feather_preview(px)
        self.timer.start()
