"""`make install` and `make uninstall` (CLI.md, "Installing"), file by file.

`make install BUILD=<the build of the binary under test> PREFIX=... DESTDIR=...`
into a temporary directory: the binary (executable, runs), the man page and
the bash, zsh and fish completions each where its shell looks under the
prefix, byte-identical to the sources; nothing else. `make uninstall` with
the same DESTDIR removes exactly those files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unittest
from pathlib import Path

import evtool_test as et

MAKE = shutil.which("make")
BUILD = Path(et.EVTOOL).resolve().parent

# Installed path under the prefix -> the source it must equal (None: the binary).
EXPECTED = {
    "bin/evtool": None,
    "share/man/man1/evtool.1": "man/evtool.1",
    "share/bash-completion/completions/evtool": "completions/evtool.bash",
    "share/zsh/site-functions/_evtool": "completions/_evtool",
    "share/fish/vendor_completions.d/evtool.fish": "completions/evtool.fish",
}


@unittest.skipUnless(MAKE, "make is not installed")
@unittest.skipUnless((BUILD / "cmake_install.cmake").exists(), "the binary under test is not in a CMake build directory")
class Install(unittest.TestCase):
    def make(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([MAKE, "-C", str(et.SOURCE_DIR), "--no-print-directory", f"BUILD={BUILD}", *args],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, f"make {' '.join(args)}:\n{result.stdout}\n{result.stderr}")
        return result

    def installed_files(self, root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}

    def check_tree(self, destdir: Path, prefix: str) -> None:
        root = destdir / prefix.lstrip("/")
        self.assertEqual(self.installed_files(destdir),
                         {str(Path(prefix.lstrip("/")) / name) for name in EXPECTED})
        for name, source in EXPECTED.items():
            with self.subTest(file=name):
                path = root / name
                if source is None:
                    self.assertTrue(os.access(path, os.X_OK), f"{path} is not executable")
                    version = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
                    self.assertEqual(version.returncode, 0)
                    self.assertIn("evtool", version.stdout)
                else:
                    self.assertEqual(path.read_bytes(), (et.SOURCE_DIR / source).read_bytes())
                    self.assertEqual(path.stat().st_mode & 0o777, 0o644)

    def test_install_and_uninstall_with_prefix_and_destdir(self):
        destdir = et.temp_dir(self.addCleanup, "evtool-install-")
        self.make("install", f"DESTDIR={destdir}", "PREFIX=/opt/evtool")
        self.check_tree(destdir, "/opt/evtool")
        self.make("uninstall", f"DESTDIR={destdir}")
        self.assertEqual(self.installed_files(destdir), set())

    def test_default_prefix_is_usr_local(self):
        destdir = et.temp_dir(self.addCleanup, "evtool-install-")
        self.make("install", f"DESTDIR={destdir}")
        self.check_tree(destdir, "/usr/local")
        self.make("uninstall", f"DESTDIR={destdir}")
        self.assertEqual(self.installed_files(destdir), set())


if __name__ == "__main__":
    unittest.main()
