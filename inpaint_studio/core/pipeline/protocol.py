"""What passes between the job runner and a provider (Qt-free, network-free).

A provider module implements :class:`Provider`; the runner prepares a :class:`Prepared`
region for it, and it answers with :class:`RawVariant` items.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..pixels.imaging import EncodedImage
from .context import Region
from .request import Capabilities, EditRequest


@dataclass(frozen=True)
class RemoteTask:
    """Paid work running at a provider (a Magnific task, a 1min.ai record), kept from the
    moment it is created until its results are fetched, so a crash never loses it.

    Attributes:
        provider: the provider's name.
        task_id: its id at the provider (checked against the provider's id rules before it
            goes into a URL).
        seed: the seed it was created with, or None.
    """

    provider: str
    task_id: str
    seed: int | None = None

    #: the longest id kept (anything longer in a file is not a task id)
    MAX_ID = 200

    def to_json(self) -> dict:
        return {"provider": self.provider, "task_id": self.task_id, "seed": self.seed}

    @classmethod
    def from_json(cls, data: object) -> RemoteTask | None:
        """A record from a project, a recovery copy or the journal (untrusted); files of
        earlier versions named a 1min.ai record's id ``uuid``. None when it is no record."""
        if not isinstance(data, dict):
            return None
        provider, ident = data.get("provider"), data.get("task_id") or data.get("uuid")
        if not (isinstance(provider, str) and provider and isinstance(ident, str) and ident):
            return None
        if len(provider) > 64 or len(ident) > cls.MAX_ID:
            return None
        seed = data.get("seed")
        ok = isinstance(seed, int) and not isinstance(seed, bool)
        return cls(provider, ident, seed if ok else None)


@dataclass(frozen=True)
class Quote:
    """What a job would cost, known before anything billable is sent.

    Attributes:
        usd: US dollars for the whole job, or None when the provider publishes no price.
        exact: the provider priced this very request (Ideogram v2 ``dry_run``), not a table.
        detail: what it is made of, for people (``"4 × medium"``).
        source: where the figure comes from (``"Ideogram dry_run"``, a price table's source
            and date).
    """

    usd: float | None
    exact: bool = False
    detail: str = ""
    source: str = ""

    def to_json(self) -> dict:
        """``{"usd", "exact"}`` as ``--json`` outputs carry it (plus detail and source)."""
        return {
            "usd": None if self.usd is None else round(self.usd, 4),
            "exact": self.exact,
            "detail": self.detail,
            "source": self.source,
        }

    def text(self) -> str:
        """``"$0.24 · 4 × medium"``; ``"price unknown · …"`` without a price."""
        price = "price unknown" if self.usd is None else f"${self.usd:.2f}"
        approx = "" if self.exact or self.usd is None else "≈ "
        return f"{approx}{price}" + (f" · {self.detail}" if self.detail else "")


@dataclass(eq=False)
class Prepared:
    """What the runner prepared for a provider.

    Attributes:
        region: the part of the photo sent (:class:`~inpaint_studio.core.pipeline.context.Region`).
        image: ``(h, w, 3) uint8`` the region at send size.
        mask: ``(h, w) bool`` the mask at send size (True = edit).
        encoded: the image file to upload, or ``None`` for offline engines.
        upload_mask: ``(h', w') bool`` mask at the encoded file's geometry.
        remote_tasks: work running at the provider (:class:`RemoteTask`: Magnific tasks,
            1min.ai records), recorded by the provider as soon as it has them so polling can
            resume.
    """

    region: Region
    image: np.ndarray
    mask: np.ndarray
    encoded: EncodedImage | None = None
    upload_mask: np.ndarray | None = None
    remote_tasks: list[RemoteTask] = field(default_factory=list)
    #: sentences for the user from the provider (e.g. "1 of 3 tasks did not finish; …"),
    #: copied to the job's notes
    notes: list[str] = field(default_factory=list)
    #: set by the runner: ``await persist()`` writes the job's remote task ids durably; a
    #: provider calls it after each task it creates, before creating the next (paid) one
    persist: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    def describe(self) -> dict:
        """What was sent: region, and file size, scale, format and bytes."""
        out = self.region.describe()
        if self.encoded is not None:
            out["image"] = self.encoded.describe()
            out["scale"] = round(self.region.scale * self.encoded.scale, 4)
        return out


