"""The Layers dock and the canvas's layers: views of the session's variant layers.

:class:`LayersView` renders :attr:`EditSession.layers` (newest on top) into the list and the
canvas, and turns clicks, keys and buttons into the session's commands. It holds no state of
its own beyond caches of what it drew (thumbnails, ``QImage`` wrappers).
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.document.session import EditSession
from ..core.events import (
    DocumentReplaced,
    Event,
    LayerChanged,
    LayersChanged,
    SelectionChanged,
)
from .canvas import Canvas, LayerView
from .pyramid import layer_rgba, variant_thumbnail

KEY = Qt.ItemDataRole.UserRole
#: Thumbnail size in the variant list, px (logical; drawn at the screen's device pixels).
THUMB = 72


class LayersPanel(QWidget):
    """Variant layers: thumbnail, name, visibility, opacity, discard, accept, render final."""

    accept_requested = Signal()
    discard_requested = Signal()
    discard_others_requested = Signal()
    quality_requested = Signal()
    opacity_changed = Signal(float)
    reblend_requested = Signal(int, bool, bool)

    def __init__(self) -> None:
        super().__init__()
        self.list = QListWidget(objectName="layersList")
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setMinimumHeight(32)  # a small window gives room to Generate first
        self.list.setSpacing(2)
        self.list.setWordWrap(True)
        self.opacity = QSlider(
            Qt.Orientation.Horizontal, objectName="opacitySlider", minimum=0, maximum=100, value=100
        )
        self.accept_button = QPushButton(
            "Accept",
            objectName="acceptButton",
            toolTip="Bake the selected variant into the image (Enter)",
        )
        self.discard_button = QPushButton(
            "Discard", objectName="discardButton", toolTip="Remove the selected variant (undoable)"
        )
        self.discard_others_button = QPushButton(
            "Discard others",
            objectName="discardOthersButton",
            toolTip="Keep the selected variant and remove the rest (one undoable step)",
        )
        self.quality_button = QPushButton("Render final", objectName="qualityButton")
        self.original_button = QPushButton(
            "Original",
            objectName="originalButton",
            checkable=True,
            toolTip="Show the original (hold Tab)",
        )
        self.reblend_feather = QSpinBox(
            objectName="reblendFeather", minimum=0, maximum=256, value=4, suffix=" px"
        )
        self.reblend_colour = QCheckBox("Colour match", objectName="reblendColour", checked=True)
        self.reblend_grain = QCheckBox(
            "Grain",
            objectName="reblendGrain",
            checked=True,
            toolTip="Add the photo's grain when the result was upscaled to fit",
        )
        self.reblend_button = QPushButton(
            "Re-blend",
            objectName="reblendButton",
            toolTip="Recompute the selected variant's edge and colour from its stored result",
        )
        lay = QVBoxLayout(self)
        lay.addWidget(self.list, 1)
        op = QHBoxLayout()
        op.addWidget(QLabel("Opacity"))
        op.addWidget(self.opacity, 1)
        lay.addLayout(op)
        blend = QHBoxLayout()
        blend.addWidget(QLabel("Feather"))
        blend.addWidget(self.reblend_feather)
        blend.addWidget(self.reblend_colour)
        blend.addWidget(self.reblend_grain)
        blend.addWidget(self.reblend_button)
        lay.addLayout(blend)
        row = QHBoxLayout()
        row.addWidget(self.accept_button)
        row.addWidget(self.discard_button)
        row.addWidget(self.discard_others_button)
        lay.addLayout(row)
        row2 = QHBoxLayout()
        row2.addWidget(self.quality_button, 2)
        row2.addWidget(self.original_button, 1)
        lay.addLayout(row2)
        self.accept_button.clicked.connect(self.accept_requested.emit)
        self.discard_button.clicked.connect(self.discard_requested.emit)
        self.discard_others_button.clicked.connect(self.discard_others_requested.emit)
        self.quality_button.clicked.connect(self.quality_requested.emit)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        self.reblend_button.clicked.connect(
            lambda: self.reblend_requested.emit(
                self.reblend_feather.value(),
                self.reblend_colour.isChecked(),
                self.reblend_grain.isChecked(),
            )
        )
        self.list.itemDoubleClicked.connect(lambda _: self.accept_requested.emit())


class LayersView:
    """Binds a :class:`LayersPanel` and a :class:`Canvas` to a session's layers."""

    def __init__(self, session: EditSession, panel: LayersPanel, canvas: Canvas, spawn) -> None:
        self.session, self.panel, self.canvas, self.spawn = session, panel, canvas, spawn
        self.items: dict[str, QListWidgetItem] = {}
        self._views: dict[str, LayerView] = {}
        self._thumbs: dict[str, QIcon] = {}
        self._updating = False
        self.on_thumbnails: list = []  # called when new thumbnails are ready (History shows them too)
        session.subscribe(self._on_change)
        panel.list.currentItemChanged.connect(self._current_changed)
        panel.list.itemChanged.connect(self._item_changed)
        panel.opacity_changed.connect(
            lambda v: (
                self.session.doc.selected and self.session.set_opacity(self.session.doc.selected, v)
            )
        )
        self._sync()

    # -- model → view ---------------------------------------------------------------------------

    def _on_change(self, event: Event) -> None:
        match event:
            case DocumentReplaced():
                self._views.clear()
                self._thumbs.clear()
                self._sync()
            case LayersChanged():
                self._sync()
            case LayerChanged(key=key, pixels=True):
                self._views.pop(key, None)
                self._thumbs.pop(key, None)
                self._sync()
            case LayerChanged(key=key):
                self._refresh(key)
            case SelectionChanged(key=key):
                self._select(key)

    def _sync(self) -> None:
        """Rebuild the list and the canvas's layers from the session (cheap: buffers are shared)."""
        s = self.session
        self._updating = True
        lst = self.panel.list
        lst.clear()
        self.items = {}
        views, missing = [], []
        for lay in reversed(s.doc.layers):  # newest on top
            item = QListWidgetItem()
            item.setData(KEY, lay.key)
            if not lay.drawable:
                item.setText(f"Variant {lay.variant.index + 1} withheld by the safety filter")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            else:
                item.setText(self.caption(lay))
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsUserCheckable
                )
                item.setCheckState(
                    Qt.CheckState.Checked if lay.visible else Qt.CheckState.Unchecked
                )
                if lay.key in self._thumbs:
                    item.setIcon(self._thumbs[lay.key])
                else:
                    missing.append(lay)
            lst.addItem(item)
            self.items[lay.key] = item
        for lay in s.doc.layers:
            if not lay.drawable:
                continue
            view = self._views.get(lay.key)
            layer = lay.variant.layer
            if view is None or view.rgba is not layer_rgba(layer):
                view = LayerView(lay.key, layer.x0, layer.y0, layer_rgba(layer))
                self._views[lay.key] = view
            view.visible, view.opacity = lay.visible, lay.opacity
            views.append(view)
        self._views = {v.key: v for v in views}
        self.canvas.layers = views
        self._updating = False
        self._select(s.doc.selected)
        self.canvas.update()
        if missing:
            self.spawn(self._make_thumbnails(missing))

    def caption(self, lay) -> str:
        """``"2 · prompt · seed · speed"`` (the number is the key that shows it, for the newest
        job's variants) and a second line with the draft/final badge, visibility and the
        provider and model that made it."""
        latest = list(self.session.doc.latest)
        number = f"{latest.index(lay.key) + 1} · " if lay.key in latest[:8] else ""
        badge = "FINAL · " if lay.final_of else "DRAFT · " if lay.is_draft else ""
        shown = "shown" if lay.visible else "hidden"
        return f"{number}{lay.name}\n{badge}{shown} · {lay.job.provider.label}"

    async def _make_thumbnails(self, layers) -> None:
        photo = self.session.doc.photo
        if photo is None:
            return
        dpr = self.panel.list.devicePixelRatioF()
        size = round(THUMB * dpr)
        thumbs = await asyncio.to_thread(
            lambda: [
                (lay.key, variant_thumbnail(photo.rgb, lay.variant.layer, size)) for lay in layers
            ]
        )
        for key, arr in thumbs:
            pix = QPixmap.fromImage(
                QImage(
                    arr.data,
                    arr.shape[1],
                    arr.shape[0],
                    arr.strides[0],
                    QImage.Format.Format_RGB888,
                ).copy()
            )
            pix.setDevicePixelRatio(dpr)
            icon = QIcon(pix)
            self._thumbs[key] = icon
            if key in self.items:
                self.items[key].setIcon(icon)
        for fn in self.on_thumbnails:
            fn()

    def icon(self, key: str) -> QIcon | None:
        return self._thumbs.get(key)

    def _refresh(self, key: str | None) -> None:
        lay = self.session.doc.layer(key)
        view, item = self._views.get(key), self.items.get(key)
        if lay is None or view is None:
            return
        view.visible, view.opacity = lay.visible, lay.opacity
        if item is not None:
            self._updating = True
            item.setCheckState(Qt.CheckState.Checked if lay.visible else Qt.CheckState.Unchecked)
            item.setText(self.caption(lay))
            self._updating = False
        if key == self.session.doc.selected:
            self._show_selected_controls()
        self.canvas.update()

    def _select(self, key: str | None) -> None:
        self._updating = True
        item = self.items.get(key)
        if item is None:
            self.panel.list.setCurrentRow(-1)
            self.panel.list.clearSelection()
        else:
            self.panel.list.setCurrentItem(item)
        self._updating = False
        self._show_selected_controls()

    def _show_selected_controls(self) -> None:
        lay = self.session.doc.layer(self.session.doc.selected)
        p = self.panel
        for b in (p.accept_button, p.discard_button, p.discard_others_button, p.reblend_button):
            b.setEnabled(lay is not None)
        p.accept_button.setEnabled(lay is not None and lay.visible and lay.drawable)
        p.accept_button.setToolTip(
            "Bake the selected variant into the image (Enter)"
            if lay is None or lay.visible
            else "Show the variant (tick it) to accept it"
        )
        p.quality_button.setEnabled(lay is not None and lay.is_draft)
        if lay is not None:
            p.opacity.blockSignals(True)
            p.opacity.setValue(round(lay.opacity * 100))
            p.opacity.blockSignals(False)
            p.reblend_feather.setValue(lay.feather)
            p.reblend_colour.setChecked(lay.colour_match)
            p.reblend_grain.setChecked(lay.grain)

    # -- view → model ---------------------------------------------------------------------------

    def _current_changed(self, item: QListWidgetItem | None, _previous=None) -> None:
        """A click on a row (or an arrow key) shows that variant alone in its region."""
        if self._updating:
            return
        if item is None:
            self.session.select(None)
        else:
            self.session.show_layer(item.data(KEY))

    def _item_changed(self, item: QListWidgetItem) -> None:
        if not self._updating:
            self.session.set_visible(item.data(KEY), item.checkState() == Qt.CheckState.Checked)
