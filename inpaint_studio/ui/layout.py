"""The window's layout: dock arrangement, the first window's size, and one saved layout per
screen.

- Generate on the right, with Layers, Jobs and History as tabs under it (Layers in front), so
  nothing takes room from the canvas until it is needed: the Jobs tab comes to the front when
  a job starts or fails, the Layers tab when results arrive.
- The first window fits the screen it opens on (never larger than its available geometry).
- The layout (geometry and dock state) is saved per screen, keyed by the screen's name and
  available size, so a laptop panel and an external monitor each keep their own.
"""

from __future__ import annotations

import base64

from PySide6.QtCore import QByteArray, QRect, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

#: The first window's size when the screen has room, logical px.
DEFAULT_SIZE = (1400, 900)


def screen_key(screen) -> str:
    """``"<name> <width>x<height>"`` of a screen's available geometry (its layout's key)."""
    g = screen.availableGeometry()
    return f"{screen.name() or 'screen'} {g.width()}x{g.height()}"


def fitted(available: QRect, size: tuple[int, int] = DEFAULT_SIZE) -> QRect:
    """A rectangle of ``size`` (shrunk to 92 % of ``available`` when larger), centred in it."""
    w = min(size[0], int(available.width() * 0.92))
    h = min(size[1], int(available.height() * 0.92))
    return QRect(
        available.x() + (available.width() - w) // 2,
        available.y() + (available.height() - h) // 2,
        w,
        h,
    )


#: a screen this many logical px high or less gets scrolling docks (the panels' own minimum
#: heights would make the window taller than the screen)
SMALL_SCREEN = 700


