"""The plugin SDK out of tree: cswarm is installed (`cmake --install`) to a
temporary prefix; sdk/template builds against it with CMake's find_package
and with pkg-config, exporting only its entry point and linking nothing of
cswarm's; sdk/examples/ext_logger builds the same way and, loaded by
`cswarm download` of a magnet link from a libtorrent seed, logs the
ut_metadata messages it sees and the bytes each peer sent."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup  # noqa: E402


BUILD = os.environ.get("CSWARM_BUILD_DIR", "")
SOURCE = os.environ.get("CSWARM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(cmd), r.returncode,
                                                         r.stdout[-3000:], r.stderr[-3000:]))
    return r


def install(c):
    prefix = c.tempdir("cswarm-prefix-")
    run(["cmake", "--install", BUILD, "--prefix", prefix])
    for rel in ("include/cswarm/plugin.h", "lib/pkgconfig/cswarm.pc",
                "lib/cmake/cswarm/cswarmConfig.cmake"):
        assert os.path.exists(os.path.join(prefix, rel)), rel
    return prefix


def exported(so):
    out = run(["nm", "-D", "--defined-only", so]).stdout.split()
    return sorted(s for s in out if s.startswith("sw_"))


def undefined(so):
    return run(["nm", "-D", "--undefined-only", so]).stdout


def cmake_build(c, src_dir, prefix):
    b = c.tempdir("cswarm-oot-")
    # A plain build: the engine's own flags (sanitizers, -Werror) stay out.
    env = dict(os.environ, CFLAGS="-O2 -g -Werror")
    run(["cmake", "-S", src_dir, "-B", b, "-DCMAKE_PREFIX_PATH=" + prefix,
         "-DCMAKE_BUILD_TYPE=Release"], env=env)
    run(["cmake", "--build", b], env=env)
    return b


def test_template_builds_with_cmake_and_pkg_config():
    with Cleanup() as c:
        prefix = install(c)
        b = cmake_build(c, os.path.join(SOURCE, "sdk", "template"), prefix)
        so = os.path.join(b, "my_plugin.so")
        assert exported(so) == ["sw_plugin_my_plugin_init"], exported(so)
        assert "sw_" not in undefined(so), undefined(so)
        # The pkg-config way, from a copy of the folder.
        copy = os.path.join(c.tempdir(), "template")
        shutil.copytree(os.path.join(SOURCE, "sdk", "template"), copy)
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"),
                   CFLAGS="-O2 -Werror -Wall -Wextra")
        run(["make", "-C", copy], env=env)
        so2 = os.path.join(copy, "my_plugin.so")
        assert exported(so2) == ["sw_plugin_my_plugin_init"], exported(so2)
        # The engine accepts it: a seed with it runs.
        src, torrent = swtest.make_payload(c, [("payload/a.bin", 100_000)], 32768)
        s = swtest.CswarmRun(c, ["seed", torrent, "-d", src, "--plugin", so2])
        swtest.wait_for(lambda: s.has_event("seeding") or s.p.poll() is not None, 30, "seeding")
        assert s.p.poll() is None, s.stderr_text()


def test_example_logs_extended_messages():
    with Cleanup() as c:
        prefix = install(c)
        b = cmake_build(c, os.path.join(SOURCE, "sdk", "examples", "ext_logger"), prefix)
        so = os.path.join(b, "ext_logger.so")
        assert exported(so) == ["sw_plugin_ext_logger_init"], exported(so)
        src = c.tempdir()
        files = [("payload/a.bin", 700_000)]
        swtest.make_tree(src, files)
        torrent = os.path.join(c.tempdir(), "t.torrent")
        swtest.cswarm_create(os.path.join(src, "payload"), torrent, 32768)
        ses, h, port = swtest.lt_seed(c, torrent, src)
        log = os.path.join(c.tempdir(), "ext.log")
        out = c.tempdir()
        os.environ["EXT_LOGGER_FILE"] = log
        try:
            dl = swtest.CswarmRun(c, ["download", "magnet:?xt=urn:btih:" +
                                      swtest.info_hash_hex(torrent), "-o", out,
                                      "--peer", "127.0.0.1:%d" % port, "--plugin", so])
        finally:
            del os.environ["EXT_LOGGER_FILE"]
        assert dl.wait_exit(120) == 0, dl.stderr_text()
        swtest.assert_same_files(src, out, [f for f, _ in files])
        with open(log) as f:
            text = f.read()
        swtest.log(text[:1500])
        assert "(libtorrent/2." in text and "speaks: " in text and "ut_metadata" in text, text
        assert "sent extended message 1 (ut_metadata)" in text, text
        # The metadata connection's summary, then the data connection's.
        lines = [l for l in text.splitlines() if " left (" in l]
        assert lines, text
        assert any(" 700000 block bytes" in l for l in lines), lines


def main():
    sys.exit(swtest.run_tests((test_template_builds_with_cmake_and_pkg_config,
              test_example_logs_extended_messages)))


if __name__ == "__main__":
    main()
