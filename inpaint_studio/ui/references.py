"""Reference image lists (style and character references) with thumbnails and drops."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from ..core.errors import ImageLoadError
from ..core.pixels.imaging import ReferenceImage, load_reference


class ReferenceList(QListWidget):
    """Reference images with thumbnails; accepts dropped files."""

    changed = Signal()

    def __init__(self, object_name: str, max_items: int | None = None) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.max_items = max_items
        self.refs: list[ReferenceImage] = []
        self.setAcceptDrops(True)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(40, 40))
        self.setFixedHeight(56)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setToolTip("Drop images here, or use Add")

    def set_refs(self, refs) -> None:
        """Show exactly ``refs`` (ReferenceImage items: the document's); emits ``changed``
        only when they differ."""
        refs = list(refs)
        if refs == self.refs:
            return
        self.refs = []
        self.clear()
        for ref in refs:
            self._append(ref)
        self.changed.emit()

    def _append(self, ref: ReferenceImage) -> None:
        self.refs.append(ref)
        img = QImage.fromData(ref.data)
        item = QListWidgetItem(
            QIcon(QPixmap.fromImage(img.scaled(56, 56, Qt.AspectRatioMode.KeepAspectRatio))),
            ref.name[:14],
        )
        item.setToolTip(f"{ref.name} — {len(ref.data) / 1e6:.2f} MB")
        self.addItem(item)

    def add_path(self, path: str) -> str | None:
        """Add a reference; returns an error sentence instead of raising."""
        if self.max_items is not None and len(self.refs) >= self.max_items:
            self.refs.pop()
            self.takeItem(self.count() - 1)
        try:
            ref = load_reference(path)
        except ImageLoadError as exc:
            return str(exc)
        self._append(ref)
        self.changed.emit()
        return None

    def remove_selected(self) -> None:
        for item in self.selectedItems():
            row = self.row(item)
            self.takeItem(row)
            del self.refs[row]
        self.changed.emit()

    def clear_refs(self) -> None:
        self.refs.clear()
        self.clear()
        self.changed.emit()

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.add_path(url.toLocalFile())
        event.acceptProposedAction()
