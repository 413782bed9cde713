"""Opening, saving and recovering an :class:`~inpaint_studio.core.document.session.EditSession`.

- :func:`load` reads a photo or a ``.inpaint`` project completely (thread work) before
  anything of the session changes; :func:`install` then replaces the document in one step.
  A file that fails to load leaves the session, its unsaved work and its recovery copy as
  they were.
- The result journal rebuilds results only when restoring a crash's recovery copy, and only
  for jobs whose results that copy never received (:attr:`JobRecord.results_saved`): what the
  user discarded stays discarded.
- :func:`list_recoveries` lists every leftover recovery copy; each is restored
  (:func:`load_recovery`) or discarded on its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InpaintError
from ..events import DocumentReplaced, StatusChanged
from ..formats.project import JobRecord, ProjectState, VariantRecord, save_project
from ..formats.project_reader import read_project
from ..pipeline.composite import build_layer
from ..pipeline.context import Region
from ..pipeline.jobs import Job, Variant, reserve_ids
from ..pipeline.params import request_from_parameters, to_json
from ..pipeline.protocol import (
    Prepared,
    Provider,
    ProviderFactory,
    RecordedProvider,
    RemoteTask,
    Stage,
)
from ..pipeline.request import ContextMode
from ..pixels.imaging import Photo, load_image
from .model import (
    Document,
    VariantLayer,
    layer_name,
    request_from_json,
    request_to_json,
)

if TYPE_CHECKING:
    from .session import EditSession

#: keys of a recovery copy's manifest that describe the run, not the document
RUN_KEYS = ("session", "project_path", "photo_path")


@dataclass(eq=False)
class Loaded:
    """A document read completely, not yet installed in a session."""

    photo: Photo
    mask: np.ndarray
    photo_path: Path | None = None
    project_path: Path | None = None
    state: ProjectState | None = None
    recovery_folder: Path | None = None
    journal_variants: dict[int, tuple[list[Variant], dict]] = field(default_factory=dict)


async def load(path: str | Path | None, data: bytes | None = None) -> Loaded:
    """Read a photo (``path`` or ``data``) or a ``.inpaint`` project; changes nothing.

    Raises:
        InpaintError: unreadable, damaged, too large, or not a photo or project.
    """
    if path is not None and data is None and Path(path).suffix.lower() == ".inpaint":
        path = Path(path)
        state = await asyncio.to_thread(read_project, path)
        photo = await asyncio.to_thread(state.working_photo)
        state.extra = {k: v for k, v in state.extra.items() if k not in RUN_KEYS}
        return Loaded(photo, state.mask, path.with_name(state.original_name), path, state)
    if data is None and path is None:
        raise InpaintError("Nothing to open: give a file or image data.")
    photo = await asyncio.to_thread(
        load_image, data if data is not None else Path(path or ""), keep_source=True
    )
    return Loaded(
        photo, np.zeros(photo.rgb.shape[:2], bool), Path(path) if path is not None else None
    )


async def load_recovery(folder: Path, journal=None) -> Loaded:
    """Read a recovery folder, with the results the journal has that the copy never received.

    Raises:
        InpaintError: the copy cannot be read (it is left where it is).
    """
    from ..formats.journal import default_journal

    state = await asyncio.to_thread(read_project, folder)
    photo = await asyncio.to_thread(state.working_photo)
    run = {k: state.extra.get(k) for k in RUN_KEYS}
    state.extra = {k: v for k, v in state.extra.items() if k not in RUN_KEYS}

    def as_path(value) -> Path | None:
        return Path(value) if isinstance(value, str) and value else None

    loaded = Loaded(
        photo, state.mask, as_path(run["photo_path"]), as_path(run["project_path"]), state, folder
    )
    if run["session"]:
        journal = journal or default_journal()
        loaded.journal_variants = await asyncio.to_thread(
            _from_journal, journal, run["session"], state, photo
        )
    return loaded


def _from_journal(journal, session: str, state: ProjectState, photo: Photo) -> dict:
    """Variants of jobs the copy never received, composited again from their journal files."""
    out = {}
    variant_jobs = {v.job for v in state.variants}
    for rec in state.jobs:
        if rec.results_saved or rec.id in variant_jobs:
            continue
        found = journal.for_job(session, rec.id)
        if not found:
            continue
        meta0 = found[0][1]
        sent = meta0.get("sent") or {}
        region = _region(rec.region) if rec.region else None
        if region is None:
            try:
                x0, y0, x1, y1 = (int(v) for v in meta0["region"])
                sw, sh = (int(v) for v in sent.get("send_size", [x1 - x0, y1 - y0]))
                region = Region(x0, y0, x1, y1, sw, sh, ContextMode(sent.get("context", "full")))
            except (KeyError, TypeError, ValueError):
                continue
        mask = rec.mask if rec.mask is not None else state.mask
        if mask.shape != photo.rgb.shape[:2] or rec.offset != (0, 0):
            continue  # made on the canvas before an Expand: its results stay in the journal
        params = rec.parameters if isinstance(rec.parameters, dict) else {}
        feather, colour = int(params.get("feather", 4)), bool(params.get("colour_match", True))
        variants: list[Variant] = []
        for entry, meta in found:
            try:
                raw = entry.image.read_bytes()
                pixels = load_image(raw).rgb
            except (OSError, InpaintError):
                continue
            layer = build_layer(
                photo.rgb,
                mask,
                region,
                pixels,
                feather=feather,
                colour_match=colour,
                grain=params.get("grain", "auto") != "off",
                feather_mode=str(params.get("feather_mode", "inward")),
            )
            variants.append(
                Variant(
                    index=int(meta.get("index", len(variants))),
                    safe=True,
                    layer=layer,
                    raw=raw,
                    seed=meta.get("seed"),
                    prompt=meta.get("returned_prompt"),
                    resolution=meta.get("resolution"),
                    style_type=meta.get("style_type"),
                    extra={"journal": str(entry.image)},
                )
            )
        if variants:
            out[rec.id] = (variants, {"region": region, "sent": sent})
    return out


def _region(values: list) -> Region | None:
    try:
        x0, y0, x1, y1, sw, sh, mode = values
        return Region(int(x0), int(y0), int(x1), int(y1), int(sw), int(sh), ContextMode(mode))
    except (TypeError, ValueError):
        return None


def restored_job(
    rec: JobRecord, photo: Photo, client, providers: ProviderFactory | None = None
) -> Job:
    """A :class:`Job` from its record, its provider built by ``providers`` (the registry the
    program injected; nothing touches the network) or, when that cannot, a
    :class:`~inpaint_studio.core.pipeline.protocol.RecordedProvider` keeping its name and options."""
    mask = rec.mask if rec.mask is not None else np.zeros(photo.rgb.shape[:2], bool)
    request = _replace(
        request_from_parameters(rec.parameters, photo, mask),
        style_references=tuple(rec.style_references),
        character_references=tuple(rec.character_references),
    )
    options = dict(rec.options) if isinstance(rec.options, dict) else {}
    if rec.model:
        options.setdefault("model", rec.model)
    provider: Provider | None = None
    if providers is not None:
        try:
            provider = providers(rec.provider, client, options)
        except (ValueError, TypeError, KeyError):
            provider = None
    if provider is None:
        provider = RecordedProvider(rec.provider, rec.label, options)
    job = Job(request=request, provider=provider, id=rec.id)
    job.offset = rec.offset
    job.stage = (
        rec.stage if rec.stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED) else Stage.INTERRUPTED
    )
    job.created, job.finished, job.started = rec.created, rec.finished, rec.created
    job.notes = list(rec.notes)
    job.sent_info = rec.sent
    if rec.error:
        job.error = InpaintError(rec.error, details=rec.details)
    region = _region(rec.region) if rec.region else None
    if region is not None:
        job.prepared = Prepared(
            region,
            np.zeros((0, 0, 3), np.uint8),
            np.zeros((0, 0), bool),
            remote_tasks=[t for d in rec.remote_tasks if (t := RemoteTask.from_json(d))],
        )
    if job.stage == Stage.INTERRUPTED and not (job.prepared and job.prepared.remote_tasks):
        job.error = InpaintError(
            "This job was interrupted before the provider answered; re-run it to try again."
        )
    return job


async def install(session: EditSession, loaded: Loaded) -> None:
    """Make ``loaded`` the session's document (the old one's recovery copy goes), then write
    the new recovery copy; a restored recovery folder is deleted only after that."""
    state = loaded.state
    is_recovery = loaded.recovery_folder is not None
    # a photo keeps the request being edited; a project brings its own (references included)
    request = dict(session.doc.request)
    if state is not None:
        if state.panel:
            request = request_from_json(state.panel, state.references)
        else:  # written before projects kept a request: its references still replace ours
            request = request_from_json(request_to_json(request), state.references)
    doc = Document(request)
    doc.photo, doc.mask, doc.mask_alpha = loaded.photo, loaded.mask, None
    doc.photo_path, doc.project_path = loaded.photo_path, loaded.project_path
    doc.restored = is_recovery
    if state is not None:
        doc.accepted = list(state.accepted)
        doc.extra = dict(state.extra)
        doc.mask_alpha = state.mask_alpha
        for rec in state.jobs:
            job = restored_job(rec, loaded.photo, session.client, session.providers)
            doc.jobs[job.id] = job
            if rec.draft_of:
                doc.draft_of[job.id] = rec.draft_of
            if rec.results_saved:
                doc.results_saved.add(job.id)
        reserve_ids(max(doc.jobs, default=0))
        for vrec in state.variants:
            owner = doc.jobs.get(vrec.job)
            if owner is None:
                continue
            v = Variant(
                index=vrec.index,
                safe=vrec.safe,
                layer=vrec.layer,
                raw=vrec.raw,
                seed=vrec.seed,
                prompt=vrec.prompt,
                resolution=vrec.resolution,
                style_type=vrec.style_type,
                extra={"feather": vrec.feather, "colour_match": vrec.colour_match},
            )
            owner.variants.append(v)
            doc.results_saved.add(owner.id)
            doc.layers.append(
                VariantLayer(
                    vrec.id,
                    owner,
                    v,
                    vrec.name or layer_name(owner, v),
                    visible=vrec.visible,
                    opacity=vrec.opacity,
                    final_of=vrec.final_of,
                )
            )
        for job_id, (variants, info) in loaded.journal_variants.items():
            found = doc.jobs.get(job_id)
            if found is None:
                continue
            job = found
            if job.prepared is None:
                job.prepared = Prepared(
                    info["region"], np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0), bool)
                )
                job.sent_info = info["sent"]
            job.variants = variants
            job.stage, job.error = Stage.DONE, None
            new = [
                VariantLayer(f"j{job.id}-{v.index}", job, v, layer_name(job, v)) for v in variants
            ]
            doc.layers.extend(new)
            doc.results_saved.add(job.id)
            doc.latest = [lay.key for lay in new if lay.drawable]
        if doc.latest:  # results rebuilt from the journal: shown as a new job's are
            for lay in doc.layers:
                lay.visible = lay.visible and lay.key not in doc.latest
            first = doc.layer(doc.latest[0])
            assert first is not None
            first.visible = True
            doc.selected = first.key
        else:  # the view state the file kept: the selection and the layers keys 1–8 flip through
            drawable = {lay.key for lay in doc.layers if lay.drawable}
            doc.latest = [k for k in state.latest if k in drawable]
            chosen = doc.layer(state.selected)
            doc.selected = chosen.key if chosen is not None else None
    doc.unsaved = is_recovery
    session.swap_document(doc)
    session.emit(DocumentReplaced())
    session.emit(StatusChanged())
    if is_recovery:  # the restored copy goes only once the new one is on disk
        await session.save_recovery()
        assert loaded.recovery_folder is not None
        discard_recovery(loaded.recovery_folder)
        session.resume_remote()
    else:  # the file itself is on disk: the copy is written behind the first paint
        session.spawn(session.save_recovery())


def job_record(session: EditSession | None, job: Job) -> JobRecord:
    """A job as a project keeps it (``session`` None: a job run on its own, from the CLI)."""
    region = job.prepared.region if job.prepared else None
    err = job.error
    opts = {
        k: getattr(job.provider, k)
        for k in job.provider.description.option_names
        if hasattr(job.provider, k)
    }
    return JobRecord(
        id=job.id,
        provider=job.provider.name,
        label=job.provider.label,
        parameters=to_json(job.request),
        stage=job.stage,
        created=job.created,
        finished=job.finished,
        error=str(err) if err else None,
        details=getattr(err, "details", "") if err else "",
        sent=job.sent,
        region=[
            region.x0,
            region.y0,
            region.x1,
            region.y1,
            region.send_width,
            region.send_height,
            region.mode.value,
        ]
        if region
        else None,
        remote_tasks=[t.to_json() for t in job.prepared.remote_tasks] if job.prepared else [],
        draft_of=session.doc.draft_of.get(job.id) if session else None,
        notes=list(job.notes),
        model=opts.get("model"),
        options=opts,
        results_saved=session is None or job.id in session.doc.results_saved,
        mask=job.request.mask,
        style_references=list(job.request.style_references),
        character_references=list(job.request.character_references),
        offset=job.offset,
    )


def job_project(job: Job, original_name: str) -> ProjectState:
    """A project of one finished job (``inpaint-studio edit --project``): the photo's
    unchanged bytes, the mask, the job in history and its variants as layers, the first
    shown, the rest hidden, as the editor shows a new job's results."""

    photo = job.request.photo
    variants = [
        VariantRecord(
            id=f"j{job.id}-{v.index}",
            job=job.id,
            index=v.index,
            safe=v.safe,
            name=layer_name(job, v),
            seed=v.seed,
            prompt=v.prompt,
            resolution=v.resolution,
            style_type=v.style_type,
            visible=i == 0,
            opacity=1.0,
            feather=job.request.feather,
            colour_match=job.request.colour_match,
            layer=v.layer,
            raw=v.raw,
        )
        for i, v in enumerate(v for v in job.variants if v.layer is not None)
    ]
    assert photo.source is not None, (
        "a project keeps the photo's own bytes (load it with keep_source)"
    )
    return ProjectState(
        original=photo.source,
        original_name=original_name,
        mask=job.request.mask,
        jobs=[job_record(None, job)],
        variants=variants,
        panel=to_json(job.request) | {"provider": job.provider.name},
        mask_alpha=job.request.mask_alpha,
        selected=variants[0].id if variants else None,
        latest=[v.id for v in variants],
    )


