"""Docks: Generate panel, Layers and Jobs. Widgets translate to and from the core's values;
they compute nothing themselves (validation is the core's)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QCompleter,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import ImageLoadError
from ..core.imaging import ReferenceImage, load_reference
from ..core.request import (
    DEFAULT_FEATHER,
    MAX_SEED,
    PALETTE_PRESETS,
    Capabilities,
    ColorPalette,
    ContextMode,
    MagicPrompt,
    RenderingSpeed,
    StyleType,
    style_presets,
)

UNSET = "(not set)"


class PromptEdit(QPlainTextEdit):
    """Multi-line prompt; Ctrl+Enter asks to generate."""

    submitted = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


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
        self.setIconSize(QSize(56, 56))
        self.setFixedHeight(84)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setToolTip("Drop images here, or use Add")

    def add_path(self, path: str) -> str | None:
        """Add a reference; returns an error sentence instead of raising."""
        if self.max_items is not None and len(self.refs) >= self.max_items:
            self.refs.pop()
            self.takeItem(self.count() - 1)
        try:
            ref = load_reference(path)
        except ImageLoadError as exc:
            return str(exc)
        self.refs.append(ref)
        img = QImage.fromData(ref.data)
        item = QListWidgetItem(QIcon(QPixmap.fromImage(img.scaled(56, 56, Qt.AspectRatioMode.KeepAspectRatio))), ref.name[:14])
        item.setToolTip(f"{ref.name} — {len(ref.data) / 1e6:.2f} MB")
        self.addItem(item)
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


class GeneratePanel(QWidget):
    """All request parameters. Emits ``changed`` on every edit and ``generate_requested``."""

    changed = Signal()
    generate_requested = Signal()
    provider_changed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.provider_combo = QComboBox(objectName="providerCombo")
        self.key_status = QLabel(objectName="keyStatus")
        prov_row = QHBoxLayout()
        prov_row.addWidget(self.provider_combo, 1)
        prov_row.addWidget(self.key_status)
        form.addRow("Provider", prov_row)
        self.model_label = QLabel("Model")
        self.model_combo = QComboBox(objectName="modelCombo")
        self.model_combo.addItem("Ideogram 3.0", "ideogram-3")
        self.model_combo.addItem("Ideogram 2.0", "ideogram-2")
        form.addRow(self.model_label, self.model_combo)
        self.prompt_edit = PromptEdit(objectName="promptEdit")
        self.prompt_edit.setPlaceholderText("Describe the change (Ctrl+Enter generates)")
        self.prompt_edit.setFixedHeight(72)
        form.addRow("Prompt", self.prompt_edit)
        self.negative_prompt_edit = QLineEdit(objectName="negativePromptEdit")
        self.negative_prompt_label = QLabel("Negative")
        form.addRow(self.negative_prompt_label, self.negative_prompt_edit)
        # rendering speed as one segmented control
        self.speed_selector = QWidget(objectName="speedSelector")
        speed_row = QHBoxLayout(self.speed_selector)
        speed_row.setContentsMargins(0, 0, 0, 0)
        speed_row.setSpacing(0)
        self.speed_group = QButtonGroup(self)
        self.speed_buttons: dict[RenderingSpeed, QToolButton] = {}
        for speed in RenderingSpeed:
            b = QToolButton(text=speed.value.title(), checkable=True, objectName=f"speed{speed.value.title()}")
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.speed_group.addButton(b)
            self.speed_buttons[speed] = b
            speed_row.addWidget(b)
        self.speed_buttons[RenderingSpeed.DEFAULT].setChecked(True)
        form.addRow("Speed", self.speed_selector)
        self.num_images_spin = QSpinBox(objectName="numImagesSpin", minimum=1, maximum=8, value=2)
        form.addRow("Images", self.num_images_spin)
        seed_row = QHBoxLayout()
        self.random_seed_check = QCheckBox("Random", objectName="randomSeedCheck", checked=True)
        self.seed_spin = QSpinBox(objectName="seedSpin", minimum=0, maximum=MAX_SEED)
        self.seed_spin.setEnabled(False)
        self.dice_button = QToolButton(text="Dice", objectName="diceButton", toolTip="Pick a new random seed and keep it fixed")
        self.last_seed_label = QLabel("", objectName="lastSeedLabel")
        seed_row.addWidget(self.random_seed_check)
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.dice_button)
        form.addRow("Seed", seed_row)
        form.addRow("", self.last_seed_label)
        self.magic_prompt_combo = QComboBox(objectName="magicPromptCombo")
        self.magic_prompt_combo.addItems([UNSET] + [m.value for m in MagicPrompt])
        form.addRow("MagicPrompt", self.magic_prompt_combo)
        self.style_type_combo = QComboBox(objectName="styleTypeCombo")
        form.addRow("Style type", self.style_type_combo)
        self.style_preset_combo = QComboBox(objectName="stylePresetCombo", editable=True)
        self.style_preset_combo.addItems([UNSET, *style_presets()])
        completer = QCompleter(list(style_presets()), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.style_preset_combo.setCompleter(completer)
        self.style_preset_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        form.addRow("Style preset", self.style_preset_combo)
        self.style_codes_edit = QLineEdit(objectName="styleCodesEdit", placeholderText="8 hex digits, comma-separated")
        form.addRow("Style codes", self.style_codes_edit)
        self.style_refs = ReferenceList("styleRefList")
        self.style_refs_size = QLabel("0 / 10 MB")
        ref_buttons = QHBoxLayout()
        add_ref = QPushButton("Add…")
        rm_ref = QPushButton("Remove")
        ref_buttons.addWidget(add_ref)
        ref_buttons.addWidget(rm_ref)
        ref_buttons.addWidget(self.style_refs_size, 1)
        refs_box = QVBoxLayout()
        refs_box.addWidget(self.style_refs)
        refs_box.addLayout(ref_buttons)
        form.addRow("Style refs", refs_box)
        self.char_ref = ReferenceList("characterRefList", max_items=1)
        self.char_ref.setFixedHeight(72)
        char_buttons = QHBoxLayout()
        add_char = QPushButton("Set…")
        rm_char = QPushButton("Clear")
        char_buttons.addWidget(add_char)
        char_buttons.addWidget(rm_char)
        char_box = QVBoxLayout()
        char_box.addWidget(self.char_ref)
        char_box.addLayout(char_buttons)
        form.addRow("Character", char_box)
        self.palette_combo = QComboBox(objectName="paletteCombo")
        self.palette_combo.addItems([UNSET, *PALETTE_PRESETS, "Custom"])
        self.palette_edit = QLineEdit(objectName="paletteEdit", placeholderText="#RRGGBB[:weight], …")
        self.palette_edit.setEnabled(False)
        form.addRow("Palette", self.palette_combo)
        self.palette_add = QToolButton(text="+", objectName="paletteAdd", toolTip="Add a colour to the custom palette")
        self.palette_swatches = QLabel(objectName="paletteSwatches")
        pal_row = QHBoxLayout()
        pal_row.addWidget(self.palette_edit, 1)
        pal_row.addWidget(self.palette_add)
        pal_box = QVBoxLayout()
        pal_box.addLayout(pal_row)
        pal_box.addWidget(self.palette_swatches)
        form.addRow("", pal_box)
        self.context_combo = QComboBox(objectName="contextCombo")
        self.context_combo.addItems([c.value for c in ContextMode])
        form.addRow("Context", self.context_combo)
        self.feather_spin = QSpinBox(objectName="featherSpin", minimum=0, maximum=256, value=DEFAULT_FEATHER, suffix=" px")
        form.addRow("Edge feather", self.feather_spin)
        self.colour_match_check = QCheckBox("Match colour to surroundings", objectName="colourMatchCheck", checked=True)
        form.addRow("", self.colour_match_check)
        self.problems_label = QLabel(objectName="problemsLabel", wordWrap=True)
        self.problems_label.setStyleSheet("color: #d33;")
        self.sent_label = QLabel(objectName="sentLabel", wordWrap=True)
        self.sent_label.setStyleSheet("color: palette(mid);")
        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.generate_button.setDefault(True)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.problems_label)
        lay.addWidget(self.sent_label)
        lay.addWidget(self.generate_button)
        lay.addStretch(1)
        self._field_widgets = {
            "prompt": self.prompt_edit, "negative_prompt": self.negative_prompt_edit,
            "rendering_speed": self.speed_selector, "num_images": self.num_images_spin, "seed": self.seed_spin,
            "magic_prompt": self.magic_prompt_combo, "style_type": self.style_type_combo,
            "style_preset": self.style_preset_combo, "style_codes": self.style_codes_edit,
            "style_references": self.style_refs, "character_references": self.char_ref,
            "color_palette": self.palette_combo, "feather": self.feather_spin,
        }
        # wiring
        self.provider_combo.currentIndexChanged.connect(lambda _: self.provider_changed.emit(self.provider_name()))
        self.model_combo.currentIndexChanged.connect(lambda _: self.provider_changed.emit(self.provider_name()))
        for sig in (self.prompt_edit.textChanged, self.negative_prompt_edit.textChanged, self.speed_group.buttonClicked,
                    self.num_images_spin.valueChanged, self.seed_spin.valueChanged, self.random_seed_check.toggled,
                    self.magic_prompt_combo.currentIndexChanged, self.style_type_combo.currentIndexChanged,
                    self.style_preset_combo.currentTextChanged, self.style_codes_edit.textChanged, self.style_refs.changed,
                    self.char_ref.changed, self.palette_combo.currentIndexChanged, self.palette_edit.textChanged,
                    self.context_combo.currentIndexChanged, self.feather_spin.valueChanged, self.colour_match_check.toggled):
            sig.connect(lambda *_: self.changed.emit())
        self.random_seed_check.toggled.connect(lambda on: self.seed_spin.setEnabled(not on))
        self.dice_button.clicked.connect(self._dice)
        self.palette_combo.currentTextChanged.connect(lambda t: self.palette_edit.setEnabled(t == "Custom"))
        self.palette_add.clicked.connect(self._add_palette_colour)
        self.palette_edit.textChanged.connect(self._update_swatches)
        self.style_refs.changed.connect(self._update_ref_size)
        add_ref.clicked.connect(lambda: self._add_refs(self.style_refs))
        rm_ref.clicked.connect(self.style_refs.remove_selected)
        add_char.clicked.connect(lambda: self._add_refs(self.char_ref))
        rm_char.clicked.connect(self.char_ref.clear_refs)
        self.generate_button.clicked.connect(self.generate_requested.emit)
        self.prompt_edit.submitted.connect(self.generate_requested.emit)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.generate_requested.emit)

    # -- providers and capabilities ---------------------------------------------------------

    def set_providers(self, entries: list[tuple[str, str, bool]], current: str) -> None:
        """``entries``: (name, label, has_key); configured ones first."""
        self.provider_combo.blockSignals(True)
        self.provider_combo.clear()
        for name, label, ok in entries:
            self.provider_combo.addItem(f"{label}{'' if ok else ' (no key)'}", name)
        idx = max(0, self.provider_combo.findData(current))
        self.provider_combo.setCurrentIndex(idx)
        self.provider_combo.blockSignals(False)

    def provider_name(self) -> str:
        return self.provider_combo.currentData() or "local"

    def apply_capabilities(self, caps: Capabilities, has_key: bool) -> None:
        """Show only what the provider can take."""
        self.key_status.setText("" if not caps.needs_key else ("🔑 key set" if has_key else "⚠ no key"))
        for speed, b in self.speed_buttons.items():
            b.setVisible(speed in caps.speeds)
        if self.speed().value not in {s.value for s in caps.speeds}:
            first = next(s for s in RenderingSpeed if s in caps.speeds)
            self.speed_buttons[first].setChecked(True)
        current = self.style_type_combo.currentText()
        self.style_type_combo.blockSignals(True)
        self.style_type_combo.clear()
        self.style_type_combo.addItems([UNSET] + [s.value for s in StyleType if s in caps.style_types])
        self.style_type_combo.setCurrentIndex(max(0, self.style_type_combo.findText(current)))
        self.style_type_combo.blockSignals(False)
        self.num_images_spin.setMaximum(8)
        show = {
            "negative_prompt": caps.negative_prompt, "magic_prompt": caps.magic_prompt,
            "style_type": bool(caps.style_types), "style_preset": caps.style_preset,
            "style_codes": caps.style_codes, "style_references": caps.style_references,
            "character_references": caps.character_reference, "color_palette": caps.color_palette,
        }
        form = self.layout().itemAt(0).layout()
        for field, visible in show.items():
            w = self._field_widgets[field]
            form.setRowVisible(self._row_of(form, w), visible)
        form.setRowVisible(self._row_of(form, self.palette_edit), caps.color_palette)
        self.changed.emit()

    @staticmethod
    def _row_of(form: QFormLayout, widget: QWidget) -> int:
        """The form row holding ``widget`` at any depth of nested layouts."""

        def contains(lay) -> bool:
            for i in range(lay.count()):
                it = lay.itemAt(i)
                if it.widget() is widget or (it.layout() is not None and contains(it.layout())):
                    return True
            return False

        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if item is None:
                continue
            if item.widget() is widget or (item.layout() is not None and contains(item.layout())):
                return row
        return -1

    # -- values -----------------------------------------------------------------------------

    def speed(self) -> RenderingSpeed:
        for s, b in self.speed_buttons.items():
            if b.isChecked():
                return s
        return RenderingSpeed.DEFAULT

    def set_speed(self, speed: RenderingSpeed) -> None:
        self.speed_buttons[speed].setChecked(True)
        self.changed.emit()

    def seed(self) -> int | None:
        return None if self.random_seed_check.isChecked() else self.seed_spin.value()

    def _dice(self) -> None:
        from ..core.request import random_seed

        self.random_seed_check.setChecked(False)
        self.seed_spin.setValue(random_seed())

    def show_last_seed(self, seed: int | None) -> None:
        self.last_seed_label.setText(f"Last seed: {seed}" if seed is not None else "")

    def _combo_value(self, combo: QComboBox) -> str | None:
        t = combo.currentText().strip()
        return None if (not t or t == UNSET) else t.upper()

    def palette(self) -> ColorPalette | None:
        choice = self.palette_combo.currentText()
        if choice == UNSET:
            return None
        if choice == "Custom":
            items = [s.strip() for s in self.palette_edit.text().split(",") if s.strip()]
            return ColorPalette(members=tuple(ColorPalette.parse_member(s) for s in items))
        return ColorPalette(name=choice)

    def values(self) -> dict:
        """The panel's values as :class:`~inpaint_studio.core.request.EditRequest` keyword arguments."""
        mp = self._combo_value(self.magic_prompt_combo)
        st = self._combo_value(self.style_type_combo)
        codes = tuple(c.strip() for c in self.style_codes_edit.text().split(",") if c.strip())
        return {
            "prompt": self.prompt_edit.toPlainText(),
            "negative_prompt": self.negative_prompt_edit.text().strip() or None,
            "rendering_speed": self.speed(),
            "num_images": self.num_images_spin.value(),
            "seed": self.seed(),
            "magic_prompt": MagicPrompt(mp) if mp else None,
            "style_type": StyleType(st) if st else None,
            "style_preset": self._combo_value(self.style_preset_combo),
            "style_codes": codes,
            "style_references": tuple(self.style_refs.refs),
            "character_references": tuple(self.char_ref.refs),
            "color_palette": self.palette(),
            "context": ContextMode(self.context_combo.currentText()),
            "feather": self.feather_spin.value(),
            "colour_match": self.colour_match_check.isChecked(),
        }

    # -- problems -----------------------------------------------------------------------------

    def show_problems(self, problems: list) -> None:
        """Mark each offending control with the core's sentence; disable Generate with the reason."""
        for w in self._field_widgets.values():
            w.setStyleSheet("")
            w.setToolTip("")
        for p in problems:
            w = self._field_widgets.get(p.field)
            if w is not None:
                w.setStyleSheet("border: 1px solid #d33;")
                w.setToolTip(p.message)
        text = "\n".join(p.message for p in problems)
        self.problems_label.setText(text)
        self.generate_button.setEnabled(not problems)
        self.generate_button.setToolTip(text if problems else "Generate (Ctrl+Enter)")

    def _add_palette_colour(self) -> None:
        from PySide6.QtWidgets import QColorDialog

        c = QColorDialog.getColor(parent=self, title="Palette colour")
        if c.isValid():
            self.palette_combo.setCurrentText("Custom")
            text = self.palette_edit.text().strip()
            self.palette_edit.setText(f"{text}, {c.name()}:1.0" if text else f"{c.name()}:1.0")

    def _update_swatches(self) -> None:
        """Show the custom palette as coloured swatches sized by weight."""
        palette = self.palette()
        if palette is None or palette.name is not None:
            self.palette_swatches.setText("")
            return
        cells = "".join(
            f'<td style="background:{m.color_hex}" width="{int(12 + 28 * (m.color_weight or 1.0))}">&nbsp;</td>'
            for m in palette.members if m.color_hex.startswith("#")
        )
        self.palette_swatches.setText(f'<table cellspacing="2"><tr>{cells}</tr></table>')

    def _update_ref_size(self) -> None:
        total = sum(len(r.data) for r in self.style_refs.refs) + sum(len(r.data) for r in self.char_ref.refs)
        self.style_refs_size.setText(f"{total / 1e6:.1f} / 10 MB")

    def _add_refs(self, target: ReferenceList) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add reference images", "", "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)")
        for f in files:
            err = target.add_path(f)
            if err:
                self.problems_label.setText(err)


