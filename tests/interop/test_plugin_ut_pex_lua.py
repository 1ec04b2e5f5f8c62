"""The Lua port of ut_pex (sdk/examples/lua/ut_pex_plugin.lua) passes the
same interop test as the C plugin (test_plugin_ut_pex.py), both directions
with libtorrent on 127.0.0.1: cswarm runs with --no-default-plugins (no C
ut_pex) and --plugin ut_pex_plugin.lua, so every PEX message it sends or
acts on went through the Lua plugin. The plugin must also stay enabled (no
plugin_error warning from the command)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
import test_plugin_ut_pex as c_test  # noqa: E402

SOURCE = os.environ.get("CSWARM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LUA_PEX = os.path.join(SOURCE, "sdk", "examples", "lua", "ut_pex_plugin.lua")

runs = []


def cswarm_download_lua(cleanup, torrent, out_dir, peers=(), port=None, seed=False,
                        extra_sets=()):
    args = ["download", torrent, "-o", out_dir, "--no-default-plugins", "--plugin", LUA_PEX]
    for p in peers:
        args += ["--peer", p]
    if seed:
        args.append("--seed")
    run = swtest.CswarmRun(cleanup, args, port, extra_sets)
    run.final_stderr = ""

    def keep_stderr():
        run.final_stderr = run.stderr_text()
    # Runs before the run's own callback closes its stderr file.
    cleanup.on_close(keep_stderr)
    runs.append(run)
    return run


def check_plugin_stayed():
    for run in runs:
        err = run.final_stderr
        assert "warning: plugin" not in err, err
    runs.clear()


def test_cswarm_learns_from_libtorrent():
    c_test.test_cswarm_learns_from_libtorrent()
    check_plugin_stayed()


def test_libtorrent_learns_from_cswarm():
    c_test.test_libtorrent_learns_from_cswarm()
    check_plugin_stayed()


def main():
    swtest.cswarm_download = cswarm_download_lua
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
