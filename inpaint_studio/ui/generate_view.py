"""The Generate dock's behaviour: the panel's values become the session's parameters, the
core validates them, "What will be sent" is prepared off the GUI thread, and Generate,
Render at QUALITY, Replay and Re-run submit jobs to the session."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer

from ..core.errors import InpaintError, Problem, ValidationError
from ..core.imaging import encode_mask
from ..core.jobs import Job, prepare
from ..core.params import check, to_json
from ..core.request import EditRequest
from ..core.session import Change, EditSession
from ..providers import create_provider, describe, descriptions, has_key
from .generate_panel import GeneratePanel


class GenerateController:
    """Binds a :class:`GeneratePanel` to an :class:`EditSession` (see the module text)."""

    def __init__(self, window, session: EditSession, panel: GeneratePanel) -> None:
        self.window, self.session, self.panel = window, session, panel
        self.preview_prepared = None  # (key, Prepared) of the last "what will be sent"
        self._preview_gen = 0
        self._applying = False
        self.preview_timer = QTimer(
            window, singleShot=True, interval=350, timeout=self.schedule_preview
        )
        panel.changed.connect(self._panel_changed)
        panel.provider_changed.connect(self._provider_changed)
        panel.generate_requested.connect(self._generate_from_panel)
        session.subscribe(self._on_change)

    # -- model ↔ panel ----------------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        if change.kind in (Change.DOCUMENT, Change.PARAMETERS) and change.message != "edited":
            if self.session.parameters:  # the document has a request: the panel shows it whole
                self._applying = True
                try:
                    self.panel.set_parameters(self.session.parameters)
                    self.panel.set_references(self.session.references)
                finally:
                    self._applying = False
            # a new photo has none yet: it takes what the panel shows, so what Generate sends
            # and what Save writes never differ (issue 18: the prompt typed was sent, not saved)
            self.session.set_parameters(self.panel.parameters(), quiet=True)
            self.session.set_references(self.panel.references(), quiet=True)
            if (
                change.kind == Change.PARAMETERS
            ):  # on a new document the window validates once the mask is shown
                self.validate()
                self.preview_timer.start()
        elif change.kind == Change.IMAGE:
            self.preview_timer.start()

    def _panel_changed(self) -> None:
        if self._applying:
            return
        self.session.set_references(self.panel.references())
        self.session.set_parameters(self.panel.parameters())
        self.validate()
        self.preview_timer.start()

    def refresh_providers(self) -> None:
        """List every provider, those with a key first, the offline engine always."""
        s = self.window.settings
        entries = [(d, has_key(d.name)) for d in descriptions()]
        entries.sort(key=lambda e: (not (e[1] and e[0].needs_key), e[0].name != "local"))
        current = (
            s.get("last_provider")
            or s.get("default_provider")
            or next((d.name for d, ok in entries if ok and d.needs_key), "local")
        )
        if current not in {d.name for d, _ in entries}:
            current = "local"
        self.panel.set_providers(entries, current)
        self.panel._provider_switched()

    def _provider_changed(self, name: str) -> None:
        label, caps = describe(name).resolve(self.panel.provider_options())
        self.panel.apply_capabilities(caps, has_key(name))
        self.validate()

    # -- requests -----------------------------------------------------------------------------------

    def provider(self):
        """A provider for the panel's choice (cheap: no network until a job runs)."""
        return create_provider(
            self.panel.provider_name(), self.session.client, **self.panel.provider_options()
        )

    def build_request(self, *, snapshot: bool = True) -> EditRequest | None:
        return self.session.request(self.panel.values(), snapshot=snapshot)

    def validate(self) -> list[Problem]:
        """Check the panel's request with the core; show the problems at their controls."""
        if self.session.photo is None:
            problems = [Problem("photo", "Open a photo first.")]
        else:
            name = self.panel.provider_name()
            desc = describe(name)
            label, caps = desc.resolve(self.panel.provider_options())
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

    def _prepared_key(self, request: EditRequest, caps) -> tuple:
        """What a prepared upload depends on: mask, working image, context, and the provider's
        kind and working resolution."""
        return (
            self.session.mask_version,
            id(request.photo.rgb),
            request.context,
            caps.uploads,
            caps.answer_sizes,
        )

    def schedule_preview(self) -> None:
        s = self.session
        if s.photo is None or s.mask is None or not s.mask.any():
            self.window.canvas.context_box = None
            self.panel.sent_label.setText("")
            self.window.canvas.update()
            return
        self._preview_gen += 1
        self.window.spawn(self._preview(self._preview_gen))

    async def _preview(self, gen: int) -> None:
        req = self.build_request()
        caps = describe(self.panel.provider_name()).capabilities
        uploads = caps.uploads
        key = self._prepared_key(req, caps)

        def work():
            prepared = prepare(req, uploads=uploads, answer_sizes=caps.answer_sizes)
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
            for ref in req.style_references + req.character_references:
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
        """Resubmit the selected TURBO/FLASH variant at QUALITY with its seed; the final
        takes the draft's place when it arrives."""
        request = self.session.final_request()
        if request is None:
            self.window.report_error(
                "Render at QUALITY applies to a selected TURBO or FLASH draft."
            )
            return None
        return self.generate(request=request, draft_of=self.session.selected)

    def replay(self, job_id: int) -> asyncio.Task | None:
        """Restore a job's mask and parameters into the editor (one undoable mask step)."""
        job = self.session.jobs.get(job_id)
        if job is None or self.session.mask is None:
            return None
        try:  # the job's mask, moved by any Expand since, or refused with a sentence
            mask = self.session.job_mask(job_id)
        except InpaintError as exc:
            self.window.report_error(str(exc))
            return None
        opts = {
            k: getattr(job.provider, k)
            for k in job.provider.description.option_names
            if hasattr(job.provider, k)
        }
        self.session.set_references(  # Replay restores the job's reference images too
            {
                "style_references": job.request.style_references,
                "character_references": job.request.character_references,
            },
            quiet=True,
        )
        self.session.set_parameters(
            to_json(job.request) | {"provider": job.provider.name, "provider_options": opts},
            announce=True,
        )
        return self.window.spawn(self.session.replace_mask(mask, "Replay mask"))

    def rerun(self, job_id: int) -> Job | None:
        """Submit a job again with its mask and parameters on the current image."""
        job = self.session.jobs.get(job_id)
        if job is None or self.session.photo is None:
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
