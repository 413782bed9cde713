"""Waiting in async tests for something the program does in its own time."""

from __future__ import annotations

import asyncio


async def until(cond, timeout: float = 20.0) -> None:
    """Poll ``cond()`` every 10 ms until it is true; AssertionError after ``timeout`` s."""
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
