"""Entry point of the packaged program (PyInstaller): the same CLI and editor as pip's."""

import multiprocessing
import sys

from inpaint_studio.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main(sys.argv[1:]))
