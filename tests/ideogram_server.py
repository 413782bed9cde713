"""A loopback HTTP server implementing the Ideogram 3.0 edit contract (shared/docs/providers.md).

Real sockets on 127.0.0.1, stdlib only. It checks what a real server would refuse
(missing parts, a mask of another size or not two-level, unknown enum values, files over
10 MB, fields the endpoint does not take, rule conflicts), answers with Ideogram's shapes
and errors, and serves results from short-lived links that refuse credentials.

Behaviour switches, per test:
- ``script``: a list of ``(status, json_body, headers)`` answered first, one per request;
- ``edit_gone``: ``/v1/ideogram-v3/edit`` answers 404 (only ``/inpaint`` works);
- ``hang_after_upload``: read the body, then sleep that many seconds before answering;
- prompts containing ``forbidden`` get a 422 safety refusal; ``unsafe-first`` withholds the
  first variant; ``unsafe-all`` withholds all; ``expired-link`` makes result links 404.
"""

from __future__ import annotations

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
RESOLUTIONS = [(1024, 1024), (1152, 896), (896, 1152), (1216, 832), (832, 1216), (1344, 768), (768, 1344), (1536, 640), (640, 1536)]


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
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise ValueError("not multipart")
    parts = []
    for sub in msg.iter_parts():
        disp = sub.get("Content-Disposition", "")
        name = re.search(r'name="([^"]*)"', disp)
        fname = re.search(r'filename="([^"]*)"', disp)
        parts.append(Part(name.group(1) if name else "", fname.group(1) if fname else None,
                          sub.get_content_type() if sub.get("Content-Type") else None,
                          sub.get_payload(decode=True) or b""))
    return parts


def snap(w: int, h: int) -> tuple[int, int]:
    aspect = w / h
    return min(RESOLUTIONS, key=lambda r: abs(np.log(r[0] / r[1]) - np.log(aspect)))


class IdeogramServer:
    """Start with :meth:`start`; ``base_url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, api_key: str = "test-key-0123456789", presets: tuple[str, ...] = ()) -> None:
        self.api_key = api_key
        self.presets = set(presets)
        self.script: list[tuple[int, dict, dict]] = []
        self.edit_gone = False
        self.hang_after_upload = 0.0
        self.colour_drift = (0, 0, 0)
        self.requests: list[Received] = []
        self.edit_requests: list[Received] = []
        self.downloads: list[Received] = []
        self.results: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> IdeogramServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict | bytes, headers: dict | None = None, ctype: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                rec = Received("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                with server.lock:
                    server.requests.append(rec)
                    server.downloads.append(rec)
                m = re.match(r"^/results/([0-9a-f]+)\.png$", self.path)
                if not m:
                    return self._send(404, {"error": "Not found"})
                if "Api-Key" in self.headers or "Authorization" in self.headers:
                    return self._send(400, {"error": "credentials must not be sent to the result host"})
                data = server.results.get(m.group(1))
                if data is None:
                    return self._send(404, {"error": "This link has expired"})
                self._send(200, data, ctype="image/png")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                rec = Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()})
                with server.lock:
                    server.requests.append(rec)
                if server.hang_after_upload:
                    time.sleep(server.hang_after_upload)
                    return self._send(200, {"created": "late", "data": []})
                if self.path not in ("/v1/ideogram-v3/edit", "/v1/ideogram-v3/inpaint"):
                    return self._send(404, {"error": "Not found"})
                if self.path.endswith("/edit") and server.edit_gone:
                    return self._send(404, {"error": "Not found"})
                with server.lock:
                    scripted = server.script.pop(0) if server.script else None
                if scripted:
                    return self._send(scripted[0], scripted[1], scripted[2])
                if self.headers.get("Api-Key") != server.api_key:
                    return self._send(401, {"error": "Invalid API key"})
                try:
                    rec.parts = parse_multipart(self.headers.get("Content-Type", ""), body)
                except ValueError:
                    return self._send(400, {"error": "Expected multipart/form-data"})
                with server.lock:
                    server.edit_requests.append(rec)
                status, answer = server.edit(rec)
                self._send(status, answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    # -- the contract ---------------------------------------------------------------------

    def edit(self, rec: Received) -> tuple[int, dict]:
        def bad(msg: str) -> tuple[int, dict]:
            return 400, {"error": msg}

        for p in rec.parts:
            if len(p.data) > LIMIT:
                return bad(f"{p.name} is larger than 10MB")
        allowed = {"image", "mask", "prompt", "magic_prompt", "num_images", "seed", "rendering_speed", "style_type",
                   "style_preset", "style_codes", "style_reference_images", "character_reference_images", "color_palette"}
        for p in rec.parts:
            if p.name not in allowed:
                return bad(f"Unknown field {p.name}")
        if not rec.get("image") or not rec.get("mask"):
            return bad("image and mask are required")
        prompt = rec.value("prompt")
        if not prompt:
            return bad("prompt is required")
        try:
            img = Image.open(io.BytesIO(rec.get("image")[0].data))
            img.load()
            if img.format not in ("JPEG", "PNG", "WEBP"):
                return bad("image must be JPEG, PNG or WebP")
            mask_img = Image.open(io.BytesIO(rec.get("mask")[0].data))
            mask_img.load()
        except Exception:
            return bad("image or mask is not a valid image")
        if mask_img.size != img.size:
            return bad("mask must have the same dimensions as the image")
        mask = np.asarray(mask_img.convert("L"))
        if not set(np.unique(mask).tolist()) <= {0, 255}:
            return bad("mask must be black and white only")
        edit = mask == 0  # black = edit
        if not edit.any():
            return bad("mask has no black (edit) area")
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
        if "forbidden" in prompt:
            return 422, {"error": "Prompt failed the safety check"}
        rw, rh = snap(*img.size)
        base = np.asarray(img.convert("RGB").resize((rw, rh), Image.Resampling.BICUBIC)).astype(np.int16)
        base = np.clip(base + np.array(self.colour_drift, dtype=np.int16), 0, 255).astype(np.uint8)
        edit_small = np.asarray(Image.fromarray(edit).resize((rw, rh), Image.Resampling.NEAREST))
        data = []
        for i in range(n):
            out = base.copy()
            rng = np.random.default_rng(seed + i)
            colour = rng.integers(0, 256, 3, dtype=np.uint8)
            out[edit_small] = colour
            unsafe = ("unsafe-all" in prompt) or ("unsafe-first" in prompt and i == 0)
            url = None
            if not unsafe:
                token = uuid.uuid4().hex
                buf = io.BytesIO()
                Image.fromarray(out).save(buf, "PNG")
                if "expired-link" not in prompt:
                    self.results[token] = buf.getvalue()
                url = f"{self.base_url}/results/{token}.png"
            data.append({
                "url": url,
                "prompt": f"A detailed photo: {prompt}" if magic == "ON" else prompt,
                "resolution": f"{rw}x{rh}",
                "is_image_safe": not unsafe,
                "seed": seed + i,
                "style_type": style_type or "GENERAL",
            })
        return 200, {"created": "2026-11-21T12:00:00Z", "data": data}
