"""Pixels in and out: decoding and validating photos and masks, and the mask's editing tools."""
