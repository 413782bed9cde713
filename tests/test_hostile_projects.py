"""Project files are untrusted input (issue 10): crafted manifests and zip layouts are refused
with one sentence, never write outside the recovery folder, and never load halfway."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inpaint_studio.core.document import recovery
from inpaint_studio.core.document.session import EditSession
from inpaint_studio.core.formats.project import ProjectError, save_project
from inpaint_studio.core.formats.project_reader import inspect_project, read_project

from .support.waiting import until
from .test_project import state  # noqa: F401 (the fixture: a real project from a real offline job)

ROOT = Path(__file__).resolve().parent.parent


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def write(path: Path, files: dict[str, bytes], manifest: dict | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            if name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            z.writestr(name, data)
    return path


@pytest.fixture
def good(state, tmp_path):  # noqa: F811
    st_, _, _ = state
    path = tmp_path / "good.inpaint"
    save_project(path, st_)
    files = members(path)
    return path, files, json.loads(files["manifest.json"])


def variant_ids(manifest: dict) -> list[str]:
    return [v["id"] for v in manifest["variants"]]


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda m: m["variants"][0].__setitem__("id", "../../x"), "variants.0.id"),
        (lambda m: m["jobs"][0].__setitem__("id", "1/../../y"), "jobs.0.id"),
        (
            lambda m: m["jobs"][0]["references"][0].__setitem__("format", "png/../../../z"),
            "jobs.0.references.0.format",
        ),
        (lambda m: m["variants"][0].__setitem__("opacity", "abc"), "variants.0.opacity"),
        (lambda m: m["variants"][0].__setitem__("opacity", 7.5), "variants.0.opacity"),
        (lambda m: m.__setitem__("jobs", [5]), "jobs.0"),
        (lambda m: m["accepted"][0].__setitem__("box", [10, 10, 5, -3]), "accepted.0.box"),
        (
            lambda m: m["variants"][0]["layer"].__setitem__("file", "/etc/passwd"),
            "variants.0.layer.file",
        ),
        (lambda m: m["variants"][0]["layer"].__setitem__("x0", 10**9), "variants.0.layer.x0"),
        (lambda m: m["variants"].append(dict(m["variants"][0])), "share an id"),
        (lambda m: m.__setitem__("photo", "rocket.jpg"), "photo"),
    ],
)
def test_crafted_manifests_are_refused_with_a_sentence(good, tmp_path, change, words):
    _, files, manifest = good
    change(manifest)
    bad = write(tmp_path / "bad.inpaint", files, manifest)
    for fn in (read_project, inspect_project):
        with pytest.raises(ProjectError) as exc:
            fn(bad)
        msg = str(exc.value)
        assert (
            "“bad.inpaint”" in msg and words in msg and "\n" not in msg and "Traceback" not in msg
        )


def test_a_layer_outside_the_photo_and_a_mask_of_the_wrong_size_are_refused(good, tmp_path):
    _, files, manifest = good
    manifest["variants"][0]["layer"]["x0"] = 600  # the photo is 640 wide
    with pytest.raises(ProjectError, match="reaches outside the photo"):
        read_project(write(tmp_path / "a.inpaint", files, manifest))
    files = dict(files)
    files["mask.png"] = _png(10, 10)
    with pytest.raises(ProjectError, match="is 10×10 pixels, not 640×427"):
        read_project(write(tmp_path / "b.inpaint", files))


def _png(w: int, h: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (w, h)).save(buf, "PNG")
    return buf.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(good, tmp_path):
    _, files, _ = good
    bomb = tmp_path / "bomb.inpaint"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr("padding.bin", b"\0" * 300_000_000)
    assert bomb.stat().st_size < 2_000_000
    with pytest.raises(ProjectError, match="zip bomb"):
        read_project(bomb)
    many = write(tmp_path / "many.inpaint", files | {f"x/{i}": b"" for i in range(20_001)})
    with pytest.raises(ProjectError, match="files inside"):
        inspect_project(many)


@pytest.mark.asyncio
async def test_opening_a_hostile_project_writes_nothing_outside_and_keeps_the_document(
    good, tmp_path, data_dir
):
    _, files, manifest = good
    manifest["variants"][0]["id"] = "../../../escaped"
    bad = write(tmp_path / "evil.inpaint", files, manifest)
    s = EditSession(recovery_folder=tmp_path / "rec" / "s")
    await s.open(data_dir / "coffee.png")
    await s.save_recovery()
    await until(lambda: not s.busy)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(ProjectError, match="variants.0.id"):
        await s.open(bad)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written anywhere
    assert s.doc.photo_path.name == "coffee.png" and (s.recovery_folder / "manifest.json").exists()
    await s.aclose(keep_recovery=False)


def test_unknown_keys_are_kept(good, tmp_path):
    path, files, manifest = good
    manifest["from_the_future"] = {"a": [1, 2]}
    manifest["variants"][0]["tomorrow"] = True
    state_ = read_project(write(tmp_path / "f.inpaint", files, manifest))
    assert state_.extra["from_the_future"] == {"a": [1, 2]} and state_.extra["future_key"] == {
        "kept": True
    }


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "format",
            "photo",
            "mask",
            "accepted",
            "panel",
            "jobs",
            "variants",
            "jobs.0",
            "jobs.0.region",
            "jobs.0.references",
            "jobs.0.mask",
            "jobs.0.id",
            "variants.0",
            "variants.0.layer",
            "variants.0.raw",
            "variants.0.index",
            "accepted.0",
            "accepted.0.box",
            "photo.file",
        ]
    ),
    value=JSONISH,
)
def test_any_manifest_value_loads_exactly_or_fails_with_a_sentence(
    good, tmp_path_factory, path, value
):
    """Property: whatever a field holds, reading gives a project or one ProjectError sentence."""
    _, files, manifest = good
    manifest = json.loads(json.dumps(manifest))
    target, *keys = path.split(".")
    node = manifest
    parts = [target, *keys]
    for k in parts[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    out = tmp_path_factory.mktemp("h") / "h.inpaint"
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(
                name,
                json.dumps(manifest, allow_nan=True).encode() if name == "manifest.json" else data,
            )
    try:
        state_ = read_project(out)
    except ProjectError as exc:
        assert str(exc).startswith("“h.inpaint”") and "\n" not in str(exc)
        return
    assert state_.mask.shape == (427, 640)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drop=st.sets(st.integers(0, 30), max_size=4), cut=st.integers(0, 400))
def test_any_zip_layout_loads_or_fails_with_a_sentence(good, tmp_path_factory, drop, cut):
    """Property: members missing or truncated → one ProjectError, never another exception."""
    _, files, _ = good
    names = sorted(files)
    out = tmp_path_factory.mktemp("z") / "z.inpaint"
    with zipfile.ZipFile(out, "w") as z:
        for i, name in enumerate(names):
            if i in drop:
                continue
            data = files[name]
            z.writestr(name, data[: len(data) - cut] if (cut and i == len(names) // 2) else data)
    try:
        read_project(out)
    except ProjectError as exc:
        assert "“z.inpaint”" in str(exc)


def test_project_info_command(good, tmp_path):
    path, files, manifest = good

    def run(*args):
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from inpaint_studio.cli import main; "
                "r = main(sys.argv[1:]); assert 'PySide6' not in sys.modules; raise SystemExit(r)",
                *args,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )

    ok = run("project", "info", str(path), "--json")
    assert ok.returncode == 0, ok.stderr
    info = json.loads(ok.stdout)
    assert info["format"] == 1 and info["photo"] == {
        "name": "rocket.jpg",
        "width": 640,
        "height": 427,
    }
    assert info["layers"] == 3 and info["jobs"] == 1
    manifest["variants"][0]["opacity"] = "abc"
    bad = run("project", "info", str(write(tmp_path / "bad.inpaint", files, manifest)))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "variants.0.opacity" in bad.stderr
    text = run("project", "info", str(path))
    assert text.returncode == 0 and "640×427" in text.stdout


def test_list_recoveries_survives_a_damaged_copy(tmp_path):
    folder = tmp_path / "r" / "x"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json")
    (folder / "pid").write_text("999999999")
    found = recovery.list_recoveries(tmp_path / "r")
    assert len(found) == 1 and found[0].problems == ["damaged"]
