"""Build the installable bundle for this system into dist/ (PyInstaller, one folder).

    python packaging/build.py

Generates the .ico and .icns icons from resources/icons/*.png with Pillow and the Windows
version resource from the package version, then runs PyInstaller on
packaging/inpaint_studio.spec. Prints the build time and the bundle's size.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "packaging"
ICONS = ROOT / "resources" / "icons"


def version() -> str:
    return re.search(
        r'__version__ = "([^"]+)"', (ROOT / "inpaint_studio" / "__init__.py").read_text()
    ).group(1)


def make_icons() -> None:
    BUILD.mkdir(parents=True, exist_ok=True)
    big = Image.open(ICONS / "inpaint-studio-512.png").convert("RGBA")
    big.save(BUILD / "inpaint-studio.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    big.save(BUILD / "inpaint-studio.icns")


def make_version_resource() -> None:
    parts = [int(p) for p in re.findall(r"\d+", version())[:3]] + [0]
    while len(parts) < 4:
        parts.append(0)
    v = tuple(parts[:4])
    (BUILD / "version_info.txt").write_text(f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={v}, prodvers={v}, mask=0x3f, flags=0x0, OS=0x40004, fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('040904B0', [
      StringStruct('CompanyName', 'Inpaint Studio'),
      StringStruct('FileDescription', 'Inpaint Studio: mask-based AI inpainting'),
      StringStruct('FileVersion', '{version()}'),
      StringStruct('InternalName', 'inpaint-studio'),
      StringStruct('OriginalFilename', 'inpaint-studio-gui.exe'),
      StringStruct('ProductName', 'Inpaint Studio'),
      StringStruct('ProductVersion', '{version()}')])]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
""")


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> int:
    start = time.perf_counter()
    make_icons()
    make_version_resource()
    dist = ROOT / "dist"
    shutil.rmtree(dist / "inpaint-studio", ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(BUILD / "work"),
        str(ROOT / "packaging" / "inpaint_studio.spec"),
    ]
    res = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, PYTHONHASHSEED="0"))
    if res.returncode != 0:
        print("PyInstaller failed", file=sys.stderr)
        return res.returncode
    if sys.platform.startswith("linux") and shutil.which("strip"):
        # only the interpreter library: stripping the manylinux libraries breaks them
        for lib in (dist / "inpaint-studio" / "_internal").glob("libpython3*.so*"):
            subprocess.run(["strip", "--strip-unneeded", str(lib)], check=False)
    if sys.platform.startswith("linux"):
        for name in ("inpaint-studio.desktop", "io.inpaintstudio.InpaintStudio.metainfo.xml"):
            shutil.copy(ROOT / "packaging" / name, dist / "inpaint-studio" / name)
        shutil.copy(
            ICONS / "inpaint-studio-256.png", dist / "inpaint-studio" / "inpaint-studio.png"
        )
    bundle = dist / "inpaint-studio"
    print(
        f"built {bundle} in {time.perf_counter() - start:.0f} s; {folder_size(bundle) / 1e6:.0f} MB unpacked"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
