"""Loopback HTTP servers implementing each provider's contract (shared/docs/providers.md).

Real sockets on 127.0.0.1, stdlib only. Each checks what the real service would refuse
(missing fields, a mask of another size or not two-level, unknown enum values, files over
10 MB, fields the endpoint does not take, rule conflicts), answers with the provider's
shapes and errors, and serves results from short-lived links that refuse credentials.

Behaviour switches, per test:
- ``script``: a list of ``(status, json_body, headers)`` answered first, one per API request;
- ``hang_after_upload``: read the body, then sleep that many seconds before answering;
- prompts containing ``forbidden`` get a safety refusal; ``unsafe-first`` withholds the
  first variant; ``unsafe-all`` withholds all; ``expired-link`` makes result links 404;
- Ideogram: ``inpaint_gone`` makes ``/v1/ideogram-v3/inpaint`` answer 404;
- Ideogram v2 Precise Edit (:class:`IdeogramServer`, "Ideogram API v2"): ``?dry_run=true``
  prices; ``async=true`` keeps a generation polled at ``/v2/generations/{id}``
  (``pending_polls`` look-ups answer pending first; ``fail-generation`` in a prompt fails it);
  ``v46_available`` serves the unconfirmed 4.6 route (404 otherwise);
- Magnific: ``polls_before_done`` status look-ups answer IN_PROGRESS first; ``fail-task`` in a
  prompt makes the task FAILED;
- 1min.ai: ``processing_polls`` makes the job PROCESSING (polled) that many times;
  ``temporary_url_as_string`` answers one URL as a string instead of a list.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

LIMIT = 10 * 1024 * 1024
SPEEDS = {"FLASH", "TURBO", "DEFAULT", "QUALITY", "BALANCED"}
STYLE_TYPES = {"AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION"}
MAGIC = {"AUTO", "ON", "OFF"}
RESOLUTIONS = [
    (1024, 1024),
    (1152, 896),
    (896, 1152),
    (1216, 832),
    (832, 1216),
    (1344, 768),
    (768, 1344),
    (1536, 640),
    (640, 1536),
]


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    parts: list[Part] = field(default_factory=list)

    def get(self, name: str) -> list[Part]:
        return [p for p in self.parts if p.name == name]

    def value(self, name: str) -> str | None:
        got = self.get(name)
        return got[0].text if got else None


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not msg.is_multipart():
        raise ValueError("not multipart")
    parts = []
    for sub in msg.iter_parts():
        disp = sub.get("Content-Disposition", "")
        name = re.search(r'name="([^"]*)"', disp)
        fname = re.search(r'filename="([^"]*)"', disp)
        parts.append(
            Part(
                name.group(1) if name else "",
                fname.group(1) if fname else None,
                sub.get_content_type() if sub.get("Content-Type") else None,
                sub.get_payload(decode=True) or b"",
            )
        )
    return parts


def snap(w: int, h: int) -> tuple[int, int]:
    aspect = w / h
    return min(RESOLUTIONS, key=lambda r: abs(np.log(r[0] / r[1]) - np.log(aspect)))


def render_results(
    image_bytes: bytes, edit: np.ndarray, seed: int, n: int, drift=(0, 0, 0)
) -> tuple[list[np.ndarray], tuple[int, int]]:
    """What the model "paints": the image at an Ideogram size, the edit area a seed colour."""
    img = Image.open(io.BytesIO(image_bytes)).convert("RGB")
    rw, rh = snap(*img.size)
    base = np.asarray(img.resize((rw, rh), Image.Resampling.BICUBIC)).astype(np.int16)
    base = np.clip(base + np.array(drift, dtype=np.int16), 0, 255).astype(np.uint8)
    edit_small = np.asarray(Image.fromarray(edit).resize((rw, rh), Image.Resampling.NEAREST))
    outs = []
    for i in range(n):
        out = base.copy()
        out[edit_small] = np.random.default_rng(seed + i).integers(0, 256, 3, dtype=np.uint8)
        outs.append(out)
    return outs, (rw, rh)


def check_image_and_mask(image: bytes, mask: bytes) -> tuple[str | None, np.ndarray | None]:
    """``(error, edit area)``: the mask must match the image and be two-level, black = edit."""
    try:
        img = Image.open(io.BytesIO(image))
        img.load()
        if img.format not in ("JPEG", "PNG", "WEBP"):
            return "image must be JPEG, PNG or WebP", None
        mask_img = Image.open(io.BytesIO(mask))
        mask_img.load()
    except Exception:
        return "image or mask is not a valid image", None
    if mask_img.size != img.size:
        return "mask must have the same dimensions as the image", None
    m = np.asarray(mask_img.convert("L"))
    if not set(np.unique(m).tolist()) <= {0, 255}:
        return "mask must be black and white only", None
    edit = m == 0
    if not edit.any():
        return "mask has no black (edit) area", None
    return None, edit


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 with a result host that refuses credentials.

    Subclasses implement ``api(rec, body) -> (status, json, headers)``.
    """

    credential_headers = ("api-key", "authorization", "x-magnific-api-key", "x-freepik-api-key")

    def __init__(self, api_key: str = "test-key-0123456789") -> None:
        self.api_key = api_key
        self.script: list[tuple[int, dict, dict]] = []
        self.hang_after_upload = 0.0
        self.answer_delay = 0.0  # seconds a normal answer takes in all (a slow but honest provider)
        self.requests: list[Received] = []
        self.downloads: list[Received] = []
        self.results: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None
        #: ``mutate(method, path, answer) -> answer``: turns each API answer (JSON) into an odd
        #: one after it was made honestly (answer fuzzing; result links stay real)
        self.mutate = None

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def store_result(self, pixels: np.ndarray, expired: bool = False) -> str:
        token = uuid.uuid4().hex
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "PNG")
        if not expired:
            with self.lock:
                self.results[token] = buf.getvalue()
        return f"{self.base_url}/results/{token}.png"

    def api(self, rec: Received, body: bytes) -> tuple[int, dict, dict]:
        raise NotImplementedError

    def admit(self, rec: Received, body: bytes) -> tuple[int, dict, dict] | None:
        """Before a POST is worked on: an answer that refuses it now (429), or None."""
        return None

    def release(self, rec: Received) -> None:
        """After a POST admitted by :meth:`admit` was answered."""

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(
                self,
                status: int,
                body: dict | bytes,
                headers: dict | None = None,
                ctype: str = "application/json",
            ) -> None:
                data = (
                    body if isinstance(body, bytes) else json.dumps(body, allow_nan=True).encode()
                )
                self.send_response(status)
                self.send_header(
                    "Content-Type", (headers or {}).pop("Content-Type", ctype) if headers else ctype
                )
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _record(self, method: str) -> Received:
                rec = Received(method, self.path, {k.lower(): v for k, v in self.headers.items()})
                with server.lock:
                    server.requests.append(rec)
                return rec

            def do_GET(self) -> None:
                rec = self._record("GET")
                go = re.match(r"^/go/([0-9a-f]+)\.png$", self.path)
                if go:  # a result host that redirects to its storage
                    return self._send(
                        302, b"", {"Location": f"/results/{go.group(1)}.png"}, ctype="text/plain"
                    )
                m = re.match(r"^/results/([0-9a-f]+)\.png$", self.path)
                if m:
                    with server.lock:
                        server.downloads.append(rec)
                    if any(h in rec.headers for h in server.credential_headers):
                        return self._send(
                            400, {"error": "credentials must not be sent to the result host"}
                        )
                    data = server.results.get(m.group(1))
                    if data is None:
                        return self._send(404, {"error": "This link has expired"})
                    return self._send(200, data, ctype="image/png")
                status, answer, headers = server.api(rec, b"")
                if server.mutate is not None and status == 200:
                    answer = server.mutate("GET", self.path, answer)
                self._send(status, answer, dict(headers))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                rec = self._record("POST")
                if server.hang_after_upload:
                    time.sleep(server.hang_after_upload)
                    try:
                        self._send(200, {"late": True})
                    except ConnectionError:  # the client gave up waiting: what the test wants
                        pass
                    return
                refused = server.admit(rec, body)
                if refused is not None:
                    return self._send(refused[0], refused[1], dict(refused[2]))
                try:
                    started = time.monotonic()
                    with server.lock:
                        scripted = server.script.pop(0) if server.script else None
                    if scripted:
                        status, answer, headers = scripted
                    else:
                        status, answer, headers = server.api(rec, body)
                        if server.mutate is not None and status == 200:
                            answer = server.mutate("POST", self.path, answer)
                    if (
                        server.answer_delay
                    ):  # the whole request takes this long, its own work included
                        time.sleep(max(0.0, server.answer_delay - (time.monotonic() - started)))
                    self._send(status, answer, dict(headers))
                finally:
                    server.release(rec)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()


