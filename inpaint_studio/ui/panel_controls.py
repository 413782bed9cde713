"""The Generate panel's richer controls: the prompt, a parameter's :class:`Field`, the
collapsible :class:`Section`, and the builders of the seed (Random, Dice), the reference
lists and the palette (a mixin of :class:`~inpaint_studio.ui.generate_panel.GeneratePanel`)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.pipeline.params import Param
from ..core.pipeline.request import (
    PALETTE_PRESETS,
    ColorPalette,
    style_presets,
)
from .references import ReferenceList

UNSET = "(not set)"


class PromptEdit(QPlainTextEdit):
    """Multi-line prompt; Ctrl+Enter asks to generate."""

    submitted = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class Field:
    """A parameter's control: ``widget`` (named after the parameter, marked on problems),
    ``row`` (shown or hidden as a whole), ``get()`` / ``set(value)`` in the core's values and
    the ``changed`` signals of an edit (what :func:`~inpaint_studio.ui.bind.bind` takes)."""

    def __init__(
        self,
        param: Param,
        widget: QWidget,
        row: QWidget | None = None,
        get=None,
        set=None,
        changed=(),
    ) -> None:
        self.param, self.widget, self.row = param, widget, row or widget
        self.get, self.set, self.changed = get, set, changed


def _combo_text(combo: QComboBox) -> str | None:
    t = combo.currentText().strip()
    return None if (not t or t == UNSET) else t


class Section(QWidget):
    """A titled, collapsible group of parameter rows (a flat arrow button over a form)."""

    toggled = Signal(bool)

    def __init__(self, title: str, opened: bool) -> None:
        super().__init__(objectName=f"section{title}")
        self.header = QToolButton(
            text=title, checkable=True, checked=opened, objectName=f"section{title}Button"
        )
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setAutoRaise(True)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.body = QWidget()
        self.form = QFormLayout(self.body)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setContentsMargins(12, 0, 0, 4)
        self.form.setVerticalSpacing(4)  # five rows fit a 1280×800 window
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.body)
        self.header.toggled.connect(self._show)
        self._show(opened)

    def _show(self, opened: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if opened else Qt.ArrowType.RightArrow)
        self.body.setVisible(opened)
        self.toggled.emit(opened)

    def is_open(self) -> bool:
        return self.header.isChecked()

    def set_open(self, opened: bool) -> None:
        self.header.setChecked(opened)

    def has_rows(self) -> bool:
        return any(self.form.isRowVisible(i) for i in range(self.form.rowCount()))


class PanelControls:
    """The builders and readers of the panel's richer controls."""

    def _build_seed(self, p: Param) -> Field:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.random_seed_check = QCheckBox("Random", objectName="randomSeedCheck", checked=True)
        self.seed_spin = QSpinBox(
            objectName=p.widget, minimum=p.range[0], maximum=p.range[1], enabled=False
        )
        self.dice_button = QToolButton(
            text="Dice", objectName="diceButton", toolTip="Pick a new random seed and keep it fixed"
        )
        self.last_seed_label = QLabel("", objectName="lastSeedLabel")
        row.addWidget(self.random_seed_check)
        row.addWidget(self.seed_spin, 1)
        row.addWidget(self.dice_button)
        v.addLayout(row)
        v.addWidget(self.last_seed_label)
        self.random_seed_check.toggled.connect(lambda on: self.seed_spin.setEnabled(not on))
        self.dice_button.clicked.connect(self._dice)

        def put(value) -> None:
            self.random_seed_check.setChecked(value is None)
            if value is not None:
                self.seed_spin.setValue(int(value))

        return Field(
            p,
            self.seed_spin,
            box,
            get=self.seed,
            set=put,
            changed=(self.seed_spin.valueChanged, self.random_seed_check.toggled),
        )

    def _build_style_preset(self, p: Param) -> Field:
        w = self.style_preset_combo = QComboBox(objectName=p.widget, editable=True)
        w.addItems([UNSET, *style_presets()])
        completer = QCompleter(list(style_presets()), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        w.setCompleter(completer)
        w.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        return Field(
            p,
            w,
            get=lambda: t.upper() if (t := _combo_text(w)) else None,
            set=lambda v: w.setCurrentText(v or UNSET),
            changed=(w.currentTextChanged,),
        )

    def _references(self, p: Param, max_items: int | None) -> Field:
        """A thumbnail list with its buttons beside it (one compact row: a small window
        shows every reference row of the section at once)."""
        lst = ReferenceList(p.widget, max_items)
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        buttons = QVBoxLayout()
        buttons.setSpacing(0)
        add = QToolButton(text="Add…" if max_items is None else "Set…")
        rm = QToolButton(text="Remove" if max_items is None else "Clear")
        for b in (add, rm):
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        buttons.addWidget(add)
        buttons.addWidget(rm)
        row.addWidget(lst, 1)
        row.addLayout(buttons)
        if p.name == "style_references":
            self.style_refs, self.style_refs_size = lst, QLabel("0 / 10 MB")
            self.style_refs_size.setToolTip("Style and character references together")
            small = self.style_refs_size.font()
            small.setPointSizeF(small.pointSizeF() * 0.85)
            self.style_refs_size.setFont(small)
            buttons.addWidget(self.style_refs_size)
            rm.clicked.connect(lst.remove_selected)
        elif max_items is None:  # Ideogram 4.x's reference images (its limit: the core's rule)
            self.reference_list = lst
            rm.clicked.connect(lst.remove_selected)
        else:
            self.char_ref = lst
            rm.clicked.connect(lst.clear_refs)
        buttons.addStretch(1)
        add.clicked.connect(lambda: self._add_refs(lst))
        lst.changed.connect(self._update_ref_size)
        return Field(
            p, lst, box, get=lambda: tuple(lst.refs), set=lst.set_refs, changed=(lst.changed,)
        )

    def _build_color_palette(self, p: Param) -> Field:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        self.palette_combo = QComboBox(objectName=p.widget)
        self.palette_combo.addItems([UNSET, *PALETTE_PRESETS, "Custom"])
        self.palette_edit = QLineEdit(
            objectName="paletteEdit", placeholderText="#RRGGBB[:weight], …", enabled=False
        )
        self.palette_add = QToolButton(
            text="+", objectName="paletteAdd", toolTip="Add a colour to the custom palette"
        )
        self.palette_swatches = QLabel(objectName="paletteSwatches")
        row = QHBoxLayout()
        row.addWidget(self.palette_edit, 1)
        row.addWidget(self.palette_add)
        v.addWidget(self.palette_combo)
        v.addLayout(row)
        v.addWidget(self.palette_swatches)
        self.palette_combo.currentTextChanged.connect(
            lambda t: self.palette_edit.setEnabled(t == "Custom")
        )
        self.palette_add.clicked.connect(self._add_palette_colour)
        self.palette_edit.textChanged.connect(self._update_swatches)

        def put(pal: ColorPalette | None) -> None:
            if pal is None:
                self.palette_combo.setCurrentIndex(0)
            elif pal.name:
                self.palette_combo.setCurrentText(pal.name)
            else:
                self.palette_combo.setCurrentText("Custom")
                self.palette_edit.setText(
                    ", ".join(
                        f"{m.color_hex}:{m.color_weight if m.color_weight is not None else 1.0}"
                        for m in pal.members
                    )
                )

        return Field(
            p,
            self.palette_combo,
            box,
            get=self.palette,
            set=put,
            changed=(self.palette_combo.currentIndexChanged, self.palette_edit.textChanged),
        )

    def seed(self) -> int | None:
        return None if self.random_seed_check.isChecked() else self.seed_spin.value()

    def _dice(self) -> None:
        from ..core.pipeline.request import random_seed

        self.random_seed_check.setChecked(False)
        self.seed_spin.setValue(random_seed())

    def show_last_seed(self, seed: int | None) -> None:
        self.last_seed_label.setText(f"Last seed: {seed}" if seed is not None else "")

    def palette(self) -> ColorPalette | None:
        choice = self.palette_combo.currentText()
        if choice == UNSET:
            return None
        if choice == "Custom":
            items = [s.strip() for s in self.palette_edit.text().split(",") if s.strip()]
            return ColorPalette(members=tuple(ColorPalette.parse_member(s) for s in items))
        return ColorPalette(name=choice)

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
            for m in palette.members
            if m.color_hex.startswith("#")
        )
        self.palette_swatches.setText(f'<table cellspacing="2"><tr>{cells}</tr></table>')

    def _update_ref_size(self) -> None:
        if not hasattr(self, "style_refs") or not hasattr(self, "char_ref"):
            return
        total = sum(len(r.data) for r in self.style_refs.refs) + sum(
            len(r.data) for r in self.char_ref.refs
        )
        self.style_refs_size.setText(f"{total / 1e6:.1f} / 10 MB")

    def _add_refs(self, target: ReferenceList) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Add reference images",
            "",
            "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)",
        )
        for f in files:
            err = target.add_path(f)
            if err:
                self.problems_label.setText(err)
