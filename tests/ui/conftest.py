from __future__ import annotations


def pytest_asyncio_loop_factories(config, item):
    """UI tests run on the real qasync loop (shared/docs/qt-async-notes.md §7)."""
    from PySide6.QtWidgets import QApplication

    def factory():
        QApplication.instance() or QApplication([])
        from inpaint_studio.ui.aio import loop_factory

        return loop_factory()

    return {"qasync": factory}