class IdeogramServer(LoopbackServer):
    """Ideogram 3.0 (``/v1/ideogram-v3/edit`` and ``/inpaint``) and 2.0 (``/edit``).

    ``auth="bearer"`` and ``prefix="/ideogram"`` make it CometAPI's gateway.
    """

    def __init__(
        self,
        api_key: str = "test-key-0123456789",
        presets: tuple[str, ...] = (),
        *,
        auth: str = "api-key",
        prefix: str = "",
    ) -> None:
        super().__init__(api_key)
        self.presets = set(presets)
        self.auth = auth
        self.prefix = prefix
        self.inpaint_gone = False
        self.colour_drift = (0, 0, 0)
        # Precise Edit (v2)
        self.v46_available = False
        self.pending_polls = 0
        self.generations: dict[str, dict] = {}
        self.generation_polls = 0
        self.dry_runs = 0
        self.edit_requests: list[Received] = []
        # Ideogram counts images in flight per organisation (default 10): a request whose
        # images would pass the limit gets 429 inflight_limit (not billed)
        self.inflight_limit: int | None = None
        self.inflight = 0
        self.max_inflight = 0
        self.refused_inflight = 0
        self._held: dict[int, int] = {}

    def admit(self, rec: Received, body: bytes) -> tuple[int, dict, dict] | None:
        if self.inflight_limit is None:
            return None
        try:
            n = int(
                next(
                    (
                        p.text
                        for p in parse_multipart(rec.headers.get("content-type", ""), body)
                        if p.name == "num_images"
                    ),
                    "1",
                )
            )
        except ValueError:
            n = 1
        with self.lock:
            if self.inflight + n > self.inflight_limit:
                self.refused_inflight += 1
                return (
                    429,
                    {
                        "error": "Too many images in flight",
                        "reject_reason": "inflight_limit",
                        "max_inflight_requests": self.inflight_limit,
                    },
                    {"Retry-After": "1"},
                )
            self.inflight += n
            self.max_inflight = max(self.max_inflight, self.inflight)
            self._held[id(rec)] = n
        return None

    def release(self, rec: Received) -> None:
        with self.lock:
            self.inflight -= self._held.pop(id(rec), 0)

    def authorised(self, rec: Received) -> bool:
        if self.auth == "bearer":
            # CometAPI documents "Authorization" for the legacy route and "Bearer" elsewhere
            return rec.headers.get("authorization") in (f"Bearer {self.api_key}", self.api_key)
        return rec.headers.get("api-key") == self.api_key

    def api(self, rec: Received, body: bytes) -> tuple[int, dict, dict]:
        v3 = (self.prefix + "/v1/ideogram-v3/edit", self.prefix + "/v1/ideogram-v3/inpaint")
        route = rec.path.split("?", 1)[0]
        if route.startswith("/v2/") and not self.prefix:
            return self.api_v2(rec, body, route)
        if rec.method != "POST" or rec.path not in (*v3, "/edit"):
            return 404, {"error": "Not found"}, {}
        if rec.path == v3[1] and self.inpaint_gone:
            return 404, {"error": "Not found"}, {}
        refused = self.accept_multipart(rec, body)
        if refused is not None:
            return refused
        status, answer = self.edit_v2(rec) if rec.path == "/edit" else self.edit(rec)
        return status, answer, {}

    def accept_multipart(self, rec: Received, body: bytes) -> tuple[int, dict, dict] | None:
        """Check the key and read the parts of an edit request: None, or the refusal."""
        if not self.authorised(rec):
            return 401, {"error": "Invalid API key"}, {}
        try:
            rec.parts = parse_multipart(rec.headers.get("content-type", ""), body)
        except ValueError:
            return 400, {"error": "Expected multipart/form-data"}, {}
        with self.lock:
            self.edit_requests.append(rec)
        return None

    # -- Ideogram API v2: Precise Edit --------------------------------------------------------

    def api_v2(self, rec: Received, body: bytes, route: str) -> tuple[int, dict, dict]:
        gen = re.fullmatch(r"/v2/generations/([A-Za-z0-9_-]+)", route)
        models = {"/v2/image/precise-edit/ideogram-4-5"}
        if self.v46_available:
            models.add("/v2/image/precise-edit/ideogram-4-6")
        if not ((rec.method == "GET" and gen) or (rec.method == "POST" and route in models)):
            return 404, {"error": "Not found"}, {}
        if gen:
            if not self.authorised(rec):
                return 401, {"error": "Invalid API key"}, {}
            return self.generation(gen.group(1))
        refused = self.accept_multipart(rec, body)
        if refused is not None:
            return refused
        dry = "dry_run=true" in rec.path.split("?", 1)[-1] if "?" in rec.path else False
        status, answer = self.precise_edit(rec, dry)
        return status, answer, {}

    def generation(self, ident: str) -> tuple[int, dict, dict]:
        with self.lock:
            self.generation_polls += 1
            g = self.generations.get(ident)
            if g is None:
                return 404, {"error": "Generation not found"}, {}
            g["polls"] += 1
            if g["polls"] <= self.pending_polls:
                return (
                    200,
                    {"generation_id": ident, "status": "pending", "created": g["created"]},
                    {},
                )
        out = {k: v for k, v in g["answer"].items()}
        return 200, out, {}

    def precise_edit(self, rec: Received, dry: bool) -> tuple[int, dict]:
        """Precise Edit's rules (shared/docs/providers.md, "Ideogram API v2")."""

        def bad(msg: str) -> tuple[int, dict]:
            return 400, {"error": msg}

        allowed = {
            "prompt", "image", "mask", "reference_images", "context_window", "quality", "seed",
            "num_images", "async", "webhook_url", "private", "enable_copyright_detection",
        }  # fmt: skip
        for p in rec.parts:
            if p.name not in allowed:
                return bad(f"Unknown field {p.name}")
            if len(p.data) > 25 * 1024 * 1024:
                return bad(f"{p.name} is larger than 25MB")
        prompt = rec.value("prompt")
        if not prompt or len(prompt) > 10_000:
            return bad("prompt is required (at most 10,000 characters)")
        if not rec.get("image"):
            return bad("image is required")
        image = rec.get("image")[0].data
        try:
            img = Image.open(io.BytesIO(image))
            img.load()
        except Exception:
            return bad("image is not a valid image")
        if img.format not in ("JPEG", "PNG", "WEBP"):
            return bad("image must be JPEG, PNG or WebP")
        w, h = img.size
        if not 1 / 6 <= w / h <= 6:
            return bad("image aspect ratio must be between 1:6 and 6:1")
        edit = np.ones((h, w), bool)
        if rec.get("mask"):
            err, edit = check_image_and_mask(image, rec.get("mask")[0].data)
            if err:
                return bad(err)
            if edit.all():
                return bad("mask must contain both black and white pixels")
        refs = rec.get("reference_images")
        if len(refs) > (3 if rec.get("mask") else 4):
            return bad("too many reference_images (4 at most, 3 with a mask)")
        for ref in refs:
            if ref.content_type not in ("image/jpeg", "image/png", "image/webp"):
                return bad("reference_images must be JPEG, PNG or WebP")
        quality = rec.value("quality") or "medium"
        if quality not in ("very_low", "low", "medium", "high"):
            return bad(f"invalid quality {quality}")
        n = int(rec.value("num_images") or 1)
        if not 1 <= n <= 8:
            return bad("num_images must be 1-8")
        seed = int(rec.value("seed")) if rec.value("seed") is not None else 4242
        if not 0 <= seed <= 2147483647:
            return bad("seed out of range")
        box = (0, 0, h, w)
        cw = rec.value("context_window")
        if cw not in (None, "none", "auto"):
            try:
                box = tuple(int(v) for v in cw.split(","))
                assert len(box) == 4
            except (ValueError, AssertionError):
                return bad("context_window is y_min,x_min,y_max,x_max")
            y0, x0, y1, x1 = box
            if not (0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w):
                return bad("context_window must lie inside the image")
            if y1 - y0 < 256 or x1 - x0 < 256:
                return bad("context_window sides must be at least 256 px")
            if (y1 - y0) * (x1 - x0) > 4_194_304:
                return bad("context_window is larger than 4,194,304 px")
            if not 1 / 6 <= (x1 - x0) / (y1 - y0) <= 6:
                return bad("context_window aspect ratio must be between 1:6 and 6:1")
            outside = edit.copy()
            outside[y0:y1, x0:x1] = False
            if outside.any():
                return bad("the mask's black pixels must lie inside context_window")
        if "forbidden" in prompt:
            return 422, {"error": "Prompt failed the safety check"}
        price = {"very_low": 8000, "low": 30000, "medium": 60000, "high": 220000}[quality]
        if dry:
            with self.lock:
                self.dry_runs += 1
            return 200, {
                "object": "price_quote",
                "billing_identifier": "precise_edit_ideogram_4_5",
                "quantity": n,
                "usd_micros": price * n,
                "credit_millis": price * n // 10,
                "qualifier": "exact",
            }
        # the model: the edit area painted a seed colour, every other pixel copied; an image
        # larger than it edits at once (without a context window) comes back scaled down
        base = np.asarray(img.convert("RGB"))
        if cw in (None, "none", "auto") and w * h > 4_194_304:
            f = (4_194_304 / (w * h)) ** 0.5
            size = (int(w * f), int(h * f))
            base = np.asarray(Image.fromarray(base).resize(size, Image.Resampling.LANCZOS))
            edit = np.asarray(Image.fromarray(edit).resize(size, Image.Resampling.NEAREST))
        ident = uuid.uuid4().hex
        data = []
        for i in range(n):
            out = base.copy()
            out[edit] = np.random.default_rng(seed + i).integers(0, 256, 3, dtype=np.uint8)
            unsafe = ("unsafe-all" in prompt) or ("unsafe-first" in prompt and i == 0)
            url = None if unsafe else self.store_result(out, expired="expired-link" in prompt)
            data.append(
                {
                    "url": url,
                    "prompt": prompt,
                    "resolution": f"{out.shape[1]}x{out.shape[0]}",
                    "seed": seed + i,
                    "is_image_safe": not unsafe,
                }
            )
        done = {
            "generation_id": ident,
            "status": "completed",
            "created": "2026-12-03T12:00:00Z",
            "response_type": "url",
            "data": data,
            "usage_cost_usd_micros": price * n,
        }
        if "fail-generation" in prompt:
            done = {
                "generation_id": ident,
                "status": "failed",
                "created": "2026-12-03T12:00:00Z",
                "failure_reason": "The model could not complete this edit.",
            }
        if rec.value("async") == "true":
            with self.lock:
                self.generations[ident] = {"answer": done, "polls": 0, "created": done["created"]}
            return 200, {"generation_id": ident, "seed": seed, "generation_kind": "precise_edit"}
        if done["status"] == "failed":
            return 500, {"error": "generation failed"}
        return 200, {
            "generation_id": ident,
            "generation_kind": "precise_edit",
            "seed": seed,
            "data": data,
        }

    def edit_v2(self, rec: Received) -> tuple[int, dict]:
        """Ideogram 2.0 legacy edit: ``image_file``, ``model`` V_2/V_2_TURBO, ``magic_prompt_option``."""
        allowed = {
            "image_file",
            "mask",
            "prompt",
            "model",
            "magic_prompt_option",
            "num_images",
            "seed",
            "style_type",
        }
        for p in rec.parts:
            if p.name not in allowed:
                return 400, {"error": f"Unknown field {p.name}"}
        if not rec.get("image_file") or not rec.get("mask") or not rec.value("prompt"):
            return 400, {"error": "image_file, mask and prompt are required"}
        if rec.value("model") not in ("V_2", "V_2_TURBO"):
            return 400, {"error": f"model {rec.value('model')} is not supported for edit"}
        st = rec.value("style_type")
        if st is not None and st not in {
            "AUTO",
            "GENERAL",
            "REALISTIC",
            "DESIGN",
            "RENDER_3D",
            "ANIME",
        }:
            return 400, {"error": f"invalid style_type {st}"}
        mp = rec.value("magic_prompt_option")
        if mp is not None and mp not in MAGIC:
            return 400, {"error": f"invalid magic_prompt_option {mp}"}
        err, edit = check_image_and_mask(rec.get("image_file")[0].data, rec.get("mask")[0].data)
        if err:
            return 400, {"error": err}
        n = int(rec.value("num_images") or 1)
        if not 1 <= n <= 8:
            return 400, {"error": "num_images must be 1-8"}
        return self.answer(
            rec.get("image_file")[0].data,
            edit,
            rec.value("prompt"),
            mp,
            st,
            n,
            int(rec.value("seed") or 777),
        )

    def answer(
        self,
        image: bytes,
        edit: np.ndarray,
        prompt: str,
        magic: str | None,
        style_type: str | None,
        n: int,
        seed: int,
    ) -> tuple[int, dict]:
        if "forbidden" in prompt:
            return 422, {"error": "Prompt failed the safety check"}
        outs, (rw, rh) = render_results(image, edit, seed, n, self.colour_drift)
        data = []
        for i, out in enumerate(outs):
            unsafe = ("unsafe-all" in prompt) or ("unsafe-first" in prompt and i == 0)
            url = None if unsafe else self.store_result(out, expired="expired-link" in prompt)
            if url and "redirect-link" in prompt:
                url = url.replace("/results/", "/go/")
            data.append(
                {
                    "url": url,
                    "prompt": f"A detailed photo: {prompt}" if magic == "ON" else prompt,
                    "resolution": f"{rw}x{rh}",
                    "is_image_safe": not unsafe,
                    "seed": seed + i,
                    "style_type": style_type or "GENERAL",
                }
            )
        return 200, {"created": "2026-11-21T12:00:00Z", "data": data}

    def edit(self, rec: Received) -> tuple[int, dict]:
        def bad(msg: str) -> tuple[int, dict]:
            return 400, {"error": msg}

        for p in rec.parts:
            if len(p.data) > LIMIT:
                return bad(f"{p.name} is larger than 10MB")
        allowed = {
            "image",
            "mask",
            "prompt",
            "magic_prompt",
            "num_images",
            "seed",
            "rendering_speed",
            "style_type",
            "style_preset",
            "style_codes",
            "style_reference_images",
            "character_reference_images",
            "color_palette",
        }
        for p in rec.parts:
            if p.name not in allowed:
                return bad(f"Unknown field {p.name}")
        if not rec.get("image") or not rec.get("mask"):
            return bad("image and mask are required")
        prompt = rec.value("prompt")
        if not prompt:
            return bad("prompt is required")
        err, edit = check_image_and_mask(rec.get("image")[0].data, rec.get("mask")[0].data)
        if err:
            return bad(err)
        speed = rec.value("rendering_speed") or "DEFAULT"
        if speed not in SPEEDS:
            return bad(f"invalid rendering_speed {speed}")
        magic = rec.value("magic_prompt")
        if magic is not None and magic not in MAGIC:
            return bad(f"invalid magic_prompt {magic}")
        style_type = rec.value("style_type")
        if style_type is not None and style_type not in STYLE_TYPES:
            return bad(f"invalid style_type {style_type}")
        preset = rec.value("style_preset")
        if preset is not None and self.presets and preset not in self.presets:
            return bad(f"invalid style_preset {preset}")
        codes = [p.text for p in rec.get("style_codes")]
        if any(not re.fullmatch(r"[0-9A-Fa-f]{8}", c) for c in codes):
            return bad("style codes are 8 hex digits")
        srefs, crefs = rec.get("style_reference_images"), rec.get("character_reference_images")
        if codes and (style_type or srefs):
            return bad("style_codes cannot be used with style_type or style_reference_images")
        if preset and srefs:
            return bad("style_preset cannot be used with style_reference_images")
        if len(crefs) > 1:
            return bad("only one character reference image is supported")
        if crefs and speed == "FLASH":
            return bad("character references are not supported with FLASH")
        if sum(len(p.data) for p in srefs) > LIMIT:
            return bad("style reference images exceed 10MB in total")
        for p in srefs + crefs:
            if p.content_type not in ("image/jpeg", "image/png", "image/webp"):
                return bad(f"{p.name} must be JPEG, PNG or WebP")
        pal = rec.get("color_palette")
        if pal:
            if pal[0].content_type != "application/json":
                return bad("color_palette must be application/json")
            try:
                palette = json.loads(pal[0].text)
            except ValueError:
                return bad("color_palette is not JSON")
            if ("name" in palette) == ("members" in palette):
                return bad("color_palette takes name or members")
        n = int(rec.value("num_images") or 1)
        if not 1 <= n <= 8:
            return bad("num_images must be 1-8")
        seed_text = rec.value("seed")
        seed = int(seed_text) if seed_text is not None else 12345
        if not 0 <= seed <= 2147483647:
            return bad("seed out of range")
        return self.answer(rec.get("image")[0].data, edit, prompt, magic, style_type, n, seed)