@dataclass(eq=False)
class RawVariant:
    """One variant as the provider returned it.

    Attributes:
        safe: False when the safety filter withheld it (then there is no image).
        url: result link to download at once (without credentials), or None.
        data: the file's bytes once downloaded (or produced locally).
        pixels: ``(h, w, 3) uint8`` decoded image.
        seed, prompt, resolution, style_type: as the provider reported them (``prompt`` is
            the MagicPrompt rewrite when that ran).
    """

    safe: bool = True
    url: str | None = None
    data: bytes | None = None
    pixels: np.ndarray | None = None
    seed: int | None = None
    prompt: str | None = None
    resolution: str | None = None
    style_type: str | None = None
    extra: dict = field(default_factory=dict)


class Stage:
    """Job stages, in order (strings so they serialise as they are)."""

    QUEUED = "queued"
    PREPARING = "preparing"
    UPLOADING = "uploading"
    WAITING = "waiting"
    DOWNLOADING = "downloading"
    COMPOSITING = "compositing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


Reporter = Callable[[str, int | None, int | None], None]
"""``report(stage, done, total)``: progress of a stage; ``done``/``total`` in bytes or items."""


@dataclass(frozen=True)
class ProviderOption:
    """A provider's own setting (not a request parameter): CometAPI's ``model``, the offline
    engine's ``method``, Magnific's ``webhook_url``.

    Attributes:
        name: keyword of the provider's constructor and key in project files.
        label: what the editor shows beside its control.
        cli: the ``edit`` command's flag (``"--model"``).
        choices: ``(value, label)`` pairs; empty for free text.
        default: the value when none is chosen.
        gui: whether the Generate panel shows it.
    """

    name: str
    label: str
    cli: str
    choices: tuple[tuple[str, str], ...] = ()
    default: str | None = None
    help: str = ""
    gui: bool = True


@dataclass(frozen=True)
class ProviderDescription:
    """What the program knows of a provider without building one (no settings-file or keyring
    I/O): its label, capabilities, key variables, default base URL and own options.

    Attributes:
        variants: ``(option, value, label, capabilities)`` for options that change what the
            provider accepts (CometAPI's model).
        can_resume: it can poll remote work of an earlier run (``resume``).
    """

    name: str
    label: str
    capabilities: Capabilities
    key_env: str = ""
    alt_key_envs: tuple[str, ...] = ()
    #: the keyring entry of its key ("" = its name); providers of one account share one
    key_account: str = ""
    default_base_url: str = ""
    #: the environment variable that overrides its base URL ("" = none)
    base_url_env: str = ""
    options: tuple[ProviderOption, ...] = ()
    variants: tuple[tuple[str, str, str, Capabilities], ...] = ()
    can_resume: bool = False
    #: the wire schema: request parameter name → field name on this provider's wire, for
    #: the parameters it sends as plain fields (files, palettes as parts… it builds itself)
    wire: Mapping[str, str] = field(default_factory=dict)
    #: what the provider list shows when its models differ ("Ideogram"; "" = :attr:`label`)
    menu_label: str = ""

    @property
    def needs_key(self) -> bool:
        return self.capabilities.needs_key

    @property
    def account(self) -> str:
        """The keyring entry its key is stored under."""
        return self.key_account or self.name

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)

    def resolve(self, options: dict | None = None) -> tuple[str, Capabilities]:
        """``(label, capabilities)`` with ``options`` chosen (unknown values: the defaults)."""
        options = options or {}
        for opt, value, label, caps in self.variants:
            chosen = options.get(opt) or next(
                (o.default for o in self.options if o.name == opt), None
            )
            if chosen == value:
                return label, caps
        return self.label, self.capabilities


