"""Preferences and the result-journal dialog."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ..core import settings as cfg
from ..core.request import RenderingSpeed
from ..providers import PROVIDER_CLASSES, default_provider, forget_keys, has_key


class PreferencesDialog(QDialog):
    """API keys (OS keyring), base URLs, defaults, output folder and mask colour."""

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("preferencesDialog")
        s = cfg.load_settings()
        form = QFormLayout(self)
        self.keys: dict[str, QLineEdit] = {}
        self.urls: dict[str, QLineEdit] = {}
        for name, cls in PROVIDER_CLASSES.items():
            if not cls.capabilities.needs_key:
                continue
            key = QLineEdit(echoMode=QLineEdit.EchoMode.Password, objectName=f"key_{name}")
            key.setPlaceholderText("stored in the system keyring" if has_key(name) else "not set")
            self.keys[name] = key
            form.addRow(f"{cls.label} API key", key)
            url = QLineEdit(s.get("base_urls", {}).get(name, ""), objectName=f"url_{name}")
            url.setPlaceholderText(cls.default_base_url)
            self.urls[name] = url
            form.addRow(f"{cls.label} base URL", url)
        self.out_dir = QLineEdit(s.get("output_folder", ""), placeholderText="beside the photo")
        form.addRow("Output folder", self.out_dir)
        from PySide6.QtWidgets import QComboBox

        self.default_provider = QComboBox(objectName="prefDefaultProvider")
        for name, cls in PROVIDER_CLASSES.items():
            self.default_provider.addItem(cls.label, name)
        self.default_provider.setCurrentIndex(max(0, self.default_provider.findData(s.get("default_provider", default_provider()))))
        form.addRow("Default provider", self.default_provider)
        self.default_speed = QComboBox(objectName="prefDefaultSpeed")
        self.default_speed.addItems([sp.value for sp in RenderingSpeed])
        self.default_speed.setCurrentText(s.get("default_speed", RenderingSpeed.DEFAULT.value))
        form.addRow("Default speed", self.default_speed)
        self.default_images = QSpinBox(minimum=1, maximum=8, value=int(s.get("default_num_images", 2)), objectName="prefDefaultImages")
        form.addRow("Default number of images", self.default_images)
        self.mask_colour = QColor(s.get("mask_colour", "#82ff285a"))
        self.mask_colour_button = QPushButton("Choose…", objectName="prefMaskColour")
        self.mask_colour_button.clicked.connect(self._pick_colour)
        form.addRow("Mask colour", self.mask_colour_button)
        self.message = QLabel(wordWrap=True)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _pick_colour(self) -> None:
        c = QColorDialog.getColor(self.mask_colour, self, "Mask colour", QColorDialog.ColorDialogOption.ShowAlphaChannel)
        if c.isValid():
            self.mask_colour = c

    def save(self) -> None:
        s = cfg.load_settings()
        urls = s.setdefault("base_urls", {})
        for name, edit in self.urls.items():
            if edit.text().strip():
                urls[name] = edit.text().strip()
            else:
                urls.pop(name, None)
        s["output_folder"] = self.out_dir.text().strip()
        s["default_provider"] = self.default_provider.currentData()
        s["default_speed"] = self.default_speed.currentText()
        s["default_num_images"] = self.default_images.value()
        s["mask_colour"] = self.mask_colour.name(QColor.NameFormat.HexArgb)
        for name, edit in self.keys.items():
            if edit.text().strip():
                try:
                    cfg.set_api_key(name, edit.text().strip())
                except RuntimeError as exc:
                    self.message.setText(str(exc))
                    return
        cfg.save_settings(s)
        forget_keys()
        self.accept()


def show_journal(parent, journal) -> QDialog:
    """File ▸ Result journal: its size and folder, and clearing entries older than N days."""
    dlg = QDialog(parent, objectName="journalDialog")
    dlg.setWindowTitle("Result journal")
    entries = journal.entries()
    size = sum(e.bytes for e in entries)
    info = QLabel(f"{len(entries)} results, {size / 1e6:.1f} MB in {journal.root}", wordWrap=True)
    days = QSpinBox(minimum=1, maximum=3650, value=30, suffix=" days")
    clear = QPushButton("Clear older than")
    opener = QPushButton("Open folder")
    lines = QLabel("\n".join(f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(e.time))}  {e.image.name}" for e in entries[:20]))
    lines.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def do_clear() -> None:
        n = journal.clear_older_than(days.value())
        rest = journal.entries()
        info.setText(f"Deleted {n}. {len(rest)} results, {sum(e.bytes for e in rest) / 1e6:.1f} MB in {journal.root}")

    def do_open() -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(journal.root)))

    clear.clicked.connect(do_clear)
    opener.clicked.connect(do_open)
    row = QHBoxLayout()
    row.addWidget(clear)
    row.addWidget(days)
    row.addStretch(1)
    row.addWidget(opener)
    lay = QVBoxLayout(dlg)
    lay.addWidget(info)
    lay.addWidget(lines)
    lay.addLayout(row)
    dlg.show()
    return dlg


SHORTCUTS = (
    ("Tools", (("B", "Brush"), ("E", "Eraser"), ("R", "Rectangle"), ("L", "Lasso (drag) / polygon (click, Enter)"),
               ("W", "Magic wand"), ("Alt + any tool", "Subtract from the mask"), ("[  /  ]", "Smaller / larger brush"),
               ("Shift + [  /  ]", "Brush size ×10"), ("M", "Show or hide the mask overlay"))),
    ("Mask", (("Ctrl+I", "Invert"), ("Delete", "Clear"), ("Ctrl+Z", "Undo"), ("Ctrl+Shift+Z, Ctrl+Y", "Redo"))),
    ("Generate and variants", (("Ctrl+Enter", "Generate (the canvas then has the keyboard)"),
                               ("1 – 8", "Show variant n of the latest job"), ("Tab (hold)", "See the original"),
                               ("Enter, double-click", "Accept the selected, visible variant"),
                               ("Escape", "Leave a text field"))),
    ("View", (("Wheel, Ctrl+= / Ctrl+-", "Zoom under the cursor"), ("Ctrl+0", "Fit"), ("Ctrl+1", "100 %"),
              ("Space + drag, middle button", "Pan"))),
    ("Files", (("Ctrl+O", "Open photo or project"), ("Ctrl+S", "Save project"), ("Ctrl+Shift+S", "Save as"),
               ("Ctrl+V", "Paste an image"), ("Ctrl+E", "Export composite"), ("F1", "This sheet"))),
)


def shortcut_sheet(parent) -> QDialog:
    """Help ▸ Keyboard shortcuts (F1): every tool and key, grouped."""
    dlg = QDialog(parent, objectName="shortcutSheet")
    dlg.setWindowTitle("Keyboard shortcuts")
    rows = "".join(
        f"<tr><td colspan=2><b>{group}</b></td></tr>"
        + "".join(f"<tr><td style='padding-right:18px'><tt>{k}</tt></td><td>{what}</td></tr>" for k, what in keys)
        for group, keys in SHORTCUTS)
    label = QLabel(f"<table cellspacing=3>{rows}</table>", textFormat=Qt.TextFormat.RichText)
    lay = QVBoxLayout(dlg)
    lay.addWidget(label)
    close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    close.rejected.connect(dlg.close)
    lay.addWidget(close)
    return dlg
