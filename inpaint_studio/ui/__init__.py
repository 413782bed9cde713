"""The Qt user interface: the only package that imports PySide6."""

from __future__ import annotations


def __getattr__(name: str):
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    raise AttributeError(name)


__all__ = ["MainWindow"]