def scrolling(panel: QWidget, name: str) -> QScrollArea:
    """``panel`` in a frameless vertical scroll area that resizes it (it scrolls only when the
    dock is smaller than the panel's minimum)."""
    area = QScrollArea(objectName=name, widgetResizable=True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(panel)
    return area


class WindowLayout:
    """Arranges ``window.docks`` and saves/restores the layout in ``window.settings``."""

    def __init__(self, window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
        self.window, self.docks = window, docks
        w = window
        right = Qt.DockWidgetArea.RightDockWidgetArea
        for dock in docks.values():
            w.addDockWidget(right, dock)
        w.splitDockWidget(docks["generateDock"], docks["layersDock"], Qt.Orientation.Vertical)
        w.tabifyDockWidget(docks["layersDock"], docks["jobsDock"])
        w.tabifyDockWidget(docks["jobsDock"], docks["historyDock"])
        docks["layersDock"].raise_()
        self.restored = False
        self._lent_from: int | None = None  # the tabs' height before opened sections took room
        self._asks = 0

    # -- what comes to the front ----------------------------------------------------------------

    def bring(self, name: str) -> None:
        """Show dock ``name`` and put its tab in front; the tabs get back room for a few rows
        if an opened section had taken it."""
        dock = self.docks[name]
        dock.show()
        dock.raise_()
        gen, below = self.docks["generateDock"], self.docks["layersDock"]
        total = gen.height() + below.height()
        want = min(total // 2, self.TABS_WANT)
        if name != "generateDock" and below.isVisible() and below.height() < want:
            self.window.resizeDocks([gen, below], [total - want, want], Qt.Orientation.Vertical)

    # -- size and per-screen layouts -------------------------------------------------------------

    def restore(self) -> None:
        """Restore the saved layout of the screen the window opens on; else fit that screen."""
        w = self.window
        screen = w.screen()
        layouts = w.settings.get("layouts")
        saved = layouts.get(screen_key(screen)) if isinstance(layouts, dict) and screen else None
        if isinstance(saved, dict):
            try:
                geo, state = saved.get("geometry"), saved.get("state")
                if isinstance(geo, str):
                    w.restoreGeometry(QByteArray(base64.b64decode(geo)))
                if isinstance(state, str):
                    self.restored = w.restoreState(QByteArray(base64.b64decode(state)))
            except ValueError:
                pass  # a damaged layout entry: the default layout
        if screen is not None:
            avail = screen.availableGeometry()
            if not self.restored or w.width() > avail.width() or w.height() > avail.height():
                w.setGeometry(fitted(avail))

    def save(self) -> None:
        """Remember this layout for the screen the window is on."""
        w = self.window
        screen = w.screen()
        if screen is None:
            return
        layouts = w.settings.get("layouts")
        if not isinstance(layouts, dict):
            layouts = w.settings["layouts"] = {}
        layouts[screen_key(screen)] = {
            "geometry": base64.b64encode(bytes(w.saveGeometry())).decode(),
            "state": base64.b64encode(bytes(w.saveState())).decode(),
        }
        for old in ("window_geometry", "window_state"):  # the single layout of earlier versions
            w.settings.pop(old, None)

    #: what the Layers tabs keep at least, logical px, when Generate asks for room (their
    #: own minimum when larger)
    BELOW_KEEPS = 120
    #: what the tabs get back when results arrive or a job starts, logical px
    TABS_WANT = 280

    def _generate_needs(self, extra: int = 0) -> int:
        """The Generate dock's height that shows its whole panel (plus ``extra`` px)."""
        gen = self.docks["generateDock"]
        area = gen.widget()
        if not isinstance(area, QScrollArea):  # its dock already holds the whole panel
            return gen.height() + max(0, extra)
        panel = area.widget()
        hidden = max(0, panel.sizeHint().height() - area.viewport().height())
        return gen.height() + hidden + max(0, extra)

    def _split(self, wanted_generate: int) -> None:
        """Generate gets ``wanted_generate`` px, the tabs below keep their minimum (at least
        :data:`BELOW_KEEPS`, or what they have); the window never grows."""
        gen, below = self.docks["generateDock"], self.docks["layersDock"]
        total = gen.height() + below.height()
        keep = min(below.height(), max(self.BELOW_KEEPS, below.minimumSizeHint().height()))
        g = max(gen.height(), min(wanted_generate, total - keep))
        if g != gen.height():
            self.window.resizeDocks([gen, below], [g, total - g], Qt.Orientation.Vertical)

    def make_room(self, wanted: int, scroll) -> None:
        """Give the Generate dock's sections area ``wanted`` px (an opened section's first
        rows) and its whole panel, taken from the docks below; ``wanted`` 0 (no section is
        open any more): the docks below get back the height they had before the first loan."""
        self._asks += 1  # a give-back still waiting is cancelled by any later ask
        if wanted > 0:
            if self._lent_from is None:
                self._lent_from = self.docks["layersDock"].height()
            self._split(self._generate_needs(wanted - scroll.height()))
        else:  # on the next turn: a section opened right after (one replacing another) wins
            QTimer.singleShot(0, lambda asked=self._asks: self._give_back(asked))

    def _give_back(self, asked: int) -> None:
        if asked != self._asks or self._lent_from is None:
            return
        had, self._lent_from = self._lent_from, None
        self._tabs_to(had, retry=True)

    def _tabs_to(self, height: int, *, retry: bool) -> None:
        """The tabs below Generate ``height`` px tall (resizeDocks shares the space in
        proportion, which can miss by a title bar: measured and corrected once)."""
        gen, below = self.docks["generateDock"], self.docks["layersDock"]
        total = gen.height() + below.height()
        miss = height - below.height()
        if miss > 1 and height < total:
            ask = height + (0 if retry else miss)
            self.window.resizeDocks([gen, below], [total - ask, ask], Qt.Orientation.Vertical)
            if retry:
                QTimer.singleShot(0, lambda: self._tabs_to(height, retry=False))

    def default_sizes(self) -> None:
        """Default proportions when no layout was restored: Generate 400 px wide, taking what
        its top needs; the tabs below it the rest."""
        if self.restored:
            return
        w = self.window
        w.resizeDocks([self.docks["generateDock"]], [400], Qt.Orientation.Horizontal)
        w.resizeDocks(
            [self.docks["generateDock"], self.docks["layersDock"]],
            [int(w.height() * 0.48), int(w.height() * 0.52)],
            Qt.Orientation.Vertical,
        )
        self._split(self._generate_needs())  # its whole top visible where the window allows