def project_state(session: EditSession, *, for_recovery: bool = False) -> ProjectState | None:
    """The whole document as :class:`ProjectState` (cheap references; encoding happens when saved)."""
    doc = session.doc
    if doc.photo is None or doc.photo.source is None:
        return None
    variants = [
        VariantRecord(
            id=lay.key,
            job=lay.job.id,
            index=lay.variant.index,
            safe=lay.variant.safe,
            name=lay.name,
            seed=lay.variant.seed,
            prompt=lay.variant.prompt,
            resolution=lay.variant.resolution,
            style_type=lay.variant.style_type,
            visible=lay.visible,
            opacity=lay.opacity,
            feather=lay.feather,
            colour_match=lay.colour_match,
            final_of=lay.final_of,
            layer=lay.variant.layer,
            raw=lay.variant.raw,
        )
        for lay in doc.layers
    ]
    name = doc.photo_path.name if doc.photo_path else "pasted.png"
    extra = dict(doc.extra)
    if for_recovery:
        extra.update(
            session=session.session_id,
            project_path=str(doc.project_path) if doc.project_path else None,
            photo_path=str(doc.photo_path) if doc.photo_path else None,
        )
    mask, alpha = doc.mask_snapshot()
    return ProjectState(
        original=doc.photo.source,
        original_name=name,
        mask=mask,
        accepted=list(doc.accepted),
        mask_alpha=alpha,
        jobs=[job_record(session, j) for j in doc.jobs.values()],
        variants=variants,
        panel=request_to_json(doc.request),
        extra=extra,
        references=doc.references,
        selected=doc.selected,
        latest=list(doc.latest),
    )


async def save(session: EditSession, path: Path, progress=None) -> Path:
    if path.suffix != ".inpaint":
        path = path.with_suffix(".inpaint")
    state = project_state(session)
    if state is None:
        raise InpaintError("Open a photo before saving a project.")
    report = None
    if progress is not None:  # called on the saving thread; reported on the loop's
        loop = asyncio.get_running_loop()

        def report(done: int, total: int) -> None:
            loop.call_soon_threadsafe(progress, done, total)

    await asyncio.to_thread(save_project, path, state, report)
    session.mark_saved(path)
    return path


def discard_recovery(folder: Path) -> None:
    """Delete one recovery folder (and nothing else)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