class LayersPanel(QWidget):
    """Variant layers: thumbnail, name, visibility, opacity, delete, accept, render at QUALITY."""

    accept_requested = Signal()
    discard_requested = Signal()
    quality_requested = Signal()
    opacity_changed = Signal(float)
    reblend_requested = Signal(int, bool)

    def __init__(self) -> None:
        super().__init__()
        self.list = QListWidget(objectName="layersList")
        self.list.setIconSize(QSize(48, 48))
        self.list.setMinimumHeight(120)
        self.opacity = QSlider(Qt.Orientation.Horizontal, objectName="opacitySlider", minimum=0, maximum=100, value=100)
        self.accept_button = QPushButton("Accept", objectName="acceptButton", toolTip="Bake into the image (Enter)")
        self.discard_button = QPushButton("Discard", objectName="discardButton")
        self.quality_button = QPushButton("Render at QUALITY", objectName="qualityButton")
        self.original_button = QPushButton("Original", objectName="originalButton", checkable=True, toolTip="Show the original (hold Tab)")
        self.reblend_feather = QSpinBox(objectName="reblendFeather", minimum=0, maximum=256, value=4, suffix=" px")
        self.reblend_colour = QCheckBox("Colour match", objectName="reblendColour", checked=True)
        self.reblend_button = QPushButton("Re-blend", objectName="reblendButton",
                                          toolTip="Recompute the selected variant's edge and colour from its stored result")
        row = QHBoxLayout()
        row.addWidget(self.accept_button)
        row.addWidget(self.discard_button)
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
        blend.addWidget(self.reblend_button)
        lay.addLayout(blend)
        lay.addLayout(row)
        lay.addWidget(self.quality_button)
        lay.addWidget(self.original_button)
        self.accept_button.clicked.connect(self.accept_requested.emit)
        self.discard_button.clicked.connect(self.discard_requested.emit)
        self.quality_button.clicked.connect(self.quality_requested.emit)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        self.reblend_button.clicked.connect(
            lambda: self.reblend_requested.emit(self.reblend_feather.value(), self.reblend_colour.isChecked()))
        self.list.itemDoubleClicked.connect(lambda _: self.accept_requested.emit())


class JobRow(QWidget):
    """One job: stage, progress, elapsed time, provider and speed; Cancel and Copy details."""

    cancel_requested = Signal(int)
    copy_requested = Signal(int)

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.label = QLabel(wordWrap=True, objectName="jobLabel")
        self.cancel = QToolButton(text="Cancel", objectName="jobCancel")
        self.copy = QToolButton(text="Copy details", objectName="jobCopy")
        self.copy.setVisible(False)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.copy)
        lay.addWidget(self.cancel)
        self.cancel.clicked.connect(lambda: self.cancel_requested.emit(self.job_id))
        self.copy.clicked.connect(lambda: self.copy_requested.emit(self.job_id))


def describe_stage(job) -> str:
    stage = job.stage
    if stage == "uploading" and job.total:
        return f"uploading {100 * (job.done or 0) / job.total:.0f} %"
    if stage in ("downloading", "compositing") and job.total:
        return f"{stage} {job.done or 0}/{job.total}"
    return stage
