"""The main window's dialogs and remembered state: the shortcut sheet, the result journal, Preferences, settings and the dock layout (a mixin of :class:`~inpaint_studio.ui.main_window.MainWindow`)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from ..core import settings as cfg
from .dialogs import PreferencesDialog, show_journal


class WindowState:
    """Dialogs, settings and layout of the main window."""

    # -- dialogs, settings, window state ---------------------------------------------------------

    def show_shortcuts(self) -> None:
        from .dialogs import shortcut_sheet

        shortcut_sheet(self).show()

    def show_journal(self) -> None:
        show_journal(self, self.session.journal)

    def preferences(self) -> PreferencesDialog:
        """Open Preferences window-modal (no nested event loop); applied when it is accepted."""
        dlg = PreferencesDialog(self, self.client)
        dlg.accepted.connect(self._preferences_saved)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def _preferences_saved(self) -> None:
        self.settings = cfg.load_settings()
        self.generator.refresh_providers()
        self.apply_defaults()
        if self.settings.get("mask_colour"):
            self.canvas.set_overlay_color(QColor(self.settings["mask_colour"]))

    def _sections_changed(self, states: dict) -> None:
        self.settings["generate_sections"] = states
        self.save_settings()

    def save_settings(self) -> None:
        try:
            cfg.save_settings(self.settings)
        except OSError as exc:
            self.report_error(f"Settings could not be saved: {exc.strerror or exc}.")

    def apply_defaults(self) -> None:
        from ..core.pipeline.request import RenderingSpeed

        speed = self.settings.get("default_speed")
        if speed in RenderingSpeed.__members__ and self.panel.speed_buttons[
            RenderingSpeed(speed)
        ].isVisibleTo(self.panel):
            self.panel.set_speed(RenderingSpeed(speed))
        if isinstance(self.settings.get("default_num_images"), int):
            self.panel.num_images_spin.setValue(int(self.settings["default_num_images"]))

    def _restore_layout(self) -> None:
        self.apply_defaults()
        colour = self.settings.get("mask_colour")
        if isinstance(colour, str):
            self.canvas.set_overlay_color(QColor(colour))
        self.layout_.restore()
