"""Preferences and the result-journal dialog."""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core import settings as cfg
from ..core.pipeline.request import RenderingSpeed
from ..core.pixels.tools import tool_specs
from ..providers import PROVIDER_CLASSES, create_provider, default_provider, forget_keys
from ..providers.base import find_key, key_source


class ProviderKeyRow:
    """One account's key and base URL in Preferences: the key field, where the key in effect
    comes from, Test and Clear; the base URL field and the URL in effect with its source.
    Providers sharing an account (Ideogram 3.0 and 2.0) share one row."""

    def __init__(
        self,
        dialog: PreferencesDialog,
        name: str,
        cls,
        label: str,
        box_layout: QVBoxLayout,
        settings: dict,
    ) -> None:
        self.dialog, self.name, self.cls, self.label = dialog, name, cls, label
        group = QGroupBox(label, objectName=f"account_{name}")
        form = QFormLayout(group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        box_layout.addWidget(group)
        self.key = QLineEdit(echoMode=QLineEdit.EchoMode.Password, objectName=f"key_{name}")
        self.source = QLabel(objectName=f"keySource_{name}", wordWrap=True)
        self.test = QPushButton(
            "Test", objectName=f"testKey_{name}", toolTip="Check the key with one free request"
        )
        self.clear = QPushButton(
            "Clear",
            objectName=f"clearKey_{name}",
            toolTip="Remove the key stored in the system keyring",
        )
        self.result = QLabel(objectName=f"testResult_{name}", wordWrap=True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setVisible(False)  # shown with the first Test or Clear
        row = QHBoxLayout()
        row.addWidget(self.key, 1)
        row.addWidget(self.test)
        row.addWidget(self.clear)
        form.addRow("API key", row)
        form.addRow("", self.source)
        form.addRow("", self.result)
        self.url = QLineEdit(settings.get("base_urls", {}).get(name, ""), objectName=f"url_{name}")
        self.url.setPlaceholderText(cls.default_base_url)
        self.url_source = QLabel(objectName=f"urlSource_{name}", wordWrap=True)
        form.addRow("Base URL", self.url)
        form.addRow("", self.url_source)
        self.extra_form = form
        self.test.clicked.connect(self.start_test)
        self.clear.clicked.connect(self.clear_key)
        self.url.textChanged.connect(lambda _: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        kind, where = key_source(self.cls)
        key = find_key(self.cls)
        shown = f" ({cfg.mask_key(key)})" if key else ""
        self.source.setText(
            "No key is set." if kind == "none" else f"Key in effect: from {where}{shown}."
        )
        self.key.setPlaceholderText(
            {
                "environment": "set in the environment (a key typed here goes to the keyring)",
                "keyring": "stored in the system keyring",
                "none": "not set",
            }[kind]
        )
        self.clear.setEnabled(cfg.stored_key(self.cls.description.account) is not None)
        url, url_from = cfg.base_url_source(
            self.name,
            self.cls.base_url_env,
            self.cls.default_base_url,
            self.url.text().strip() or None,
        )
        self.url_source.setText(
            f"In effect: {url} (from {'this field' if url_from == 'the command line' else url_from})."
        )

    def say(self, text: str, colour: str = "") -> None:
        self.result.setStyleSheet(f"color: {colour};" if colour else "")
        self.result.setText(text)
        self.result.setVisible(True)

    def start_test(self) -> None:
        self.say("Testing…")
        self.test.setEnabled(False)
        self.dialog.tasks.add(asyncio.ensure_future(self.run_test()))

    async def run_test(self) -> None:
        try:
            provider = create_provider(
                self.name,
                self.dialog.client,
                api_key=self.key.text().strip() or None,
                base_url=self.url.text().strip() or None,
            )
            ok, text = await provider.check_key()
        except Exception as exc:  # a check must never take the dialog down
            ok, text = False, f"The check failed: {exc}"
        self.say(text, "#2a2" if ok else "#d33" if ok is False else "")
        self.test.setEnabled(True)

    def clear_key(self) -> None:
        removed = cfg.delete_api_key(self.cls.description.account)
        forget_keys()
        self.say("The stored key was removed." if removed else "No key was stored in the keyring.")
        self.refresh()


class PreferencesDialog(QDialog):
    """API keys (OS keyring) with where each key in effect comes from, Test and Clear; base
    URLs with the one in effect; defaults, output folder and mask colour.

    Opened window-modal with ``open()`` (no nested event loop under qasync); ``accepted``
    means the settings were saved."""

    def __init__(self, parent, client=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("preferencesDialog")
        self.client = client
        self.tasks: set = set()
        s = cfg.load_settings()
        outer = QVBoxLayout(self)
        tabs = QTabWidget(objectName="preferencesTabs")
        outer.addWidget(tabs, 1)
        accounts = QWidget()
        accounts_lay = QVBoxLayout(accounts)
        problem = cfg.keyring_problem()
        self.keyring_label = QLabel(problem or "", objectName="keyringProblem", wordWrap=True)
        self.keyring_label.setVisible(bool(problem))
        self.keyring_label.setStyleSheet(
            "background: #fff4d6; color: #5a4300; padding: 6px; border-radius: 3px;"
        )
        accounts_lay.addWidget(self.keyring_label)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(accounts)
        tabs.addTab(scroll, "Accounts")
        general = QWidget()
        form = QFormLayout(general)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        tabs.addTab(general, "General")
        self.rows: dict[str, ProviderKeyRow] = {}
        # providers of one account (their descriptions name its keyring entry) share a row
        sharing = {
            name: cls.description.account
            for name, cls in PROVIDER_CLASSES.items()
            if cls.description.account != name
        }
        shared: dict[str, list[str]] = {}
        for name, target in sharing.items():
            shared.setdefault(target, []).append(PROVIDER_CLASSES[name].label)
        for name, cls in PROVIDER_CLASSES.items():
            if not cls.capabilities.needs_key or name in sharing:
                continue
            label = " and ".join([cls.label, *shared.get(name, [])])
            self.rows[name] = ProviderKeyRow(self, name, cls, label, accounts_lay, s)
        self.keys = {name: row.key for name, row in self.rows.items()}
        self.urls = {name: row.url for name, row in self.rows.items()}
        for name, target in sharing.items():  # a shared account's base URL is its own setting
            cls = PROVIDER_CLASSES[name]
            url = QLineEdit(s.get("base_urls", {}).get(name, ""), objectName=f"url_{name}")
            url.setPlaceholderText(cls.default_base_url)
            self.urls[name] = url
            self.rows[target].extra_form.addRow(f"{cls.label} base URL", url)
        accounts_lay.addStretch(1)
        self.out_dir = QLineEdit(s.get("output_folder", ""), placeholderText="beside the photo")
        form.addRow("Output folder", self.out_dir)
        from PySide6.QtWidgets import QComboBox

        self.default_provider = QComboBox(objectName="prefDefaultProvider")
        for name, cls in PROVIDER_CLASSES.items():
            self.default_provider.addItem(cls.label, name)
        self.default_provider.setCurrentIndex(
            max(0, self.default_provider.findData(s.get("default_provider", default_provider())))
        )
        form.addRow("Default provider", self.default_provider)
        self.default_speed = QComboBox(objectName="prefDefaultSpeed")
        self.default_speed.addItems([sp.value for sp in RenderingSpeed])
        self.default_speed.setCurrentText(s.get("default_speed", RenderingSpeed.DEFAULT.value))
        form.addRow("Default speed", self.default_speed)
        self.default_images = QSpinBox(
            minimum=1,
            maximum=8,
            value=int(s.get("default_num_images", 2)),
            objectName="prefDefaultImages",
        )
        form.addRow("Default number of images", self.default_images)
        self.embed_details = QCheckBox(
            "Embed edit details (prompt, parameters) in exported files",
            objectName="prefEmbedDetails",
            checked=bool(s.get("embed_details", True)),
        )
        self.embed_details.setToolTip(
            "Exports never carry a folder or the result journal's path; off: not the prompt either"
        )
        self.remove_location = QCheckBox(
            "Remove location (GPS) from exported files",
            objectName="prefRemoveLocation",
            checked=bool(s.get("remove_location", False)),
        )
        form.addRow("Privacy", self.embed_details)
        form.addRow("", self.remove_location)
        self.mask_colour = QColor(s.get("mask_colour", "#82ff285a"))
        self.mask_colour_button = QPushButton("Choose…", objectName="prefMaskColour")
        self.mask_colour_button.clicked.connect(self._pick_colour)
        form.addRow("Mask colour", self.mask_colour_button)
        self.message = QLabel(wordWrap=True, objectName="prefMessage")
        self.message.setStyleSheet("color: #d33;")
        outer.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        self.setMinimumWidth(560)
        screen = parent.screen() if parent is not None else None
        if screen is not None:  # never larger than the screen it opens on
            avail = screen.availableGeometry()
            self.resize(min(720, avail.width() - 40), min(760, avail.height() - 60))

    def _pick_colour(self) -> None:
        c = QColorDialog.getColor(
            self.mask_colour, self, "Mask colour", QColorDialog.ColorDialogOption.ShowAlphaChannel
        )
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
        s["embed_details"] = self.embed_details.isChecked()
        s["remove_location"] = self.remove_location.isChecked()
        s["mask_colour"] = self.mask_colour.name(QColor.NameFormat.HexArgb)
        for name, edit in self.keys.items():
            if edit.text().strip():
                try:
                    desc = PROVIDER_CLASSES[name].description
                    cfg.set_api_key(desc.account, edit.text().strip(), desc.key_env)
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
    lines = QLabel(
        "\n".join(
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(e.time))}  {e.image.name}"
            for e in entries[:20]
        )
    )
    lines.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def do_clear() -> None:
        n = journal.clear_older_than(days.value())
        rest = journal.entries()
        info.setText(
            f"Deleted {n}. {len(rest)} results, {sum(e.bytes for e in rest) / 1e6:.1f} MB in {journal.root}"
        )

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
    (
        "Tools",
        (
            *((spec.key, spec.help) for spec in tool_specs()),  # the tool table's rows
            ("Alt + any tool", "Subtract from the mask"),
            ("[  /  ]", "Smaller / larger brush (about 10 %)"),
            ("Shift + [  /  ]", "Five times the step"),
            ("Hardness, Opacity (toolbar)", "Soft brush: a soft mask"),
            ("M", "Show or hide the mask overlay"),
        ),
    ),
    (
        "Mask",
        (
            ("Ctrl+I", "Invert"),
            ("Delete", "Clear"),
            ("Ctrl+Z", "Undo"),
            ("Ctrl+Shift+Z, Ctrl+Y", "Redo"),
        ),
    ),
    (
        "Generate and variants",
        (
            ("Ctrl+Enter", "Generate (the canvas then has the keyboard)"),
            ("1 – 8", "Show variant n of the latest job"),
            ("Tab (hold)", "See the original"),
            ("Enter, double-click", "Accept the selected, visible variant"),
            ("Escape", "Leave a text field"),
        ),
    ),
    (
        "View",
        (
            ("Wheel, Ctrl+= / Ctrl+-", "Zoom under the cursor"),
            ("Ctrl+0", "Fit"),
            ("Ctrl+1", "100 % (one photo pixel per screen pixel)"),
            ("Ctrl+2", "Zoom to the mask"),
            ("Y", "Before / after split (drag the divider)"),
            ("Space + drag, middle button", "Pan"),
        ),
    ),
    (
        "Files",
        (
            ("Ctrl+O", "Open photo or project"),
            ("Ctrl+S", "Save project"),
            ("Ctrl+Shift+S", "Save as"),
            ("Ctrl+V", "Paste an image"),
            ("Ctrl+E", "Export composite"),
            ("Ctrl+Alt+E", "Export layers (PSD, ORA)"),
            ("Ctrl+Alt+C", "Expand canvas"),
            ("Ctrl+Q", "Quit"),
            ("F1", "This sheet"),
        ),
    ),
)


def shortcut_sheet(parent) -> QDialog:
    """Help ▸ Keyboard shortcuts (F1): every tool and key, grouped."""
    dlg = QDialog(parent, objectName="shortcutSheet")
    dlg.setWindowTitle("Keyboard shortcuts")
    rows = "".join(
        f"<tr><td colspan=2><b>{group}</b></td></tr>"
        + "".join(
            f"<tr><td style='padding-right:18px'><tt>{k}</tt></td><td>{what}</td></tr>"
            for k, what in keys
        )
        for group, keys in SHORTCUTS
    )
    label = QLabel(f"<table cellspacing=3>{rows}</table>", textFormat=Qt.TextFormat.RichText)
    lay = QVBoxLayout(dlg)
    lay.addWidget(label)
    close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    close.rejected.connect(dlg.close)
    lay.addWidget(close)
    return dlg