class ProviderBase:
    """Defaults for the optional parts of :class:`Provider` (``notes``, ``resume``)."""

    description: ProviderDescription

    def notes(self, request: EditRequest) -> list[str]:
        """Things the user should know about this request (none by default)."""
        return []

    async def resume(self, remote_tasks: list[RemoteTask], report: Reporter) -> list[RawVariant]:
        """Poll remote work of an earlier run to its end (nothing is re-submitted).

        Raises:
            ProviderError: this provider has no remote work to resume.
        """
        from ..errors import ProviderError

        raise ProviderError(f"{self.description.label} has no running tasks to resume.")

    async def quote(self, request: EditRequest, prepared: Prepared | None) -> Quote:
        """What ``request`` would cost; nothing billable is sent. By default the provider's
        :attr:`price_table` (None: "unknown")."""
        return table_quote(self.description.label, self.price_table(request), request.num_images)

    def price_table(self, request: EditRequest) -> tuple[float, str, str] | None:
        """``(usd per image, what, source and date)`` for ``request``, or None when the
        provider publishes no price."""
        return None

    async def fetch(self, task_id: str) -> tuple[str, list[str]]:
        """One status look-up of a remote task by its id: ``(status, result links)``, status
        ``"COMPLETED"`` when the links are ready (``inpaint-studio resume``). Declared by
        :attr:`ProviderDescription.can_resume`.

        Raises:
            ProviderError: this provider has no remote tasks (or the task failed).
        """
        from ..errors import ProviderError

        raise ProviderError(f"{self.description.label} has no remote tasks to fetch.")

    async def check_key(self) -> tuple[bool | None, str]:
        """Check the key with one free authenticated request: ``(True, sentence)`` accepted,
        ``(False, sentence)`` refused or unreachable, ``(None, why no check exists)`` when the
        provider publishes no request that checks a key without running (and billing) an edit."""
        if not self.description.needs_key:
            return True, f"{self.description.label} needs no key."
        return None, (
            f"{self.description.label} publishes no free request that only checks a key, so "
            "none is sent; a wrong key is refused (unbilled) on the first edit."
        )


def table_quote(label: str, row: tuple[float, str, str] | None, images: int) -> Quote:
    """A :class:`Quote` from one price-table row for ``images`` images."""
    if row is None:
        return Quote(None, False, f"{images} × ?", f"{label} publishes no price")
    each, what, source = row
    return Quote(each * images, False, f"{images} × {what}", source)


class Provider(Protocol):
    """A way to reach an inpainting model.

    Attributes:
        name: identifier used on the command line and in settings (``"ideogram"``).
        label: what users see (``"Ideogram 3.0"``).
        capabilities: fields and values it accepts.
        mask_edit_is_black: its mask polarity.
    """

    name: str
    label: str
    capabilities: Capabilities
    description: ProviderDescription

    def notes(self, request: EditRequest) -> list[str]:
        """Things the user should know about this request (see :class:`ProviderBase`)."""
        ...

    async def resume(self, remote_tasks: list[RemoteTask], report: Reporter) -> list[RawVariant]:
        """Poll remote work of an earlier run (see :class:`ProviderBase`)."""
        ...

    async def quote(self, request: EditRequest, prepared: Prepared | None) -> Quote:
        """What ``request`` would cost, nothing billable sent (see :class:`ProviderBase`)."""
        ...

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
        """Run the edit; return one :class:`RawVariant` per image (download links may be unresolved).

        Raises:
            ProviderError: a typed failure with a user sentence.
        """
        ...


ProviderFactory = Callable[[str, Any, dict], "Provider | None"]
"""``make(name, client, options) -> Provider | None``: how the program builds a provider by
its name (injected into the session by whoever owns the provider registry — the editor, the
command line — so the core never imports ``providers``). None: no such provider."""


class RecordedProvider(ProviderBase):
    """The stand-in for a provider a history record names that this program cannot build (no
    registry injected, or an unknown name): the job keeps its name, label and options, so
    saving the document again loses nothing, but it cannot run again.

    Raises (``generate``):
        ProviderError: with a sentence naming the provider.
    """

    def __init__(self, name: str, label: str = "", options: dict | None = None) -> None:
        from .request import RenderingSpeed

        self.name = name
        self.label = label or name
        options = dict(options or {})
        self.capabilities = Capabilities(
            speeds=frozenset(RenderingSpeed), needs_key=False, uploads=False
        )
        self.description = ProviderDescription(
            name=name,
            label=self.label,
            capabilities=self.capabilities,
            options=tuple(ProviderOption(k, k, "", gui=False) for k in options),
        )
        for key, value in options.items():
            setattr(self, key, value)

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
        from ..errors import ProviderError

        raise ProviderError(
            f"{self.label} is not available in this program, so this job cannot run again."
        )
