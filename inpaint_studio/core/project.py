"""Project files (``.inpaint``) and the recovery store: nothing a user made is lost.

A project is a zip (entries stored, not recompressed) with this layout; the recovery store
is the same layout as a plain folder, written piece by piece:

    manifest.json             format version, photo name, accepted edits, panel, jobs, variants
    original.<ext>            the photo's file, byte for byte
    mask.png                  the current mask, 1-bit, black = edit
    accepted/<n>.png          each accepted edit: the box of the working image after it
    jobs/<id>-mask.png        the mask each job was sent with
    layers/<variant>.png      each variant's layer (RGBA of the mask's bounding box), lossless
    raw/<variant>.<ext>       each variant's image exactly as the provider returned it

``manifest.json`` carries ``"format"`` (:data:`FORMAT`); a newer one is refused with a clear
message, and keys this version does not know are kept when the project is saved again.
Saving is atomic (temporary file, flush, fsync, rename): a failure never destroys the last
good save.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .composite import Layer
from .errors import ImageLoadError, InvalidInput
from .imaging import Photo, ReferenceImage, encode_mask, load_image, load_mask
from .output import atomic_write, encode_png, file_extension

FORMAT = 1
KNOWN_KEYS = {"format", "app", "saved", "photo", "mask", "accepted", "panel", "jobs", "variants"}


class ProjectError(InvalidInput):
    """A project or recovery file cannot be read (damaged, truncated, or from a newer version)."""


@dataclass(eq=False)
class JobRecord:
    """A job as history keeps it (JSON-able except ``mask``, ``(H, W) bool`` or None)."""

    id: int
    provider: str
    label: str
    parameters: dict
    stage: str
    created: float
    finished: float | None = None
    error: str | None = None
    details: str = ""
    sent: dict = field(default_factory=dict)
    region: list | None = None  # [x0, y0, x1, y1, send_w, send_h, mode]
    remote_tasks: list = field(default_factory=list)
    draft_of: str | None = None
    notes: list = field(default_factory=list)
    model: str | None = None
    options: dict = field(default_factory=dict)  # the provider's own options (model, method…)
    results_saved: bool = False  # its results reached this copy (so never rebuilt from the journal)
    mask: np.ndarray | None = None
    style_references: list = field(default_factory=list)  # ReferenceImage
    character_references: list = field(default_factory=list)

    def reference_files(self) -> list[tuple[str, str, object]]:
        """``(kind, file name in the project, ReferenceImage)`` for each reference image."""
        out = []
        for kind, refs in (("style", self.style_references), ("character", self.character_references)):
            for i, ref in enumerate(refs):
                out.append((kind, f"references/{self.id}-{kind}-{i}.{ref.format.lower()}", ref))
        return out

    def to_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("mask", "style_references", "character_references")}
        d["mask"] = f"jobs/{self.id}-mask.png" if self.mask is not None else None
        d["references"] = [{"kind": kind, "name": ref.name, "file": name, "format": ref.format}
                           for kind, name, ref in self.reference_files()]
        return d


@dataclass(eq=False)
class VariantRecord:
    """A variant layer with everything needed to show it and re-blend it."""

    id: str
    job: int
    index: int
    safe: bool
    name: str = ""
    seed: int | None = None
    prompt: str | None = None
    resolution: str | None = None
    style_type: str | None = None
    visible: bool = True
    opacity: float = 1.0
    feather: int = 4
    colour_match: bool = True
    final_of: str | None = None
    layer: Layer | None = None
    raw: bytes | None = None

    def to_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("layer", "raw")}
        d["layer"] = {"file": f"layers/{self.id}.png", "x0": self.layer.x0, "y0": self.layer.y0} if self.layer else None
        d["raw"] = f"raw/{self.id}.{file_extension(self.raw)}" if self.raw else None
        return d


@dataclass(eq=False)
class ProjectState:
    """Everything in a project: photo bytes, mask, accepted edits, history, variants, panel."""

    original: bytes
    original_name: str
    mask: np.ndarray
    accepted: list[tuple[tuple[int, int, int, int], np.ndarray]] = field(default_factory=list)
    jobs: list[JobRecord] = field(default_factory=list)
    variants: list[VariantRecord] = field(default_factory=list)
    panel: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def working_photo(self) -> Photo:
        """Decode the original and replay the accepted edits (pixel work: run in a thread)."""
        photo = load_image(self.original, keep_source=True, name=self.original_name)
        if self.accepted:
            rgb = photo.rgb.copy()
            for (x0, y0, x1, y1), patch in self.accepted:
                rgb[y0:y1, x0:x1] = patch
            photo.rgb = rgb
        return photo

    def manifest(self) -> dict:
        from .. import __version__

        ext = Path(self.original_name).suffix.lower() or ".img"
        m = dict(self.extra)
        m.update({
            "format": FORMAT,
            "app": f"Inpaint Studio {__version__}",
            "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "photo": {"name": self.original_name, "file": f"original{ext}"},
            "mask": "mask.png",
            "accepted": [{"box": list(box), "file": f"accepted/{i}.png"} for i, (box, _) in enumerate(self.accepted)],
            "panel": self.panel,
            "jobs": [j.to_json() for j in self.jobs],
            "variants": [v.to_json() for v in self.variants],
        })
        return m


def _rgba_png(layer: Layer) -> bytes:
    return encode_png(np.ascontiguousarray(layer.rgb), alpha=np.ascontiguousarray(layer.alpha))


def files_of(state: ProjectState, manifest: dict, *, skip=lambda name: False):
    """Yield ``(name, bytes)`` for every file of the layout (``skip`` avoids rewriting)."""
    if not skip(manifest["photo"]["file"]):
        yield manifest["photo"]["file"], state.original
    yield "mask.png", encode_mask(state.mask, edit_is_black=True)
    for entry, (_, patch) in zip(manifest["accepted"], state.accepted, strict=True):
        if not skip(entry["file"]):
            yield entry["file"], encode_png(patch)
    for j in state.jobs:
        name = f"jobs/{j.id}-mask.png"
        if j.mask is not None and not skip(name):
            yield name, encode_mask(j.mask, edit_is_black=True)
        for _, ref_name, ref in j.reference_files():
            if not skip(ref_name):
                yield ref_name, ref.data
    for v in state.variants:
        d = v.to_json()
        if v.layer is not None and not skip(d["layer"]["file"]):
            yield d["layer"]["file"], _rgba_png(v.layer)
        if v.raw is not None and not skip(d["raw"]):
            yield d["raw"], v.raw


def save_project(path: str | Path, state: ProjectState) -> None:
    """Write ``state`` to a ``.inpaint`` file atomically (pixel and file work: use a thread).

    Raises:
        OSError: the file cannot be written (the previous file is left intact).
    """
    path = Path(path)
    manifest = state.manifest()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False))
        for name, data in files_of(state, manifest):
            z.writestr(name, data)
    atomic_write(path, buf.getvalue())


class RecoveryStore:
    """The recovery copy of the working state: the project layout in a folder.

    Files that never change (original, accepted edits, job masks, layers, raw results) are
    written once; the mask and manifest are rewritten on change, the manifest last, each
    atomically. A ``kill -9`` at any moment leaves the last complete manifest pointing at
    files that exist.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "pid").write_text(str(os.getpid()))

    def save(self, state: ProjectState) -> None:
        manifest = state.manifest()
        for name, data in files_of(state, manifest, skip=lambda n: (self.folder / n).exists() and n != "mask.png"):
            target = self.folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, data)
        atomic_write(self.folder / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False).encode())

    def discard(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def recovery_root() -> Path:
    from .settings import data_dir

    root = data_dir() / "recovery"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (never signals it: on Windows ``os.kill`` would end it)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:  # Linux: a zombie has ended
            if f.read(512).rsplit(b")", 1)[-1].split()[0] == b"Z":
                return False
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def orphaned_recoveries(root: Path | None = None) -> list[Path]:
    """Recovery folders left by sessions that are no longer running, newest first."""
    root = root or recovery_root()
    out = []
    for folder in root.iterdir():
        if not (folder / "manifest.json").exists():
            continue
        try:
            pid = int((folder / "pid").read_text())
        except (OSError, ValueError):
            pid = -1
        if pid < 0 or not _alive(pid):
            out.append(folder)
    return sorted(out, key=lambda p: (p / "manifest.json").stat().st_mtime, reverse=True)


# --- reading ------------------------------------------------------------------------------


class _Source:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = f"“{path.name}”"
        self.zip: zipfile.ZipFile | None = None
        if path.is_dir():
            return
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise ProjectError(f"{self.label} does not exist.") from None
        except (zipfile.BadZipFile, OSError, EOFError):
            raise ProjectError(f"{self.label} is damaged or truncated and cannot be opened; nothing was changed.") from None

    def read(self, name: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(name)
            return (self.path / name).read_bytes()
        except (KeyError, OSError, zipfile.BadZipFile, EOFError, ValueError, zlib_error()):
            raise ProjectError(f"{self.label} is damaged: “{name}” is missing or unreadable; nothing was changed.") from None


def zlib_error():
    import zlib

    return zlib.error


def read_project(path: str | Path) -> ProjectState:
    """Read a ``.inpaint`` file or a recovery folder (pixel work: run in a thread).

    Raises:
        ProjectError: damaged, truncated, not a project, or saved by a newer version.
    """
    src = _Source(Path(path))
    try:
        manifest = json.loads(src.read("manifest.json"))
        if not isinstance(manifest, dict):
            raise ValueError
    except ValueError:
        raise ProjectError(f"{src.label} is not an Inpaint Studio project or is damaged.") from None
    version = manifest.get("format")
    if not isinstance(version, int):
        raise ProjectError(f"{src.label} is not an Inpaint Studio project or is damaged.")
    if version > FORMAT:
        raise ProjectError(
            f"{src.label} was saved by a newer Inpaint Studio (project format {version}); update the program to open it."
        )
    try:
        original = src.read(manifest["photo"]["file"])
        name = manifest["photo"].get("name", manifest["photo"]["file"])
        photo = load_image(original, name=name)
        size = photo.size
        mask = load_mask(src.read(manifest.get("mask", "mask.png")), size)
        accepted = []
        for entry in manifest.get("accepted", []):
            x0, y0, x1, y1 = entry["box"]
            patch = np.asarray(Image.open(io.BytesIO(src.read(entry["file"]))).convert("RGB"))
            if patch.shape[:2] != (y1 - y0, x1 - x0):
                raise ValueError("accepted patch size")
            accepted.append(((x0, y0, x1, y1), patch))
        jobs = []
        for j in manifest.get("jobs", []):
            jm = j.get("mask")
            rec = JobRecord(**{k: v for k, v in j.items() if k in JobRecord.__dataclass_fields__
                               and k not in ("mask", "style_references", "character_references")})
            rec.mask = load_mask(src.read(jm), size) if jm else None
            for ref in j.get("references", []):
                image = ReferenceImage(ref["name"], src.read(ref["file"]), ref["format"])
                (rec.character_references if ref["kind"] == "character" else rec.style_references).append(image)
            jobs.append(rec)
        variants = []
        for v in manifest.get("variants", []):
            rec = VariantRecord(**{k: val for k, val in v.items() if k in VariantRecord.__dataclass_fields__ and k not in ("layer", "raw")})
            if v.get("layer"):
                rgba = np.array(Image.open(io.BytesIO(src.read(v["layer"]["file"]))).convert("RGBA"))
                rec.layer = Layer.from_rgba(v["layer"]["x0"], v["layer"]["y0"], rgba)
            if v.get("raw"):
                rec.raw = src.read(v["raw"])
            variants.append(rec)
    except ProjectError:
        raise
    except (KeyError, TypeError, ValueError, ImageLoadError, OSError, Image.DecompressionBombError) as exc:
        raise ProjectError(f"{src.label} is damaged and cannot be opened; nothing was changed ({exc}).") from None
    extra = {k: v for k, v in manifest.items() if k not in KNOWN_KEYS}
    return ProjectState(original, name, mask, accepted, jobs, variants, manifest.get("panel", {}), extra)
