"""The Generate dock's panel: one row per request parameter of ``core/params.py``.

The rows, their order, labels, ``objectName`` s, which a provider shows, and reading and
writing the values all come from :func:`~inpaint_studio.core.pipeline.params.params`; this module only
chooses how each kind of parameter looks (a few get a richer control: the segmented speed
selector, the seed with Random and Dice, reference lists, the palette). Validation is the
core's: the panel shows its sentences at the controls.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.pipeline.params import Kind, Param, allowed, params
from ..core.pipeline.protocol import ProviderDescription
from ..core.pipeline.request import (
    Capabilities,
    Quality,
    RenderingSpeed,
)
from .panel_controls import UNSET, Field, PanelControls, PromptEdit, Section, _combo_text


class GeneratePanel(PanelControls, QWidget):
    """The controls of every request parameter: a view bound field by field to the
    document's request (:mod:`~inpaint_studio.ui.bind`); it holds no values of its own.
    Emits ``generate_requested``."""

    generate_requested = Signal()

    #: Where each parameter lives: ``None`` = always visible at the top (what every edit
    #: needs), else the collapsible section's title. Sections remember whether they are open.
    SECTIONS = {
        "prompt": None,
        "rendering_speed": None,
        "quality": None,
        "num_images": None,
        "magic_prompt": "Style",
        "style_type": "Style",
        "style_preset": "Style",
        "style_codes": "Style",
        "negative_prompt": "Style",
        "style_references": "References",
        "character_references": "References",
        "references": "References",
        "color_palette": "Palette",
        "seed": "Seed",
        "context": "Blend",
        "feather": "Blend",
        "feather_mode": "Blend",
        "colour_match": "Blend",
        "grain": "Blend",
    }
    sections_changed = Signal(dict)
    #: pixels the sections area needs to show an opened section's first rows
    room_wanted = Signal(int)

    def __init__(self, open_sections: dict | None = None) -> None:
        super().__init__()
        self.form = form = QFormLayout()  # the top: provider, its options, prompt, speed, images
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.provider_combo = QComboBox(objectName="providerCombo")
        self.key_status = QLabel(objectName="keyStatus")
        prov_row = QWidget()
        lay = QHBoxLayout(prov_row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.provider_combo, 1)
        lay.addWidget(self.key_status)
        form.addRow("Provider", prov_row)
        self.option_combos: dict[str, QComboBox] = {}
        self._descriptions: dict[str, ProviderDescription] = {}
        self.fields: dict[str, Field] = {}
        self.form_of: dict[str, QFormLayout] = {}
        self.sections: dict[str, Section] = {}
        states = open_sections if isinstance(open_sections, dict) else {}
        sections_box = QWidget(objectName="generateSections")
        sections_lay = QVBoxLayout(sections_box)
        sections_lay.setContentsMargins(0, 0, 0, 0)
        sections_lay.setSpacing(2)
        for p in params():
            f = self._build(p)
            self.fields[p.name] = f
            title = self.SECTIONS.get(p.name, "More")
            if title is None:
                target = form
            else:
                if title not in self.sections:
                    sec = self.sections[title] = Section(title, bool(states.get(title, False)))
                    sec.toggled.connect(
                        lambda *_: self.sections_changed.emit(self.section_states())
                    )
                    sec.toggled.connect(lambda opened, sec=sec: self._make_room(sec, opened))
                    sections_lay.addWidget(sec)
                target = self.sections[title].form
            target.addRow(p.label, f.row)
            self.form_of[p.name] = target
        sections_lay.addStretch(1)
        w = {name: f.widget for name, f in self.fields.items()}
        self.negative_prompt_edit, self.style_codes_edit = w["negative_prompt"], w["style_codes"]
        self.magic_prompt_combo, self.style_type_combo, self.context_combo = (
            w["magic_prompt"],
            w["style_type"],
            w["context"],
        )
        self.feather_spin, self.colour_match_check = w["feather"], w["colour_match"]
        self.problems_label = QLabel(objectName="problemsLabel", wordWrap=True)
        self.problems_label.setStyleSheet("color: #d33;")
        self.sent_label = QLabel(objectName="sentLabel", wordWrap=True)
        self.sent_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.generate_button.setDefault(True)
        self.generate_button.setMinimumHeight(32)
        #: what Generate would cost, before it is pressed ("$0.24 · 4 × medium")
        self.price_label = QLabel(objectName="priceLabel")
        self.price_label.setMinimumWidth(
            self.price_label.fontMetrics().horizontalAdvance("≈ $0.00 · 8 × very_low")
        )
        scroll = self.sections_scroll = QScrollArea(
            widgetResizable=True, objectName="sectionsScroll"
        )
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(sections_box)
        scroll.setMinimumHeight(28)  # the sections give way first; the top rows are never squeezed
        outer = QVBoxLayout(self)
        outer.addLayout(form)
        outer.addWidget(self.problems_label)
        go = QHBoxLayout()
        go.addWidget(self.generate_button, 1)
        go.addWidget(self.price_label)
        outer.addLayout(go)
        outer.addWidget(self.sent_label)
        outer.addWidget(scroll, 1)
        self.provider_combo.currentIndexChanged.connect(lambda _: self._provider_switched())
        self.generate_button.clicked.connect(self.generate_requested.emit)
        self.prompt_edit.submitted.connect(self.generate_requested.emit)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.generate_requested.emit)

    def offers(self, name: str) -> bool:
        """Whether parameter ``name``'s row is shown for the chosen provider (even inside a
        closed section)."""
        return self.form_of[name].isRowVisible(self.fields[name].row)

    def reveal(self, name: str) -> None:
        """Open the section holding parameter ``name`` (a problem is reported there)."""
        title = self.SECTIONS.get(name, "More")
        if title is not None and title in self.sections:
            self.sections[title].set_open(True)

    #: rows an opened section shows at least (when it has that many), however small the window
    ROWS_SHOWN = 5

    def _make_room(self, sec, opened: bool) -> None:
        """An opened section asks for room for its header and first :data:`ROWS_SHOWN` rows
        (``room_wanted``: the window takes it from the docks below, never growing past the
        screen) and scrolls into view; when the last open one closes, ``room_wanted(0)``
        gives the docks below back what was taken."""
        if not opened:
            if not any(s.is_open() for s in self.sections.values()):
                self.room_wanted.emit(0)
            return
        form = sec.form
        spacing = max(0, form.verticalSpacing())
        heights = []
        for i in range(form.rowCount()):
            if not form.isRowVisible(i):
                continue
            field = form.itemAt(i, QFormLayout.ItemRole.FieldRole)
            label = form.itemAt(i, QFormLayout.ItemRole.LabelRole)
            heights.append(
                max(
                    field.sizeHint().height() if field else 0,
                    label.sizeHint().height() if label else 0,
                )
                + spacing
            )
        body = sum(heights[: self.ROWS_SHOWN]) + 6
        self.room_wanted.emit(sec.header.sizeHint().height() + body + 4)
        bar = self.sections_scroll.verticalScrollBar()
        QTimer.singleShot(0, lambda: bar.setValue(sec.y()))  # its header at the top

    def section_states(self) -> dict[str, bool]:
        """``{title: open}`` of the collapsible sections (saved in settings)."""
        return {title: sec.is_open() for title, sec in self.sections.items()}

    # -- building, by kind -------------------------------------------------------------------

    def _build(self, p: Param) -> Field:
        special = getattr(self, f"_build_{p.name}", None)
        if special is not None:
            return special(p)
        if p.kind is Kind.TEXT:
            w = QLineEdit(objectName=p.widget)
            return Field(
                p,
                w,
                get=lambda: w.text().strip() or p.default,
                set=lambda v: w.setText(v or ""),
                changed=(w.textChanged,),
            )
        if p.kind is Kind.CHOICE:
            w = QComboBox(objectName=p.widget)
            w.addItems(([UNSET] if p.default is None else []) + [c.value for c in p.choices])
            return Field(
                p,
                w,
                get=lambda: p.choices(t) if (t := _combo_text(w)) else None,
                set=lambda v: w.setCurrentIndex(
                    max(0, w.findText(v.value if v is not None else UNSET))
                ),
                changed=(w.currentIndexChanged,),
            )
        if p.kind is Kind.INT:
            w = QSpinBox(
                objectName=p.widget, minimum=p.range[0], maximum=p.range[1], value=p.default
            )
            if p.name == "feather":
                w.setSuffix(" px")
            return Field(
                p, w, get=w.value, set=lambda v: w.setValue(int(v)), changed=(w.valueChanged,)
            )
        if p.kind is Kind.BOOL:
            w = QCheckBox(
                "Match colour to surroundings" if p.name == "colour_match" else p.label,
                objectName=p.widget,
                checked=bool(p.default),
            )
            return Field(
                p, w, get=w.isChecked, set=lambda v: w.setChecked(bool(v)), changed=(w.toggled,)
            )
        if p.kind is Kind.CODES:
            w = QLineEdit(objectName=p.widget, placeholderText="8 hex digits, comma-separated")
            return Field(
                p,
                w,
                get=lambda: tuple(c.strip() for c in w.text().split(",") if c.strip()),
                set=lambda v: w.setText(", ".join(v)),
                changed=(w.textChanged,),
            )
        if p.kind is Kind.IMAGES:
            return self._references(p, max_items=1 if p.name == "character_references" else None)
        raise AssertionError(f"no control for {p.kind}")

    def _build_prompt(self, p: Param) -> Field:
        w = self.prompt_edit = PromptEdit(objectName=p.widget)
        w.setPlaceholderText("Describe the change (Ctrl+Enter generates)")
        w.setTabChangesFocus(True)  # Tab never types a tab character into the prompt
        w.setFixedHeight(72)
        return Field(
            p, w, get=w.toPlainText, set=lambda v: w.setPlainText(v or ""), changed=(w.textChanged,)
        )

    def _build_rendering_speed(self, p: Param) -> Field:
        box = self.speed_selector = QWidget(objectName=p.widget)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.speed_group = QButtonGroup(self)
        self.speed_buttons: dict[RenderingSpeed, QToolButton] = {}
        for speed in RenderingSpeed:
            b = QToolButton(
                text=speed.value.title(), checkable=True, objectName=f"speed{speed.value.title()}"
            )
            self.speed_group.addButton(b)
            self.speed_buttons[speed] = b
            row.addWidget(b)
        self.speed_buttons[p.default].setChecked(True)
        box.setMinimumHeight(box.sizeHint().height())  # never squeezed into the prompt above
        return Field(
            p,
            box,
            get=self.speed,
            set=lambda v: self.speed_buttons[v].setChecked(True),
            changed=(self.speed_group.buttonClicked,),
        )

    def _build_quality(self, p: Param) -> Field:
        """Ideogram 4.x quality as a segmented row like the speeds (not set shows medium, the
        model's default)."""
        box = self.quality_selector = QWidget(objectName=p.widget)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        group = self.quality_group = QButtonGroup(self)
        self.quality_buttons: dict[Quality, QToolButton] = {}
        for q in Quality:
            b = QToolButton(
                text=q.value.replace("_", " ").capitalize(),
                checkable=True,
                objectName=f"quality{q.value.title().replace('_', '')}",
            )
            group.addButton(b)
            self.quality_buttons[q] = b
            row.addWidget(b)
        self.quality_buttons[Quality.MEDIUM].setChecked(True)
        box.setMinimumHeight(box.sizeHint().height())

        def get() -> Quality | None:
            return next((q for q, b in self.quality_buttons.items() if b.isChecked()), None)

        return Field(
            p,
            box,
            get=get,
            set=lambda v: self.quality_buttons[v or Quality.MEDIUM].setChecked(True),
            changed=(group.buttonClicked,),
        )

    def _build_num_images(self, p: Param) -> Field:
        w = self.num_images_spin = QSpinBox(
            objectName=p.widget, minimum=p.range[0], maximum=p.range[1], value=2
        )
        return Field(p, w, get=w.value, set=lambda v: w.setValue(int(v)), changed=(w.valueChanged,))

    # -- providers and capabilities ------------------------------------------------------------

    def set_providers(self, entries: list[tuple[ProviderDescription, bool]], current: str) -> None:
        """``entries``: (description, has_key), configured ones first. Each provider's own
        options with ``gui`` get a combo (CometAPI's model: ``modelCombo``)."""
        self.provider_combo.blockSignals(True)
        self.provider_combo.clear()
        for desc, ok in entries:
            self._descriptions[desc.name] = desc
            shown = desc.menu_label or desc.label
            self.provider_combo.addItem(f"{shown}{'' if ok else ' (no key)'}", desc.name)
            for opt in desc.options:
                if opt.gui and opt.name not in self.option_combos:
                    combo = QComboBox(objectName=f"{opt.name}Combo")
                    for value, label in opt.choices:
                        combo.addItem(label, value)
                    combo.currentIndexChanged.connect(lambda _: self._provider_switched())
                    self.option_combos[opt.name] = combo
                    self.form.insertRow(1, opt.label, combo)
        self.provider_combo.setCurrentIndex(max(0, self.provider_combo.findData(current)))
        self.provider_combo.blockSignals(False)

    @property
    def model_combo(self) -> QComboBox:
        return self.option_combos["model"]

    def provider_name(self) -> str:
        return self.provider_combo.currentData() or "local"

    def description(self) -> ProviderDescription | None:
        return self._descriptions.get(self.provider_name())

    def provider_options(self) -> dict:
        """The chosen provider's own options shown here (e.g. ``{"model": "ideogram-2"}``)."""
        desc = self.description()
        if desc is None:
            return {}
        return {
            o.name: self.option_combos[o.name].currentData()
            for o in desc.options
            if o.name in self.option_combos
        }

    def set_provider(self, name: str) -> None:
        """Show provider ``name`` as chosen (unknown names are ignored)."""
        if (i := self.provider_combo.findData(name)) >= 0:
            self.provider_combo.setCurrentIndex(i)

    def set_provider_options(self, options: dict) -> None:
        """Show the provider's own options (``{"model": "ideogram-2"}``; unknown values are
        ignored)."""
        for name, combo in self.option_combos.items():
            if (i := combo.findData((options or {}).get(name))) >= 0:
                combo.setCurrentIndex(i)

    def _provider_switched(self) -> None:
        """Show the option rows of the provider chosen, each listing that provider's choices
        (one ``modelCombo`` serves Ideogram's and CometAPI's models)."""
        desc = self.description()
        names = set(desc.option_names) if desc else set()
        for name, combo in self.option_combos.items():
            self.form.setRowVisible(combo, name in names)
            opt = next((o for o in desc.options if o.name == name), None) if desc else None
            if opt is None or [combo.itemData(i) for i in range(combo.count())] == [
                v for v, _ in opt.choices
            ]:
                continue
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for value, label in opt.choices:
                combo.addItem(label, value)
            i = combo.findData(current)
            combo.setCurrentIndex(i if i >= 0 else max(0, combo.findData(opt.default)))
            combo.blockSignals(False)

    def apply_capabilities(self, caps: Capabilities, has_key: bool) -> None:
        """Show only the rows the provider can take."""
        self.key_status.setText(
            "" if not caps.needs_key else ("key set" if has_key else "⚠ no key")
        )
        for speed, b in self.speed_buttons.items():
            b.setVisible(speed in caps.speeds)
        combo = self.style_type_combo
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(
            [UNSET]
            + [s.value for s in self.fields["style_type"].param.choices if s in caps.style_types]
        )
        combo.setCurrentIndex(max(0, combo.findText(current)))
        combo.blockSignals(False)
        for name, f in self.fields.items():
            self.form_of[name].setRowVisible(f.row, allowed(f.param, caps))
        for sec in self.sections.values():
            sec.setVisible(sec.has_rows())

    # -- values --------------------------------------------------------------------------------

    def speed(self) -> RenderingSpeed:
        return next(
            (s for s, b in self.speed_buttons.items() if b.isChecked()), RenderingSpeed.DEFAULT
        )

    def set_speed(self, speed: RenderingSpeed) -> None:
        """Choose ``speed`` as a click on its button would."""
        self.speed_buttons[speed].click()

    # -- problems ------------------------------------------------------------------------------

    def show_problems(self, problems: list) -> None:
        """Mark each offending control with the core's sentence; disable Generate with the reason."""
        for f in self.fields.values():
            f.widget.setStyleSheet("")
            f.widget.setToolTip("")
        for p in problems:
            f = self.fields.get(p.field)
            if f is not None:
                f.widget.setStyleSheet("border: 1px solid #d33;")
                f.widget.setToolTip(p.message)
        flagged = {self.SECTIONS.get(p.field) for p in problems}
        for title, sec in self.sections.items():  # a closed section says it holds a problem
            sec.header.setText(f"{title}  ⚠" if title in flagged else title)
        text = "\n".join(p.message for p in problems)
        self.problems_label.setText(text)
        self.problems_label.setVisible(bool(problems))  # no empty line's room when all is well
        self.generate_button.setEnabled(not problems)
        self.generate_button.setToolTip(text if problems else "Generate (Ctrl+Enter)")
