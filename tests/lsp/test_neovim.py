"""Neovim's built-in LSP client (headless, Debian's neovim) against `converge lsp`."""

import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import CONVERGE, WAIT

HERE = pathlib.Path(__file__).parent


@pytest.mark.skipif(shutil.which("nvim") is None, reason="nvim is not installed (scripts/test.sh installs it)")
def test_neovim_shows_the_diagnostics_and_the_hover(tmp_path: pathlib.Path):
    playbook = tmp_path / "site.goenv"
    playbook.write_text('proxy ["https://proxy.golang.org", "direct"]\n\ngo toolchian "1.22.5"\n')
    out = tmp_path / "out.txt"
    env = dict(os.environ, CONVERGE_BIN=CONVERGE, CONVERGE_PLAYBOOK=str(playbook), CONVERGE_OUT=str(out))
    env["XDG_STATE_HOME"] = env["XDG_DATA_HOME"] = env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    run = subprocess.run(
        ["nvim", "--headless", "--clean", "-c", f"luafile {HERE / 'neovim.lua'}"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=3 * WAIT,
        check=True,
    )
    lines = out.read_text().splitlines()
    diagnostics = [line for line in lines if line.startswith("diagnostic ")]
    assert len(diagnostics) == 1, lines
    assert diagnostics[0].startswith("diagnostic 2:0 ") and "go toolchain" in diagnostics[0], lines
    assert "hover # proxy" in lines, lines
    # Neovim reports a server that did not shut down cleanly ("Client 1 quit
    # with exit code 1").
    assert b"quit with exit code" not in run.stdout + run.stderr, run
