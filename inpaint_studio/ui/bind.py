"""Bound views: a control and one field of the document's request, kept in step.

:func:`bind` is the whole protocol (after krita-ai-diffusion's ``bind`` and napari's evented
models): an edit of the control writes its field through the session's command
(:meth:`~inpaint_studio.core.document.session.EditSession.set_request`), and a change of the field
(:class:`~inpaint_studio.core.events.ParamsChanged` naming it, or a new document) shows the
field's value in the control. The control's own echo is never written back, so typing is
never disturbed; a control holds no value the document does not have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.document.session import EditSession
from ..core.events import DocumentReplaced, Event, ParamsChanged


class Binding:
    """One field ↔ one control (see :func:`bind`)."""

    def __init__(
        self,
        session: EditSession,
        name: str,
        get: Callable[[], Any],
        put: Callable[[Any], None],
        signals: tuple = (),
    ) -> None:
        self.session, self.name, self.get, self.put = session, name, get, put
        self._showing = False  # the control is being set from the document
        self._writing = False  # the document is being set from the control
        for sig in signals:
            sig.connect(lambda *_: self.write())
        self._disconnect = session.subscribe(self._on_event)

    def write(self) -> None:
        """The control changed: write its value into the document (no-op while it is being
        shown a value of the document's)."""
        if self._showing:
            return
        self._writing = True
        try:
            self.session.set_request(**{self.name: self.get()})
        finally:
            self._writing = False

    def show(self) -> None:
        """Show the document's value in the control (without writing it back)."""
        value = self.session.doc.request.get(self.name)
        if self._writing:
            return
        self._showing = True
        try:
            self.put(value)
        finally:
            self._showing = False

    def _on_event(self, event: Event) -> None:
        match event:
            case DocumentReplaced():
                self.show()
            case ParamsChanged(fields=fields) if self.name in fields:
                self.show()

    def unbind(self) -> None:
        self._disconnect()


def bind(
    session: EditSession,
    name: str,
    get: Callable[[], Any],
    put: Callable[[Any], None],
    signals: tuple = (),
) -> Binding:
    """Keep the control read by ``get()`` and written by ``put(value)`` in step with the
    document's request field ``name`` (a parameter of :mod:`~inpaint_studio.core.pipeline.params`,
    ``provider`` or ``provider_options``); ``signals`` are the control's change signals. The
    control shows the document's value at once."""
    binding = Binding(session, name, get, put, signals)
    binding.show()
    return binding
