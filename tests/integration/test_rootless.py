"""`berth serve` as a normal user with no flags: the user's default socket,
data root and config file, and `docker info` says rootless."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import stat
import sys

from harness import berth_bin, http_request, run_docker

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))
import registry  # noqa: E402
import testimages  # noqa: E402

NOBODY = 65534


@unittest.skipUnless(os.geteuid() == 0, "needs root to drop to another uid")
class RootlessDefaultsTest(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="berth-user-")
        self.addCleanup(shutil.rmtree, self.home, ignore_errors=True)
        self.runtime = os.path.join(self.home, "run")
        os.mkdir(self.runtime, 0o700)
        for d in (self.home, self.runtime):
            os.chown(d, NOBODY, NOBODY)
        os.chmod(self.home, 0o755)
        binary = os.path.realpath(berth_bin())
        # The binary must be reachable by the unprivileged user.
        if not os.access(binary, os.X_OK) or any(
                not (os.stat(p).st_mode & 0o001) for p in self._parents(binary)):
            self.skipTest("berth binary not reachable by uid %d" % NOBODY)
        self.binary = binary

    @staticmethod
    def _parents(path):
        p = os.path.dirname(path)
        while p and p != "/":
            yield p
            p = os.path.dirname(p)

    def _drop(self):
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    def _serve(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "XDG_RUNTIME_DIR": self.runtime}
        proc = subprocess.Popen([self.binary, "serve"], env=env, preexec_fn=self._drop,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return proc

    def test_unprivileged_pull_unpacks_in_overlay_user_form(self):
        proc, url = self._start_and_wait()
        sock = url[len("unix://"):]
        with registry.Registry() as reg:
            reg.push("layered", "v1", testimages.layered(size_mb=8))
            ref = "%s/layered:v1" % reg.address
            out = run_docker(["pull", ref], "unix://" + sock).stdout
            self.assertIn("Status: Downloaded newer image for %s" % ref, out)
        img = json.loads(run_docker(["image", "inspect", ref], "unix://" + sock).stdout)[0]
        top, middle, base = img["GraphDriver"]["Data"]["LowerDir"].split(":")
        self.assertTrue(top.startswith(os.path.join(self.home, ".local", "share", "berth", "snapshots")))
        st = os.lstat(os.path.join(middle, "data/delete-me"))
        self.assertTrue(stat.S_ISCHR(st.st_mode))
        self.assertEqual(st.st_rdev, 0)
        self.assertEqual(os.getxattr(os.path.join(top, "data/opaque"), "user.overlay.opaque"), b"y")
        self.assertEqual(os.stat(os.path.join(base, "data/delete-me")).st_uid, NOBODY)
        proc.terminate()
        self.assertEqual(proc.wait(15), 0)

    def _start_and_wait(self):
        proc = self._serve()

        def stop():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(15)
            proc.stderr.close()
        self.addCleanup(stop)
        sock = os.path.join(self.runtime, "berth", "berth.sock")
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            self.assertIsNone(proc.poll(), "berth exited")
            self.assertLess(time.monotonic(), deadline, "no socket at %s" % sock)
            time.sleep(0.05)
        return proc, "unix://" + sock

    def test_containers_run_in_a_user_namespace(self):
        proc, url = self._start_and_wait()
        with registry.Registry() as reg:
            reg.push("library/busybox", "latest", testimages.busybox())
            run_docker(["pull", "-q", "%s/library/busybox" % reg.address], url)
            run_docker(["tag", "%s/library/busybox" % reg.address, "busybox"], url)
        # Root inside is the daemon's user outside.
        r = run_docker(["run", "--rm", "busybox", "sh", "-c", "id -u; cat /proc/self/uid_map"], url)
        self.assertEqual(r.stdout.split(), ["0", "0", str(NOBODY), "1"])
        # Logs, exec, stop as on a root daemon.
        run_docker(["run", "-d", "--name", "svc", "busybox", "sh", "-c", "echo started; sleep 100"], url)
        self.assertEqual(run_docker(["exec", "svc", "echo", "hi"], url).stdout, "hi\n")
        deadline = time.monotonic() + 10
        while run_docker(["logs", "svc"], url).stdout != "started\n":
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        run_docker(["stop", "-t", "1", "svc"], url)
        self.assertEqual(run_docker(["inspect", "-f", "{{.State.ExitCode}}", "svc"], url).stdout, "137\n")
        # Limits cannot be applied without cgroup delegation: a warning, not a silent no-op.
        # A root-owned host file stays unwritable for the container's root.
        guarded = os.path.join(self.home, "guarded")
        with open(guarded, "w") as f:
            f.write("root's")
        os.chmod(guarded, 0o644)
        r = run_docker(["run", "--rm", "-v", "%s:/g" % guarded, "busybox", "sh", "-c",
                        "echo pwned > /g; echo rc=$?; cat /g"], url, check=False)
        self.assertIn("rc=1", r.stdout)
        with open(guarded) as f:
            self.assertEqual(f.read(), "root's")
        run_docker(["rm", "-f", "svc"], url)
        proc.terminate()
        self.assertEqual(proc.wait(15), 0)

    def test_user_defaults_and_rootless_info(self):
        proc, url = self._start_and_wait()
        sock = url[len("unix://"):]
        st = os.stat(sock)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (NOBODY, 0o660))

        r = http_request(sock, "GET", "/info", timeout=10)
        self.assertEqual(r.status, 200, r)
        info = r.json()
        data_root = os.path.join(self.home, ".local", "share", "berth")
        self.assertEqual(info["DockerRootDir"], data_root)
        self.assertIn("name=rootless", info["SecurityOptions"])
        self.assertTrue(os.path.exists(os.path.join(data_root, "state.db")))
        self.assertEqual(os.stat(os.path.join(data_root, "state.db")).st_uid, NOBODY)
        # The docker CLI works against the user's socket too.
        out = run_docker(["info", "--format", "{{json .SecurityOptions}}"], "unix://" + sock)
        self.assertIn("name=rootless", json.loads(out.stdout))

        proc.terminate()
        self.assertEqual(proc.wait(15), 0)
        self.assertFalse(os.path.exists(sock))


if __name__ == "__main__":
    unittest.main()
