"""The Generate dock's behaviour: each of the panel's controls is bound to its field of the
document's request, the core validates the request, "What will be sent" is prepared off
the GUI thread, and Generate, Render final, Replay and Re-run submit jobs to the
session. The request is built from the document alone."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer

from ..core.document.session import EditSession
from ..core.errors import InpaintError, Problem, ValidationError
from ..core.events import DocumentReplaced, Event, ImageChanged, MaskChanged, ParamsChanged
from ..core.pipeline.jobs import Job, prepare
from ..core.pipeline.params import check, params
from ..core.pipeline.request import EditRequest, RenderingSpeed
from ..core.pixels.imaging import encode_mask
from ..providers import create_provider, describe, descriptions, has_key
from .bind import Binding, bind
from .generate_panel import GeneratePanel


class GenerateController:
    """Binds a :class:`GeneratePanel` to an :class:`EditSession` (see the module text)."""

    def __init__(self, window, session: EditSession, panel: GeneratePanel) -> None:
        self.window, self.session, self.panel = window, session, panel
        self.preview_prepared = None  # (key, Prepared) of the last "what will be sent"
        self._preview_gen = 0
        self.preview_timer = QTimer(
            window, singleShot=True, interval=350, timeout=self.schedule_preview
        )
        #: each control bound to its field of the document's request
        self.bindings: dict[str, Binding] = {
            name: bind(session, name, f.get, f.set, tuple(f.changed))
            for name, f in panel.fields.items()
        }
        panel.generate_requested.connect(self._generate_from_panel)
        #: quotes by what they depend on (never asked twice; a job's price is never a surprise)
        self.quotes: dict[tuple, object] = {}
        self._wanted: tuple | None = None  # the request whose price the label should show
        self._quoting: set[tuple] = set()  # the requests whose quotes are on their way
        self.price_timer = QTimer(window, singleShot=True, interval=400, timeout=self.refresh_price)
        session.subscribe(self._on_change)  # after the bindings: the controls show the values

    # -- model → panel ----------------------------------------------------------------------------

    def _on_change(self, event: Event) -> None:
        match event:
            case DocumentReplaced():
                self._provider_changed()
            case ParamsChanged(fields=fields):
                if fields & {"provider", "provider_options"}:
                    self._provider_changed()
                self.validate()
                self.preview_timer.start()
                self.price_timer.start()
            case ImageChanged() | MaskChanged():
                self.preview_timer.start()
                self.price_timer.start()

    def refresh_providers(self) -> None:
        """List every provider, those with a key first, the offline engine always; the
        document's provider is chosen (a new window's: the last one used)."""
        s = self.window.settings
        entries = [(d, has_key(d.name)) for d in descriptions()]
        entries.sort(key=lambda e: (not (e[1] and e[0].needs_key), e[0].name != "local"))
        names = {d.name for d, _ in entries}
        current = self.session.doc.request.get("provider")
        if self.session.doc.photo is None or current not in names:
            current = (
                s.get("last_provider")
                or s.get("default_provider")
                or next((d.name for d, ok in entries if ok and d.needs_key), "local")
            )
        if current not in names:
            current = "local"
        self.panel.set_providers(entries, current)
        if "provider" not in self.bindings:
            p = self.panel
            self.bindings["provider"] = bind(
                self.session,
                "provider",
                p.provider_name,
                p.set_provider,
                (p.provider_combo.currentIndexChanged,),
            )
            self.bindings["provider_options"] = bind(
                self.session,
                "provider_options",
                p.provider_options,
                p.set_provider_options,
                tuple(c.currentIndexChanged for c in p.option_combos.values()),
            )
        self.session.set_request(provider=current)
        self.bindings["provider_options"].write()
        self.panel._provider_switched()
        self._provider_changed()

    def _provider_changed(self) -> None:
        """Show the chosen provider's controls; a value it cannot take (a speed, a style
        type) becomes the nearest one it can, in the document."""
        request = self.session.doc.request
        name = request["provider"]
        desc = describe(name)
        self.panel._provider_switched()  # its option combos list this provider's choices
        fixes: dict = {}
        options = request["provider_options"]
        if set(options) - set(desc.option_names):  # another provider's options
            options = fixes["provider_options"] = {
                k: v for k, v in options.items() if k in desc.option_names
            } | {k: v for k, v in self.panel.provider_options().items()}
        for opt in desc.options:  # a value another provider took (CometAPI's ideogram-2)
            allowed = [v for v, _ in opt.choices]
            if allowed and options.get(opt.name) not in (None, *allowed):
                fixes["provider_options"] = dict(options) | {opt.name: opt.default}
        options = fixes.get("provider_options", options)
        label, caps = desc.resolve(options)
        self.panel.apply_capabilities(caps, has_key(name))
        if request["rendering_speed"] not in caps.speeds:
            fixes["rendering_speed"] = next(s for s in RenderingSpeed if s in caps.speeds)
        if request["style_type"] is not None and request["style_type"] not in caps.style_types:
            fixes["style_type"] = None
        if request.get("quality") is not None and not caps.quality:
            fixes["quality"] = None
        if fixes:
            self.session.set_request(**fixes)
        self.validate()

    # -- requests -----------------------------------------------------------------------------------

    def provider(self):
        """A provider for the document's choice (cheap: no network until a job runs)."""
        request = self.session.doc.request
        names = describe(request["provider"]).option_names
        options = {k: v for k, v in request["provider_options"].items() if k in names}
        return create_provider(request["provider"], self.session.client, **options)

    def capabilities(self):
        """What the document's provider, with its options (model), accepts."""
        r = self.session.doc.request
        return describe(r["provider"]).resolve(r["provider_options"])[1]

    def build_request(self, *, snapshot: bool = True) -> EditRequest | None:
        """The document's request (:meth:`EditSession.request`): what Generate sends."""
        return self.session.request(snapshot=snapshot)

    def validate(self) -> list[Problem]:
        """Check the panel's request with the core; show the problems at their controls."""
        if self.session.doc.photo is None:
            problems = [Problem("photo", "Open a photo first.")]
        else:
            name = self.session.doc.request["provider"]
            desc = describe(name)
            label, caps = desc.resolve(self.session.doc.request["provider_options"])
            try:
                check(self.build_request(snapshot=False), caps, label)
                problems = []
            except ValidationError as exc:
                problems = exc.problems
            if not problems and desc.needs_key and not has_key(name):
                problems = [
                    Problem("provider", f"No {label} API key is set; add it in Preferences.")
                ]
        self.panel.show_problems(problems)
        return problems

    # -- the price before paying --------------------------------------------------------------

    def _quote_key(self, request: EditRequest, caps) -> tuple:
        """What a quote depends on: provider and options, the priced fields, and for a
        request priced exactly (``dry_run``) the upload itself."""
        r = self.session.doc.request
        exact = bool(caps.quality)  # Ideogram 4.x prices the very request
        return (
            r["provider"],
            tuple(sorted(r["provider_options"].items())),
            request.rendering_speed,
            request.quality,
            request.num_images,
            len(request.references),
            self._prepared_key(request, caps) if exact else None,
        )

    def refresh_price(self) -> None:
        """Show what Generate would cost (debounced; quotes cached by request; the network
        and pixel work run as tasks, never on the GUI thread's time)."""
        label = self.panel.price_label
        request = self.build_request(snapshot=False)
        if request is None or self.session.doc.mask is None or not self.session.doc.mask.any():
            label.setText("")
            return
        caps = self.capabilities()
        key = self._quote_key(request, caps)
        self._wanted = key  # an answer still on its way for another request is not shown
        if key in self.quotes:
            self._show_quote(self.quotes[key])
            return
        if key in self._quoting:  # that very quote is on its way: it will be shown
            return
        self._quoting.add(key)
        # the request and provider as they are now: the quote is cached under this key
        self.window.spawn(self._quote(key, caps, self.build_request(), self.provider()))

    async def _quote(self, key: tuple, caps, request: EditRequest, provider) -> None:
        from ..core.pipeline.protocol import Quote

        label = self.panel.price_label
        try:
            prepared = None
            if caps.quality and caps.uploads and not request.prompt.strip():
                raise ValueError("the exact price is asked once there is a prompt")
            if caps.quality and caps.uploads:  # priced exactly: the upload is needed
                if key == self._wanted:
                    label.setText("pricing…")
                prepared = await asyncio.to_thread(
                    prepare,
                    request,
                    uploads=True,
                    answer_sizes=caps.answer_sizes,
                    max_region_pixels=caps.max_region_pixels,
                    upload_limit=caps.upload_limit,
                )
            quote = await provider.quote(request, prepared)
        except (InpaintError, ValueError) as exc:
            table = getattr(provider, "price_table", None)
            row = table(request) if table is not None else None
            quote = Quote(
                None if row is None else row[0] * request.num_images,
                False,
                f"{request.num_images} × {row[1]}" if row else "",
                f"no quote: {getattr(exc, 'message', str(exc))}",
            )
        else:
            self.quotes[key] = quote
        finally:
            self._quoting.discard(key)
        if key == self._wanted:
            self._show_quote(quote)

    def _show_quote(self, quote) -> None:
        label = self.panel.price_label
        label.setText(quote.text())
        label.setToolTip(
            f"{quote.text()}\n{'Exact price from the provider' if quote.exact else quote.source}"
        )

    def _prepared_key(self, request: EditRequest, caps) -> tuple:
        """What a prepared upload depends on: mask, working image, context, and the provider's
        kind and working resolution."""
        return (
            self.session.doc.mask_version,
            id(request.photo.rgb),
            request.context,
            caps.uploads,
            caps.answer_sizes,
            caps.max_region_pixels,
            caps.upload_limit,
        )

    def schedule_preview(self) -> None:
        s = self.session
        if s.doc.photo is None or s.doc.mask is None or not s.doc.mask.any():
            self.window.canvas.context_box = None
            self.panel.sent_label.setText("")
            self.window.canvas.update()
            return
        self._preview_gen += 1
        self.window.spawn(self._preview(self._preview_gen))

    async def _preview(self, gen: int) -> None:
        req = self.build_request()
        caps = self.capabilities()
        key = self._prepared_key(req, caps)

        def work():
            prepared = prepare(
                req,
                uploads=caps.uploads,
                answer_sizes=caps.answer_sizes,
                max_region_pixels=caps.max_region_pixels,
                upload_limit=caps.upload_limit,
            )
            mask_bytes = (
                len(encode_mask(prepared.upload_mask)) if prepared.upload_mask is not None else 0
            )
            return prepared, mask_bytes

        try:
            prepared, mask_bytes = await asyncio.to_thread(work)
        except InpaintError:
            return
        if gen != self._preview_gen:
            return
        self.preview_prepared = (key, prepared)  # Generate reuses it rather than encoding again
        r = prepared.region
        self.window.canvas.context_box = (r.x0, r.y0, r.x1, r.y1)
        self.window.canvas.update()
        lines = [f"Region {r.width}×{r.height} px ({r.mode.value})"]
        if prepared.encoded is not None:
            enc = prepared.encoded
            lines.append(
                f"image {enc.width}×{enc.height} {enc.format} {len(enc.data) / 1e6:.2f} MB"
            )
            lines.append(f"mask {enc.width}×{enc.height} PNG {mask_bytes / 1e3:.0f} kB")
            for ref in req.style_references + req.character_references + req.references:
                lines.append(f"{ref.name} {len(ref.data) / 1e6:.2f} MB")
            lines.append(f"{req.num_images} image{'s' if req.num_images > 1 else ''} billed")
        else:
            lines.append("nothing leaves this computer")
        self.panel.sent_label.setText("What will be sent: " + "; ".join(lines))

    # -- jobs -----------------------------------------------------------------------------------------

    def generate(
        self, *, request: EditRequest | None = None, draft_of: str | None = None
    ) -> Job | None:
        """Submit a job from the panel (or ``request``); returns at once."""
        from_panel = request is None
        if from_panel:
            if self.validate():
                return None
            request = self.build_request()
        if request is None:
            return None
        provider = self.provider()
        cached, prepared = self.preview_prepared, None
        # only a request built from the current mask may reuse the preview's upload
        if (
            from_panel
            and cached is not None
            and cached[0] == self._prepared_key(request, provider.capabilities)
        ):
            prepared = replace(cached[1], remote_tasks=[])  # one list of remote tasks per job
        try:
            return self.session.generate(request, provider, prepared=prepared, draft_of=draft_of)
        except InpaintError as exc:
            self.window.report_error(str(exc))
            return None

    def _generate_from_panel(self) -> None:
        """Generate, then give the canvas the keyboard: 1–8, Tab, [ ] and Enter act on the
        variants and never type into the prompt."""
        self.generate()
        self.window.canvas.setFocus(Qt.FocusReason.OtherFocusReason)

    def render_at_quality(self) -> Job | None:
        """Render final: resubmit the selected draft (TURBO/FLASH, or very_low/low quality)
        with its seed at QUALITY (or high); the final takes the draft's place when it arrives."""
        request = self.session.final_request()
        if request is None:
            self.window.report_error(
                "Render final applies to a selected draft (TURBO or FLASH speed, or very_low or "
                "low quality)."
            )
            return None
        return self.generate(request=request, draft_of=self.session.doc.selected)

    def replay(self, job_id: int) -> asyncio.Task | None:
        """Restore a job's mask and parameters into the editor (one undoable mask step)."""
        job = self.session.doc.jobs.get(job_id)
        if job is None or self.session.doc.mask is None:
            return None
        try:  # the job's mask, moved by any Expand since, or refused with a sentence
            mask = self.session.doc.job_mask(job_id)
        except InpaintError as exc:
            self.window.report_error(str(exc))
            return None
        opts = {
            k: getattr(job.provider, k)
            for k in job.provider.description.option_names
            if hasattr(job.provider, k)
        }
        # the job's whole request, its reference images included, becomes the document's
        values = {p.name: getattr(job.request, p.name) for p in params()}
        self.session.set_request(**values, provider=job.provider.name, provider_options=opts)
        return self.window.spawn(self.session.replace_mask(mask, "Replay mask"))

    def rerun(self, job_id: int) -> Job | None:
        """Submit a job again with its mask and parameters on the current image."""
        job = self.session.doc.jobs.get(job_id)
        if job is None or self.session.doc.photo is None:
            return None
        try:
            return self.session.rerun(job_id, job.provider)
        except InpaintError as exc:
            self.window.report_error(str(exc))
            return None

    def show_results(self, job_id: int) -> None:
        if self.session.show_job(job_id):
            self.window.layout_.bring("layersDock")
        else:
            self.window.report_error(
                "This job has no results in the Layers panel; the result journal keeps every file."
            )