def _problem(status: int, title: str, params: list[tuple[str, str]]) -> tuple[int, dict, dict]:
    return (
        status,
        {"title": title, "invalid_params": [{"name": n, "reason": r} for n, r in params]},
        {"Content-Type": "application/problem+json"},
    )


class MagnificServer(LoopbackServer):
    """Magnific "Ideogram Image Edit": JSON POST creating a task, then polled by GET."""

    PATH = "/v1/ai/ideogram-image-edit"
    FIELDS = {
        "prompt",
        "image",
        "mask",
        "seed",
        "rendering_speed",
        "magic_prompt",
        "color_palette",
        "style_codes",
        "style_type",
        "style_reference_images",
        "character_reference_images",
        "webhook_url",
    }

    def __init__(
        self, api_key: str = "magnific-key-0123", *, header: str = "x-magnific-api-key"
    ) -> None:
        super().__init__(api_key)
        self.header = header
        self.tasks: dict[str, dict] = {}
        self.posts: list[dict] = []
        self.polls_before_done = 2

    def api(self, rec: Received, body: bytes) -> tuple[int, dict, dict]:
        if not rec.path.startswith(self.PATH):
            return 404, {"message": "Not found"}, {}
        if rec.headers.get(self.header) != self.api_key:
            return 401, {"message": "Invalid API key"}, {}
        if rec.method == "GET":
            task = self.tasks.get(rec.path[len(self.PATH) + 1 :])
            if task is None:
                return 404, {"message": "Task not found"}, {}
            if task["polls"] > 0:
                task["polls"] -= 1
                return (
                    200,
                    {"data": {"task_id": task["id"], "status": "IN_PROGRESS", "generated": []}},
                    {},
                )
            if "fail-task" in task["prompt"]:
                return (
                    200,
                    {"data": {"task_id": task["id"], "status": "FAILED", "generated": []}},
                    {},
                )
            if task["url"] is None:
                outs, _ = render_results(task["image"], task["edit"], task["seed"], 1)
                task["url"] = self.store_result(outs[0], expired="expired-link" in task["prompt"])
            return (
                200,
                {
                    "data": {
                        "task_id": task["id"],
                        "status": "COMPLETED",
                        "generated": [task["url"]],
                    }
                },
                {},
            )
        try:
            req = json.loads(body)
        except ValueError:
            return 400, {"message": "Body must be JSON"}, {}
        with self.lock:
            self.posts.append(req)
        unknown = sorted(set(req) - self.FIELDS)
        if unknown:
            return _problem(400, "Invalid request", [(k, "is not a known field") for k in unknown])
        params = []
        if not req.get("prompt"):
            params.append(("prompt", "is required"))
        if req.get("rendering_speed", "DEFAULT") not in ("TURBO", "DEFAULT", "QUALITY"):
            params.append(("rendering_speed", "must be one of TURBO, DEFAULT, QUALITY"))
        if req.get("style_type") is not None and req["style_type"] not in (
            "AUTO",
            "GENERAL",
            "REALISTIC",
            "DESIGN",
        ):
            params.append(("style_type", "must be one of AUTO, GENERAL, REALISTIC, DESIGN"))
        if req.get("character_reference_images") and not req.get("style_type"):
            params.append(("style_type", "is required with character_reference_images"))
        for name in ("style_reference_images", "character_reference_images"):
            for item in req.get(name) or []:
                if not isinstance(item, str) or item.startswith("data:"):
                    params.append((name, "must be base64 or an https URL"))
        seed = req.get("seed")
        if not isinstance(seed, int) or not 0 <= seed <= 2147483647:
            params.append(("seed", "must be an integer 0-2147483647"))
        try:
            image, mask = (
                base64.b64decode(req["image"], validate=True),
                base64.b64decode(req["mask"], validate=True),
            )
        except (KeyError, ValueError, TypeError):
            params.append(("image", "image and mask must be bare base64"))
            image = mask = b""
        if params:
            return _problem(400, "Invalid request", params)
        err, edit = check_image_and_mask(image, mask)
        if err:
            return _problem(400, "Invalid request", [("mask", err)])
        if "forbidden" in req["prompt"]:
            return 400, {"message": "The prompt was rejected by content moderation"}, {}
        task_id = uuid.uuid4().hex
        self.tasks[task_id] = {
            "id": task_id,
            "seed": seed,
            "image": image,
            "edit": edit,
            "prompt": req["prompt"],
            "polls": self.polls_before_done,
            "url": None,
        }
        return 200, {"data": {"task_id": task_id, "status": "CREATED", "generated": []}}, {}


