"""What the plugin benchmarks share: one timed cswarm->cswarm download on
127.0.0.1 with the same plugin options on both sides."""

import os
import shutil
import subprocess
import time

import swtest


def transfer(cswarm, src_dir, torrent, dst_dir, plugin_args, callgrind_out=None):
    """Seconds for the download (from start to exit) and the downloader's
    CPU seconds. With callgrind_out, the downloader runs under callgrind."""
    # Every run starts from the same seeder state (no resume data).
    shutil.rmtree(os.path.join(src_dir, ".cswarm"), ignore_errors=True)
    seed_port, dl_port = swtest.free_port(), swtest.free_port()
    sets = ["--set", "listen_interfaces=127.0.0.1"]
    seeder = subprocess.Popen([cswarm, "seed", torrent, "-d", src_dir, "--listen", str(seed_port),
                               "--json-progress"] + sets + plugin_args,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in seeder.stdout:
            if '"seeding"' in line:
                break
        t0 = time.time()
        wrap = []
        if callgrind_out:
            wrap = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + callgrind_out]
        dl = subprocess.Popen(wrap + [cswarm, "download", torrent, "-o", dst_dir, "--listen",
                                      str(dl_port), "--peer", "127.0.0.1:%d" % seed_port,
                                      "--quiet"] + sets + plugin_args,
                              stderr=subprocess.PIPE, text=True)
        err = dl.stderr.read()  # until the downloader exits (it writes little)
        _, status, ru = os.wait4(dl.pid, 0)
        elapsed = time.time() - t0
        dl.returncode = os.waitstatus_to_exitcode(status)
        if dl.returncode != 0:
            raise RuntimeError("cswarm download failed (%d): %s" % (dl.returncode, err[-500:]))
        if "warning: plugin" in err:
            raise RuntimeError("a plugin failed: " + err[-500:])
        return elapsed, ru.ru_utime + ru.ru_stime
    finally:
        seeder.send_signal(2)
        try:
            seeder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            seeder.kill()
            seeder.wait()
