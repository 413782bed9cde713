"""The layer stack's commands (a part of :class:`~inpaint_studio.core.document.session.EditSession`):
select, show and hide, opacity, the variant keys 1–8, discard, accept (bake into the working
image), expand the canvas and re-blend — each undoable where it changes the document, each
announced as a typed event."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..events import (
    DocumentReplaced,
    ImageChanged,
    LayerChanged,
    LayersChanged,
    SelectionChanged,
    Signal,
    StatusChanged,
)
from ..pipeline.composite import blend_into, build_layer
from ..pixels.imaging import load_image
from ..pixels.maskedit import Rect
from ..undo import FunctionCommand
from .model import VariantLayer

if TYPE_CHECKING:
    from ..events import Event
    from ..pipeline.jobs import JobRunner
    from ..undo import UndoHistory
    from .model import Document


class LayerCommands:
    """Commands on the layer stack; mixed into the session, whose document, undo history
    and events they use."""

    doc: Document
    undo: UndoHistory
    runner: JobRunner
    modified: Signal[bool]

    def emit(self, event: Event) -> None: ...

    def error(self, message: str) -> None: ...

    def select(self, key: str | None) -> None:
        if key == self.doc.selected:
            return
        self.doc.selected = key if self.doc.layer(key) is not None else None
        self.emit(SelectionChanged(self.doc.selected))

    def set_visible(self, key: str, visible: bool) -> None:
        lay = self.doc.layer(key)
        if lay is None or lay.visible == visible or not lay.drawable:
            return
        lay.visible = visible
        self.emit(LayerChanged(key))

    def set_opacity(self, key: str, opacity: float) -> None:
        lay = self.doc.layer(key)
        opacity = min(1.0, max(0.0, float(opacity)))
        if lay is None or lay.opacity == opacity:
            return
        lay.opacity = opacity
        self.emit(LayerChanged(key))

    def show_variant(self, n: int) -> None:
        """Show only variant ``n`` (1-based) of the newest job and select it."""
        if not 1 <= n <= len(self.doc.latest):
            return
        chosen = self.doc.latest[n - 1]
        for key in self.doc.latest:
            self.set_visible(key, key == chosen)
        self.select(chosen)

    def overlapping(self, key: str) -> list[str]:
        """The other drawable layers whose boxes overlap layer ``key``'s (its region)."""
        lay = self.doc.layer(key)
        if lay is None or lay.variant.layer is None:
            return []
        ax0, ay0, ax1, ay1 = lay.variant.layer.box
        out = []
        for other in self.doc.layers:
            if other is lay or other.variant.layer is None:
                continue
            bx0, by0, bx1, by1 = other.variant.layer.box
            if ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1:
                out.append(other.key)
        return out

    def show_layer(self, key: str) -> None:
        """Show layer ``key`` alone in its region (the other layers over it hidden) and select
        it: what a click on its row does. A withheld variant is only selected."""
        lay = self.doc.layer(key)
        if lay is None:
            return
        if lay.drawable:
            for other in self.overlapping(key):
                self.set_visible(other, False)
            self.set_visible(key, True)
        self.select(key)

    def discard_all(self) -> bool:
        """Remove every variant layer, as one undoable step (Layers ▸ Discard all)."""
        keys = {lay.key for lay in self.doc.layers}
        return bool(keys) and self._discard(keys, "Discard all variants", self.doc.selected)

    def show_job(self, job_id: int) -> bool:
        """Make a job's layers the ones keys 1–8 flip through, and show its first."""
        keys = [lay.key for lay in self.doc.layers if lay.job.id == job_id and lay.drawable]
        if not keys:
            return False
        self.doc.latest = keys
        self.show_variant(1)
        return True

    def _next_selection(self) -> None:
        """After a layer left: the topmost visible layer, or none — never a hidden one."""
        visible = [lay for lay in self.doc.layers if lay.visible and lay.drawable]
        self.select(visible[-1].key if visible else None)

    def _remove_layers(self, keys: set[str]) -> list[tuple[int, VariantLayer]]:
        removed = [(i, lay) for i, lay in enumerate(self.doc.layers) if lay.key in keys]
        self.doc.layers = [lay for lay in self.doc.layers if lay.key not in keys]
        self.doc.latest = [k for k in self.doc.latest if k not in keys]
        self.emit(LayersChanged())
        if self.doc.selected in keys or self.doc.selected is None:
            self._next_selection()
        return removed

    def _restore_layers(self, removed: list[tuple[int, VariantLayer]], select: str | None) -> None:
        for i, lay in removed:
            self.doc.layers.insert(min(i, len(self.doc.layers)), lay)
        self.emit(LayersChanged())
        self.select(select)

    def discard(self, key: str | None = None) -> bool:
        """Remove layer ``key`` (the selected one), undoably."""
        chosen = key or self.doc.selected
        if chosen is None:
            return False
        return self._discard({chosen}, "Discard variant", chosen)

    def discard_others(self, key: str | None = None) -> bool:
        """Keep layer ``key`` (the selected one) and remove every other, as one undoable step."""
        keep = key or self.doc.selected
        if self.doc.layer(keep) is None:
            return False
        return self._discard(
            {lay.key for lay in self.doc.layers if lay.key != keep}, "Discard other variants", keep
        )

    def _discard(self, keys: set[str], text: str, selected: str | None) -> bool:
        keys = {k for k in keys if self.doc.layer(k) is not None}
        if not keys:
            return False
        removed: list = []

        def redo() -> None:
            removed[:] = self._remove_layers(keys)

        self.undo.push(FunctionCommand(text, redo, lambda: self._restore_layers(removed, selected)))
        return True

    async def accept(self, key: str | None = None) -> bool:
        """Bake layer ``key`` (the selected one) into the working image, undoably.

        Only a visible layer can be accepted: what is baked is what the user sees. Returns
        False (and says why with an ``ERROR`` change) otherwise.
        """
        lay = self.doc.layer(key or self.doc.selected)
        if lay is None or self.doc.photo is None:
            return False
        if not lay.visible or not lay.drawable:
            self.error("Show the variant before accepting it: only what is visible is baked in.")
            return False
        layer, opacity, photo = lay.variant.layer, lay.opacity, self.doc.photo
        assert layer is not None  # drawable
        x0, y0, x1, y1 = layer.box
        before = photo.rgb[y0:y1, x0:x1].copy()

        def bake() -> tuple[np.ndarray, np.ndarray]:
            patch = before.copy()
            blend_into(patch, type(layer)(0, 0, layer.rgb, layer.alpha), opacity)
            full = photo.rgb.copy()  # the new working image, made here, not on the GUI thread
            full[y0:y1, x0:x1] = patch
            return patch, full

        after, full = await asyncio.to_thread(bake)
        if self.doc.photo is not photo or self.doc.layer(lay.key) is not lay:
            return False  # the document changed meanwhile
        removed: list = []
        box = layer.box
        # the arrays either side of this step, kept weakly: while they live (jobs keep theirs),
        # redo and undo swap them instead of copying the whole image on the GUI thread
        ends = {"before": weakref.ref(photo.rgb), "after": weakref.ref(full)}
        first = [full]

        summary = self._layer_summary(lay) | {"box": list(box)}

        def step(frm: str, to: str, patch: np.ndarray, ready: np.ndarray | None) -> None:
            """Go from the image ``ends[frm]`` to ``ends[to]``: swap in ``ready`` (that end,
            while it lives) when the image is still ``frm``'s, else write ``patch`` in the box."""
            assert self.doc.photo is not None
            if ready is not None and self.doc.photo.rgb is ends[frm]():
                self.doc.photo = replace(self.doc.photo, rgb=ready)
                self.emit(ImageChanged(box))
            else:
                self._write_rgb(box, patch)
                assert self.doc.photo is not None
                ends[to] = weakref.ref(self.doc.photo.rgb)

        def redo() -> None:
            step("before", "after", after, first.pop() if first else ends["after"]())
            self.doc.accepted.append((box, after))
            self.doc.extra.setdefault("accepted_layers", []).append(summary)
            removed[:] = self._remove_layers({lay.key})

        def undo() -> None:
            step("after", "before", before, ends["before"]())
            if self.doc.accepted and self.doc.accepted[-1][1] is after:
                self.doc.accepted.pop()
            done = self.doc.extra.get("accepted_layers")
            if isinstance(done, list) and done and done[-1] is summary:
                done.pop()
            self._restore_layers(removed, lay.key)

        self.undo.push(FunctionCommand("Accept variant", redo, undo))
        return True

    async def expand(self, pad: tuple[int, int, int, int], prepare: Callable | None = None) -> bool:
        """Expand the canvas by ``pad`` (left, top, right, bottom, pixels), undoably: the
        working image at its offset, bit-identical, a pre-filled margin, and the margin as the
        mask (:mod:`~inpaint_studio.core.document.expand`). Generate then outpaints it like any edit.

        Refused, with an ``ERROR`` change, while variants are shown as layers (they belong to
        the current size) or jobs run. ``prepare(photo, mask)`` runs in the same worker thread
        once the new canvas exists (a view builds what it needs to show it there).

        Raises:
            InvalidInput: a pad that adds nothing or makes the canvas too large.
        """
        from .expand import expand_photo

        if self.doc.photo is None or self.doc.mask is None:
            return False
        if self.doc.layers:
            self.error(
                "Accept or discard the variants before expanding the canvas: they belong to its current size."
            )
            return False
        if any(j.is_active for j in self.runner.jobs.values()):
            self.error("Wait for the running jobs (or cancel them) before expanding the canvas.")
            return False
        old = (
            self.doc.photo,
            self.doc.mask,
            self.doc.mask_alpha,
            list(self.doc.accepted),
            self.doc.photo_path,
            dict(self.doc.extra),
        )

        def work():
            photo, mask = expand_photo(old[0], pad)
            if prepare is not None:
                prepare(photo, mask)
            return photo, mask

        photo, mask = await asyncio.to_thread(work)
        if self.doc.photo is not old[0] or self.doc.layers:
            return False  # the document changed meanwhile
        w, h = old[0].size
        path = old[4].with_name(f"{old[4].stem}-expanded.png") if old[4] else None
        extra = dict(old[5]) | {"expanded": {"from": [w, h], "pad": list(pad)}}

        def put(state) -> None:
            (
                self.doc.photo,
                self.doc.mask,
                self.doc.mask_alpha,
                accepted,
                self.doc.photo_path,
                extra_,
            ) = state
            self.doc.accepted, self.doc.extra = list(accepted), dict(extra_)
            self.doc.mask_version += 1
            self.emit(DocumentReplaced(expanded=True))
            if not self.doc.unsaved:
                self.doc.unsaved = True
                self.emit(StatusChanged())
            self.modified.emit(False)

        stash: list = []  # layers made on the expanded canvas, set aside while it is undone

        def shift(dx: int, dy: int) -> None:  # every earlier job's canvas now lies at another place
            for job in self.doc.jobs.values():
                if job.offset is not None:
                    job.offset = (job.offset[0] + dx, job.offset[1] + dy)

        def redo() -> None:
            shift(pad[0], pad[1])
            put((photo, mask, None, [], path, extra))
            if stash:
                self._restore_layers(stash, stash[-1][1].key)
                stash.clear()

        def undo() -> None:
            if self.doc.layers:  # they belong to the expanded size: they come back with a redo
                stash[:] = self._remove_layers({lay.key for lay in self.doc.layers})
            shift(-pad[0], -pad[1])
            put(old)

        self.undo.push(FunctionCommand("Expand canvas", redo, undo))
        return True

    def _write_rgb(self, box: Rect, patch: np.ndarray) -> None:
        """Replace a box of the working image with a new array (running jobs keep theirs)."""
        x0, y0, x1, y1 = box
        assert self.doc.photo is not None
        rgb = self.doc.photo.rgb.copy()
        rgb[y0:y1, x0:x1] = patch
        self.doc.photo = replace(self.doc.photo, rgb=rgb)
        self.emit(ImageChanged(box))

    async def reblend(
        self, key: str | None, feather: int, colour_match: bool, grain: bool | None = None
    ) -> bool:
        """Recompute a layer's edge feather (px) and colour match from its stored raw result."""
        lay = self.doc.layer(key or self.doc.selected)
        if lay is None:
            return False
        job, v = lay.job, lay.variant
        if job.prepared is None or (v.raw is None and v.raw_pixels is None):
            self.error("This variant has no stored raw result to re-blend.")
            return False

        def work():
            pixels = v.raw_pixels if v.raw_pixels is not None else load_image(v.raw).rgb
            return pixels, build_layer(
                job.request.photo.rgb,
                job.request.mask,
                job.prepared.region,
                pixels,
                feather=feather,
                colour_match=colour_match,
                strength=job.request.mask_alpha,
                grain=lay.grain if grain is None else grain,
                feather_mode=job.request.feather_mode,
            )

        pixels, layer = await asyncio.to_thread(work)
        v.layer = layer
        if v.raw is None:
            v.raw_pixels = pixels
        v.extra["feather"], v.extra["colour_match"] = feather, colour_match
        if grain is not None:
            v.extra["grain"] = bool(grain)
        self.emit(LayerChanged(lay.key, pixels=True))
        return True

    @staticmethod
    def _layer_summary(lay: VariantLayer) -> dict:
        r = lay.job.request
        return {
            "name": lay.name,
            "provider": lay.job.provider.name,
            "prompt": r.prompt,
            "rendering_speed": r.rendering_speed.value,
            "setting": lay.job.setting,
            "seed": lay.variant.seed,
            "returned_prompt": lay.variant.prompt,
            "opacity": lay.opacity,
        }