class OneMinServer(LoopbackServer):
    """1min.ai: asset uploads, then an IMAGE_INPAINTER feature, synchronous or polled."""

    def __init__(self, api_key: str = "onemin-key-0123") -> None:
        super().__init__(api_key)
        self.assets: dict[str, bytes] = {}
        self.features: list[dict] = []
        self.records: dict[str, dict] = {}
        self.processing_polls = 0
        self.temporary_url_as_string = False

    def api(self, rec: Received, body: bytes) -> tuple[int, dict, dict]:
        if rec.headers.get("api-key") != self.api_key:
            return 401, {"errorCode": "HTTP_EXCEPTION", "message": "Unauthorized"}, {}
        if rec.method == "POST" and rec.path == "/api/assets":
            try:
                parts = parse_multipart(rec.headers.get("content-type", ""), body)
            except ValueError:
                return 400, {"errorCode": "BAD_REQUEST", "message": "multipart expected"}, {}
            asset = [p for p in parts if p.name == "asset"]
            if len(asset) != 1 or not asset[0].filename:
                return 400, {"errorCode": "BAD_REQUEST", "message": "field asset is required"}, {}
            if len(asset[0].data) > LIMIT:
                return (
                    400,
                    {"errorCode": "FILE_TOO_LARGE", "message": "file is larger than 10MB"},
                    {},
                )
            path = f"images/{uuid.uuid4().hex}-{asset[0].filename}"
            self.assets[path] = asset[0].data
            return (
                200,
                {"fileContent": {"path": path, "size": len(asset[0].data)}, "asset": {"key": path}},
                {},
            )
        if rec.method == "POST" and rec.path == "/api/features":
            return self.feature(body)
        m = re.match(r"^/api/results/([0-9a-f]+)$", rec.path)
        if rec.method == "GET" and m:
            record = self.records.get(m.group(1))
            if record is None:
                return 404, {"errorCode": "NOT_FOUND", "message": "Record not found"}, {}
            if record["polls"] > 0:
                record["polls"] -= 1
            return 200, {"aiRecord": self.record_json(record)}, {}
        return 404, {"errorCode": "NOT_FOUND", "message": "Not found"}, {}

    def record_json(self, record: dict) -> dict:
        if record["polls"] > 0:
            return {"uuid": record["uuid"], "status": "PROCESSING", "aiRecordDetail": {}}
        if record["fail"]:
            return {
                "uuid": record["uuid"],
                "status": "FAILURE",
                "aiRecordDetail": {"errorMessage": "Generation failed."},
            }
        urls = record["urls"]
        return {
            "uuid": record["uuid"],
            "status": "SUCCESS",
            "aiRecordDetail": {"resultObject": record["paths"]},
            "temporaryUrl": urls[0] if self.temporary_url_as_string else urls,
        }

    def feature(self, body: bytes) -> tuple[int, dict, dict]:
        try:
            req = json.loads(body)
        except ValueError:
            return 400, {"errorCode": "BAD_REQUEST", "message": "JSON expected"}, {}
        with self.lock:
            self.features.append(req)
        if req.get("type") != "IMAGE_INPAINTER":
            return 400, {"errorCode": "BAD_REQUEST", "message": "unknown feature type"}, {}
        if req.get("model") != "ideogram-3":
            return (
                400,
                {
                    "errorCode": "UNSUPPORTED_MODEL",
                    "message": f"Model {req.get('model')} is not supported",
                },
                {},
            )
        po = req.get("promptObject") or {}
        allowed = {
            "prompt",
            "imageUrl",
            "maskUrl",
            "num_images",
            "rendering_speed",
            "magic_prompt",
            "style_type",
            "style_preset",
            "style_reference_images",
            "character_reference_images",
            "negative_prompt",
            "seed",
        }
        bad = sorted(set(po) - allowed)
        if bad:
            return 400, {"errorCode": "BAD_REQUEST", "message": f"unknown fields {bad}"}, {}
        if not po.get("prompt") or not isinstance(po.get("num_images"), int):
            return (
                400,
                {"errorCode": "BAD_REQUEST", "message": "prompt and num_images are required"},
                {},
            )
        if po.get("rendering_speed", "DEFAULT") not in ("FLASH", "TURBO", "DEFAULT", "QUALITY"):
            return 400, {"errorCode": "BAD_REQUEST", "message": "invalid rendering_speed"}, {}
        if po.get("style_type") is not None and po["style_type"] not in (
            "AUTO",
            "GENERAL",
            "REALISTIC",
            "DESIGN",
            "FICTION",
        ):
            return 400, {"errorCode": "BAD_REQUEST", "message": "invalid style_type"}, {}
        refs = po.get("style_reference_images") or []
        chars = po.get("character_reference_images") or []
        if len(refs) > 5 or len(chars) > 1:
            return 400, {"errorCode": "BAD_REQUEST", "message": "too many reference images"}, {}
        for path in [po.get("imageUrl"), po.get("maskUrl"), *refs, *chars]:
            if path not in self.assets:
                return 400, {"errorCode": "BAD_REQUEST", "message": f"unknown asset {path}"}, {}
        image = self.assets[po["imageUrl"]]
        err, edit = check_image_and_mask(image, self.assets[po["maskUrl"]])
        if err:
            return 400, {"errorCode": "BAD_REQUEST", "message": err}, {}
        n = po["num_images"]
        record_id = uuid.uuid4().hex
        outs, _ = render_results(image, edit, int(po.get("seed") or 99), n)
        urls = [self.store_result(o, expired="expired-link" in po["prompt"]) for o in outs]
        record = {
            "uuid": record_id,
            "polls": self.processing_polls,
            "fail": "fail-task" in po["prompt"],
            "urls": urls,
            "paths": [f"results/{record_id}-{i}.png" for i in range(n)],
        }
        self.records[record_id] = record
        return 200, {"aiRecord": self.record_json(record)}, {}
