"""Inpaint Studio: mask-based AI inpainting for designers."""

__version__ = "0.1.0"
