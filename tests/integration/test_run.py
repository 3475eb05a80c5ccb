"""Running containers on the local runtime, driven by the docker CLI and
docker-py: run (attached, detached, -i, -it through tmux), exit codes and
start errors, logs, stop/kill/restart/pause, wait conditions, restart
policies, top and stats, limits, the daemon's kill -9 and restart, and the
isolation a container gets (capabilities, seccomp, pid namespace, workdir)."""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))

import docker  # noqa: E402

import registry  # noqa: E402
import testimages  # noqa: E402
from harness import DOCKER_CLI, ROOTLESS, Berth, RootlessUser, run_docker  # noqa: E402

# What a rootless daemon on this machine's cgroup v1 hierarchy says instead of limiting.
NO_LIMITS = "Resource limits are not supported and ignored on cgroups V1 rootless systems"
NO_CGROUPS = "rootless on cgroup v1: no cgroups for the daemon to use"

# dockerd's 14 default capabilities as /proc/<pid>/status shows them.
DEFAULT_CAPS = "00000000a80425fb"


class RunBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = registry.Registry()
        cls.reg.push("library/busybox", "latest", testimages.busybox())

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()

    def setUp(self):
        self.berth = Berth()
        self.earlier = []  # daemons this test replaced; their temp dirs go last
        self.addCleanup(self.stop_berth)
        self.docker("pull", "-q", "%s/library/busybox" % self.reg.address)
        self.docker("tag", "%s/library/busybox" % self.reg.address, "busybox")

    def stop_berth(self):
        # Containers outlive the daemon: remove them first.
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)
        self.berth.stop()
        for b in self.earlier:
            b.cleanup()

    def restart_berth(self, kill=False, while_down=None):
        """A new daemon on the same data root and socket (`while_down` is
        called between the two)."""
        old = self.berth
        if kill:
            os.kill(old.pid, signal.SIGKILL)
            old.proc.wait()
        else:
            old.stop(cleanup=False)
        self.earlier.append(old)
        if while_down:
            while_down()
        self.berth = Berth(data_root=old.data_root, sock=old.sock)

    def docker(self, *args, check=True, timeout=60, stdin=None):
        return run_docker(list(args), self.berth.url, check=check, timeout=timeout, stdin=stdin)

    def inspect(self, name):
        return json.loads(self.docker("inspect", name).stdout)[0]

    def wait_for(self, predicate, timeout=10.0, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = predicate()
            if v:
                return v
            time.sleep(0.05)
        self.fail("timed out waiting for " + what)


class Run(RunBase):
    def test_run_rm_prints_and_removes(self):
        r = self.docker("run", "--rm", "busybox", "echo", "hello")
        self.assertEqual(r.stdout, "hello\n")
        self.assertEqual(self.docker("ps", "-aq").stdout, "")

    def test_exit_code_and_separate_streams(self):
        r = self.docker("run", "--name", "codes", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stdout, "out\n")
        self.assertEqual(r.stderr, "err\n")
        state = self.inspect("codes")["State"]
        self.assertEqual(state["Status"], "exited")
        self.assertEqual(state["ExitCode"], 3)
        self.assertFalse(state["Running"])
        self.assertNotEqual(state["StartedAt"], "0001-01-01T00:00:00Z")
        self.assertNotEqual(state["FinishedAt"], "0001-01-01T00:00:00Z")
        logs = self.docker("logs", "codes")
        self.assertEqual((logs.stdout, logs.stderr), ("out\n", "err\n"))
        self.assertRegex(self.docker("ps", "-a", "--format", "{{.Status}}").stdout, r"^Exited \(3\) ")

    def test_start_errors_as_runc(self):
        r = self.docker("run", "--rm", "busybox", "nope", check=False)
        self.assertEqual(r.returncode, 127)
        self.assertIn('exec: "nope": executable file not found in $PATH', r.stderr)
        r = self.docker("run", "--rm", "busybox", "/nope", check=False)
        self.assertEqual(r.returncode, 127)
        self.assertIn("no such file or directory", r.stderr)
        r = self.docker("run", "--rm", "busybox", "/etc/passwd", check=False)
        self.assertEqual(r.returncode, 126)
        self.assertIn("permission denied", r.stderr)
        # --rm removed them even though they never ran.
        self.assertEqual(self.docker("ps", "-aq").stdout, "")
        self.docker("create", "--name", "bad", "busybox", "nope")
        r = self.docker("start", "bad", check=False)
        self.assertNotEqual(r.returncode, 0)
        state = self.inspect("bad")["State"]
        self.assertEqual(state["ExitCode"], 127)
        self.assertIn("executable file not found", state["Error"])

    def test_stdin_is_piped(self):
        r = self.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done", stdin="line one\nline two\n")
        self.assertEqual(r.stdout, "line one\nline two\ndone\n")

    def test_env_workdir_user_hostname(self):
        r = self.docker("run", "--rm", "-e", "A=1", "-w", "/tmp/new", "-u", "1000:1000", "-h", "box", "busybox",
                        "sh", "-c", "echo $A; pwd; id -u; id -g; hostname; cat /etc/hostname; echo $HOME")
        self.assertEqual(r.stdout, "1\n/tmp/new\n1000\n1000\nbox\nbox\n/\n")

    def test_logs_follow_tail_timestamps_and_partial_line(self):
        self.docker("run", "-d", "--name", "lg", "busybox", "sh", "-c",
                    "for i in 1 2 3; do echo line$i; sleep 0.2; done; echo warn >&2; printf partial")
        follow = self.docker("logs", "-f", "lg")  # returns when the container exits
        self.assertEqual(follow.stdout, "line1\nline2\nline3\npartial")
        self.assertEqual(follow.stderr, "warn\n")
        self.assertEqual(self.docker("logs", "--tail", "1", "lg").stdout, "partial")
        self.assertEqual(self.docker("logs", "--tail", "0", "lg").stdout, "")
        stamped = self.docker("logs", "-t", "lg").stdout.splitlines()
        self.assertEqual(len(stamped), 4)
        for line in stamped:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (line\d|partial)$")
        future = str(int(time.time()) + 3600)
        self.assertEqual(self.docker("logs", "--since", future, "lg").stdout, "")
        self.assertEqual(self.docker("logs", "--until", "1", "lg").stdout, "")

    def test_log_rotation_keeps_newest(self):
        self.docker("run", "--name", "rot", "--log-opt", "max-size=2k", "--log-opt", "max-file=2", "busybox", "sh", "-c",
                    "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done")
        lines = self.docker("logs", "rot").stdout.splitlines()
        self.assertEqual(lines[-1], "line-399")
        self.assertLess(len(lines), 400)
        # Consecutive: nothing lost in the middle of what is kept.
        first = int(lines[0].split("-")[1])
        self.assertEqual(lines, ["line-%d" % i for i in range(first, 400)])

    def test_stop_signal_timeout_and_kill(self):
        self.docker("run", "-d", "--name", "trap", "busybox", "sh", "-c",
                    "trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done")
        self.wait_for(lambda: self.inspect("trap")["State"]["Running"], what="running")
        time.sleep(0.3)  # the trap is set
        self.docker("stop", "trap")
        self.assertEqual(self.inspect("trap")["State"]["ExitCode"], 7)
        self.assertIn("got-term", self.docker("logs", "trap").stdout)
        # pid 1 without a handler ignores SIGTERM: SIGKILL after the timeout.
        self.docker("run", "-d", "--name", "stubborn", "busybox", "sleep", "100")
        t0 = time.time()
        self.docker("stop", "-t", "1", "stubborn")
        self.assertLess(time.time() - t0, 6)
        self.assertEqual(self.inspect("stubborn")["State"]["ExitCode"], 137)
        # stop on a stopped container is fine (304 underneath).
        self.docker("stop", "stubborn")
        self.docker("run", "-d", "--name", "usr", "busybox", "sh", "-c",
                    "trap 'echo usr1' USR1; while :; do sleep 0.1; done")
        time.sleep(0.3)
        self.docker("kill", "-s", "USR1", "usr")
        self.wait_for(lambda: "usr1" in self.docker("logs", "usr").stdout, what="USR1 handled")
        self.assertTrue(self.inspect("usr")["State"]["Running"])
        self.docker("kill", "usr")
        self.assertEqual(self.docker("wait", "usr").stdout, "137\n")
        r = self.docker("kill", "usr", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not running", r.stderr)
        r = self.docker("kill", "-s", "NOPE", "stubborn", check=False)
        self.assertIn("Invalid signal: NOPE", r.stderr)

    def test_pause_unpause(self):
        self.docker("run", "-d", "--name", "pz", "busybox", "sleep", "100")
        if ROOTLESS:
            r = self.docker("pause", "pz", check=False)
            self.assertEqual(r.stderr, "Error response from daemon: pausing containers needs cgroups, "
                                       "which a rootless daemon here cannot use\n")
            self.assertEqual(self.inspect("pz")["State"]["Status"], "running")
            return
        self.docker("pause", "pz")
        st = self.inspect("pz")["State"]
        self.assertEqual((st["Status"], st["Paused"], st["Running"]), ("paused", True, True))
        r = self.docker("pause", "pz", check=False)
        self.assertIn("is already paused", r.stderr)
        self.docker("unpause", "pz")
        self.assertEqual(self.inspect("pz")["State"]["Status"], "running")

    def test_restart_and_restart_policies(self):
        self.docker("run", "-d", "--name", "rs", "busybox", "sleep", "100")
        pid = self.inspect("rs")["State"]["Pid"]
        self.docker("restart", "-t", "0", "rs")
        st = self.inspect("rs")["State"]
        self.assertTrue(st["Running"])
        self.assertNotEqual(st["Pid"], pid)
        self.docker("run", "-d", "--name", "onfail", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 3")
        self.wait_for(lambda: self.inspect("onfail")["State"]["Status"] == "exited"
                      and self.inspect("onfail")["RestartCount"] == 2, timeout=15, what="two restarts")
        time.sleep(0.5)
        self.assertEqual(self.inspect("onfail")["RestartCount"], 2)
        self.assertEqual(self.docker("logs", "onfail").stdout, "run\nrun\nrun\n")
        self.docker("run", "-d", "--name", "always", "--restart", "always", "busybox", "sh", "-c", "exit 0")
        self.wait_for(lambda: self.inspect("always")["RestartCount"] >= 2, timeout=15, what="always restarting")
        self.docker("stop", "always")
        count = self.inspect("always")["RestartCount"]
        time.sleep(1)
        self.assertEqual(self.inspect("always")["RestartCount"], count)
        self.assertEqual(self.inspect("always")["State"]["Status"], "exited")

    def test_wait_conditions_over_the_api(self):
        cid = self.docker("create", "busybox", "sh", "-c", "sleep 0.5; exit 4").stdout.strip()
        # not-running answers at once for a created container.
        r = self.berth.request("POST", "/containers/%s/wait" % cid, timeout=5)
        self.assertEqual(r.json(), {"StatusCode": 0})
        cli = docker.DockerClient(base_url=self.berth.url)
        c = cli.containers.get(cid)
        c.start()
        self.assertEqual(c.wait(condition="next-exit", timeout=10), {"StatusCode": 4})
        c.start()
        import threading
        out = {}
        t = threading.Thread(target=lambda: out.update(r=cli.api.wait(cid, condition="removed", timeout=20)))
        t.start()
        time.sleep(1)
        c.remove(force=True)
        t.join(10)
        self.assertIn(out["r"]["StatusCode"], (4, 137))
        r = self.berth.request("POST", "/containers/%s/wait" % cid)
        self.assertEqual(r.status, 404)
        cid2 = self.docker("create", "busybox", "true").stdout.strip()
        r = self.berth.request("POST", "/containers/%s/wait?condition=bogus" % cid2)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["message"], 'invalid condition: "bogus"')

    def test_top_and_stats(self):
        self.docker("run", "-d", "--name", "tp", "busybox", "sleep", "100")
        top = self.docker("top", "tp").stdout.splitlines()
        self.assertIn("PID", top[0])
        self.assertEqual(len(top), 2)
        self.assertTrue(top[1].endswith("sleep 100"))
        r = self.berth.request("GET", "/containers/tp/top?ps_args=-o%20pid,comm").json()
        self.assertEqual(r["Titles"], ["PID", "COMMAND"])
        self.assertEqual([p[1] for p in r["Processes"]], ["sleep"])
        s = self.docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "tp").stdout
        self.assertEqual(s, "tp 1\n")
        doc = self.berth.request("GET", "/containers/tp/stats?stream=0&one-shot=1").json()
        for key in ("read", "preread", "pids_stats", "cpu_stats", "precpu_stats", "memory_stats", "name", "id"):
            self.assertIn(key, doc)
        self.assertGreater(doc["memory_stats"]["usage"], 0)
        self.assertEqual(doc["pids_stats"]["current"], 1)

    def test_memory_pids_cpu_limits_land_in_cgroups(self):
        r = self.docker("run", "-d", "-m", "32m", "--pids-limit", "20", "--cpus", "0.5", "busybox", "sleep", "100")
        cid = r.stdout.strip()
        if ROOTLESS:
            # A warning, as podman gives, never a silent no-op; and nothing made on the host.
            self.assertIn("WARNING: " + NO_LIMITS, r.stderr)
            self.assertEqual(glob.glob("/sys/fs/cgroup/*/**/berth/%s" % cid, recursive=True), [])
            return
        def cg(pattern):
            found = glob.glob(pattern % cid, recursive=True)
            self.assertEqual(len(found), 1, pattern)
            with open(found[0]) as f:
                return f.read().strip()
        if os.path.exists("/sys/fs/cgroup/memory"):
            self.assertEqual(cg("/sys/fs/cgroup/memory/**/berth/%s/memory.limit_in_bytes"), str(32 << 20))
            self.assertEqual(cg("/sys/fs/cgroup/pids/**/berth/%s/pids.max"), "20")
            self.assertEqual(cg("/sys/fs/cgroup/cpu/**/berth/%s/cpu.cfs_quota_us"), "50000")
        else:
            self.assertEqual(cg("/sys/fs/cgroup/**/berth/%s/memory.max"), str(32 << 20))
        self.docker("rm", "-f", cid)
        self.assertEqual(glob.glob("/sys/fs/cgroup/*/**/berth/%s" % cid, recursive=True), [])

    def test_init_reaps_and_forwards_signals(self):
        r = self.docker("run", "--rm", "--init", "busybox", "sh", "-c", "echo $$; ps -o pid,comm | awk '$1==1{print $2}'")
        pid, init = r.stdout.split()
        self.assertNotEqual(pid, "1")  # the program is not pid 1
        self.assertNotEqual(init, "sh")
        r = self.docker("run", "--rm", "--init", "busybox", "sh", "-c", "exit 3", check=False)
        self.assertEqual(r.returncode, 3)
        self.docker("run", "-d", "--init", "--name", "in", "busybox", "sleep", "100")
        t0 = time.time()
        self.docker("stop", "in")  # SIGTERM reaches sleep, which is not pid 1 here
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(self.inspect("in")["State"]["ExitCode"], 143)

    def test_healthcheck_states_events_and_filter(self):
        since = str(int(time.time()) - 1)
        self.docker("run", "-d", "--name", "hc", "--health-cmd", "test -f /tmp/ok && echo fine",
                    "--health-interval", "200ms", "--health-retries", "2", "--health-timeout", "2s",
                    "busybox", "sh", "-c", "sleep 1.5; touch /tmp/ok; sleep 100")
        self.assertEqual(self.inspect("hc")["State"]["Health"]["Status"], "starting")
        self.wait_for(lambda: self.inspect("hc")["State"]["Health"]["Status"] == "unhealthy", what="unhealthy")
        h = self.wait_for(lambda: (lambda h: h if h["Status"] == "healthy" else None)(self.inspect("hc")["State"]["Health"]),
                          what="healthy")
        self.assertEqual(h["FailingStreak"], 0)
        self.assertEqual(h["Log"][-1]["ExitCode"], 0)
        self.assertEqual(h["Log"][-1]["Output"], "fine\n")
        self.assertLessEqual(len(h["Log"]), 5)
        self.assertEqual(self.docker("ps", "--filter", "health=healthy", "--format", "{{.Names}}").stdout, "hc\n")
        self.assertRegex(self.docker("ps", "--format", "{{.Status}}").stdout, r"^Up .* \(healthy\)")
        ev = self.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                         "--filter", "container=hc", "--format", "{{.Action}}").stdout.split("\n")
        self.assertIn("health_status: unhealthy", ev)
        self.assertIn("health_status: healthy", ev)
        # A timeout counts as a failure with dockerd's text.
        self.docker("run", "-d", "--name", "slow", "--health-cmd", "sleep 5", "--health-interval", "100ms",
                    "--health-timeout", "300ms", "--health-retries", "1", "busybox", "sleep", "100")
        h = self.wait_for(lambda: (lambda h: h if h["Status"] == "unhealthy" else None)(self.inspect("slow")["State"]["Health"]),
                          what="timeout")
        self.assertEqual(h["Log"][-1]["Output"], "Health check exceeded timeout (300ms)")
        self.assertEqual(h["Log"][-1]["ExitCode"], -1)

    def test_update_diff_export(self):
        cid = self.docker("run", "-d", "--name", "up", "-m", "32m", "busybox", "sh", "-c",
                          "echo x > /etc/added; rm /etc/group; echo y >> /etc/passwd; sleep 100").stdout.strip()
        r = self.docker("update", "-m", "64m", "--memory-swap", "128m", "--restart", "on-failure:3", "up")
        self.assertEqual(r.stdout, "up\n" + (NO_LIMITS + "\n" if ROOTLESS else ""))
        hc = self.inspect("up")["HostConfig"]
        self.assertEqual((hc["Memory"], hc["MemorySwap"]), (64 << 20, 128 << 20))
        self.assertEqual(hc["RestartPolicy"], {"Name": "on-failure", "MaximumRetryCount": 3})
        if os.path.exists("/sys/fs/cgroup/memory") and not ROOTLESS:
            found = glob.glob("/sys/fs/cgroup/memory/**/berth/%s/memory.limit_in_bytes" % cid, recursive=True)
            with open(found[0]) as f:
                self.assertEqual(f.read().strip(), str(64 << 20))
        r = self.docker("update", "-m", "1m", "up", check=False)
        self.assertIn("Minimum memory limit allowed is 6MB", r.stderr)
        self.wait_for(lambda: "A /etc/added" in self.docker("diff", "up").stdout, what="the change")
        self.assertEqual(self.docker("diff", "up").stdout.splitlines(),
                         ["C /etc", "A /etc/added", "D /etc/group", "C /etc/passwd"])
        for state in ("running", "stopped"):
            if state == "stopped":
                self.docker("stop", "-t", "0", "up")
            out = self.path_tar("up")
            import tarfile
            with tarfile.open(out) as t:
                names = t.getnames()
                self.assertIn("etc/added", names)
                self.assertIn("bin/busybox", names)
                self.assertNotIn("etc/group", names)
                self.assertEqual(t.extractfile("etc/added").read(), b"x\n")
                self.assertFalse([n for n in names if n.startswith("proc/")], state)

    def path_tar(self, name):
        d = tempfile.mkdtemp(prefix="berth-export-")
        self.addCleanup(shutil.rmtree, d, True)
        out = os.path.join(d, "fs.tar")
        self.docker("export", "-o", out, name)
        return out

    def test_container_and_exec_events(self):
        since = str(int(time.time()) - 1)
        self.docker("run", "-d", "--name", "ev", "busybox", "sleep", "100")
        self.docker("exec", "ev", "true")
        if not ROOTLESS:
            self.docker("pause", "ev")
            self.docker("unpause", "ev")
        self.docker("kill", "ev")
        self.docker("wait", "ev")
        self.docker("rm", "ev")
        out = self.docker("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", "type=container",
                          "--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}").stdout
        actions = [line.split()[0] for line in out.splitlines()]
        for a in ("create", "start", "exec_create:", "exec_start:", "exec_die", "kill", "die", "destroy") + (
                () if ROOTLESS else ("pause", "unpause")):
            self.assertIn(a, actions)
        self.assertLess(actions.index("create"), actions.index("start"))
        self.assertLess(actions.index("die"), actions.index("destroy"))
        self.assertIn("die ev 137", out.splitlines())
        self.assertIn("exec_die ev 0", out.splitlines())

    def test_the_socket_bound_into_a_container_drives_berth(self):
        # Docker-outside-of-Docker as ryuk and CI jobs use it: the static docker CLI inside a
        # container, talking to Berth through the socket bound at /var/run/docker.sock.
        self.docker("run", "-d", "--name", "outer-peer", "busybox", "sleep", "60")
        r = self.docker("run", "--rm", "--name", "dood", "-e", "DOCKER_CONFIG=/tmp/dc",
                        "-v", "%s:/var/run/docker.sock" % self.berth.sock, "-v", "%s:/usr/bin/docker:ro" % DOCKER_CLI,
                        "busybox", "sh", "-c",
                        "docker version --format '{{.Server.Os}}' && docker run --rm busybox echo inner && "
                        "docker ps --format '{{.Names}}' | sort")
        self.assertEqual(r.stdout, "linux\ninner\ndood\nouter-peer\n")

    @unittest.skipIf(ROOTLESS, NO_CGROUPS)
    def test_oom_killed(self):
        r = self.docker("run", "--name", "oom", "-m", "8m", "--memory-swap", "8m", "busybox", "sh", "-c",
                        "x=a; while :; do x=$x$x; done", check=False, timeout=60)
        self.assertEqual(r.returncode, 137)
        st = self.inspect("oom")["State"]
        self.assertTrue(st["OOMKilled"])


    @unittest.skipIf(ROOTLESS, NO_CGROUPS)
    def test_forced_removal_in_progress(self):
        # A container frozen behind Berth's back takes SIGKILL only when
        # thawed, so `rm -f` waits; meanwhile the daemon keeps serving.
        self.docker("run", "-d", "--name", "slowrm", "--restart", "always", "busybox", "sleep", "300")
        pid = self.inspect("slowrm")["State"]["Pid"]
        freezer = None
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "freezer" in controllers.split(","):
                    freezer = "/sys/fs/cgroup/freezer%s/freezer.state" % path
                elif controllers == "" and freezer is None and os.path.exists("/sys/fs/cgroup%s/cgroup.freeze" % path):
                    freezer = "/sys/fs/cgroup%s/cgroup.freeze" % path
        self.assertIsNotNone(freezer)
        v1 = freezer.endswith("freezer.state")

        def freeze(on):
            with open(freezer, "w") as f:
                f.write(("FROZEN" if on else "THAWED") if v1 else ("1" if on else "0"))
        freeze(True)
        self.addCleanup(lambda: os.path.exists(freezer) and freeze(False))
        first = {}
        remover = threading.Thread(target=lambda: first.update(r=self.docker("rm", "-f", "slowrm", check=False)))
        remover.start()

        def kill_pending():
            with open("/proc/%d/status" % pid) as f:
                return any(line.startswith("ShdPnd:") and int(line.split()[1], 16) & (1 << (signal.SIGKILL - 1))
                           for line in f)
        self.wait_for(kill_pending, what="the first rm -f to send SIGKILL")
        self.assertEqual(self.docker("rm", "-f", "slowrm", check=False).stderr.strip(),
                         "Error response from daemon: removal of container /slowrm is already in progress")
        # Still running, so a start is dockerd's 304 (the CLI prints the name).
        self.assertEqual(self.docker("start", "slowrm").stdout, "slowrm\n")
        # Not queued behind the removal: creating and renaming others still work.
        t0 = time.monotonic()
        self.docker("create", "--name", "other", "busybox", "true")
        self.docker("rename", "other", "other2")
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertTrue(remover.is_alive())
        freeze(False)
        remover.join(30)
        r = first["r"]
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "slowrm\n", ""))
        # The restart policy did not bring it back after the kill.
        self.assertEqual(self.docker("ps", "-a", "--format", "{{.Names}}").stdout, "other2\n")


class WebSocketAttach(RunBase):
    """GET /containers/{id}/attach/ws driven by the npm `ws` client."""

    NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")

    def ws(self, path, stdin=""):
        if not os.path.isdir(os.path.join(self.NODE_DIR, "node_modules", "ws")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=self.NODE_DIR,
                           check=True, timeout=600)
        env = dict(os.environ, BERTH_SOCKET=self.berth.sock, BERTH_WS_PATH=path, BERTH_WS_STDIN=stdin)
        r = subprocess.run(["node", "ws_attach.mjs"], cwd=self.NODE_DIR, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def test_attach_over_websocket(self):
        self.docker("run", "-d", "-i", "--name", "wsa", "busybox", "sh", "-c", "read l; echo got:$l; sleep 0.2; echo err >&2")
        out = self.ws("/v1.51/containers/wsa/attach/ws?stream=1&stdin=1&stdout=1&stderr=1", "hello\n")
        # Unmultiplexed output in binary messages, then the close frame when the container exits.
        self.assertEqual(out["status"], 101)
        self.assertEqual([m["text"] for m in out["messages"]], ["got:hello\n", "err\n"])
        self.assertEqual([m["binary"] for m in out["messages"]], [True, True])
        self.assertEqual(out["closeCode"], 1000)
        self.assertEqual(self.docker("wait", "wsa").stdout, "0\n")
        # Before API 1.42 the messages are text; logs=1 replays what was written.
        out = self.ws("/v1.41/containers/wsa/attach/ws?logs=1&stdout=1&stderr=1")
        self.assertEqual("".join(m["text"] for m in out["messages"]), "got:hello\nerr\n")
        self.assertEqual({m["binary"] for m in out["messages"]}, {False})
        self.assertEqual(out["closeCode"], 1000)
        # Errors come before the upgrade, as JSON.
        self.assertEqual(self.ws("/v1.51/containers/nope/attach/ws?stream=1&stdout=1"),
                         {"status": 404, "body": '{"message":"No such container: nope"}\n'})
        r = self.berth.request("GET", "/containers/wsa/attach/ws?stream=1&stdout=1")
        self.assertEqual((r.status, r.json()["message"]),
                         (400, "not a websocket handshake: want GET with Upgrade: websocket"))


class Exec(RunBase):
    def test_exec_streams_codes_user_env(self):
        self.docker("run", "-d", "--name", "ex", "busybox", "sleep", "100")
        r = self.docker("exec", "ex", "sh", "-c", "echo hi; echo err >&2; exit 4", check=False)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (4, "hi\n", "err\n"))
        r = self.docker("exec", "-i", "ex", "cat", stdin="piped\n")
        self.assertEqual(r.stdout, "piped\n")
        r = self.docker("exec", "-u", "1000", "-w", "/tmp/w", "-e", "X=y", "ex", "sh", "-c",
                        "id -u; pwd; echo $X; grep CapEff /proc/self/status")
        self.assertEqual(r.stdout, "1000\n/tmp/w\ny\nCapEff:\t0000000000000000\n")
        r = self.docker("exec", "ex", "nope", check=False)
        self.assertEqual(r.returncode, 127)
        self.assertIn('exec: "nope": executable file not found in $PATH', r.stdout + r.stderr)
        self.docker("exec", "-d", "ex", "sleep", "7")
        self.wait_for(lambda: "sleep 7" in self.docker("top", "ex").stdout, what="the detached exec")

    def test_exec_holds_only_stdio_and_sees_the_container(self):
        self.docker("run", "-d", "--name", "ex2", "busybox", "sleep", "100")
        # ls opens the directory itself: 0, 1, 2 and its own fd are all there is.
        r = self.docker("exec", "ex2", "ls", "/proc/self/fd")
        self.assertEqual(r.stdout.split(), ["0", "1", "2", "3"])
        r = self.docker("exec", "ex2", "sh", "-c", "ps -o pid,comm | tail -n +2")
        pids = [line.split()[0] for line in r.stdout.splitlines()]
        self.assertEqual(pids[0], "1")
        r = self.docker("exec", "-w", "/proc/self/fd/5", "ex2", "pwd", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("working directory", r.stdout + r.stderr)

    def test_exec_with_docker_py(self):
        cli = docker.DockerClient(base_url=self.berth.url)
        c = cli.containers.run("busybox", ["sleep", "100"], detach=True)
        res = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 3"], demux=True)
        self.assertEqual(res.exit_code, 3)
        self.assertEqual(res.output, (b"out\n", b"err\n"))
        res = c.exec_run("hostname")
        self.assertEqual(res.output.decode().strip(), c.id[:12])
        eid = cli.api.exec_create(c.id, ["true"])["Id"]
        cli.api.exec_start(eid)
        info = cli.api.exec_inspect(eid)
        self.assertEqual((info["ExitCode"], info["Running"], info["ContainerID"]), (0, False, c.id))
        r = self.berth.request("GET", "/exec/nope/json")
        self.assertEqual((r.status, r.json()["message"]), (404, "No such exec instance: nope"))
        c.kill()
        c.wait()
        r = self.berth.request("POST", "/containers/%s/exec" % c.id, body=b'{"Cmd":["true"]}',
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 409)
        self.assertIn("is not running", r.json()["message"])


class Archive(RunBase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="berth-cp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def test_copy_before_start_running_and_stopped(self):
        with open(self.path("a.txt"), "w") as f:
            f.write("host file\n")
        os.makedirs(self.path("tree", "sub"))
        with open(self.path("tree", "sub", "y"), "w") as f:
            f.write("deep\n")
        self.docker("create", "--name", "c1", "busybox", "sh", "-c", "cat /etc/new.txt /etc/tree/sub/y; ls /bin/sh")
        self.docker("cp", self.path("a.txt"), "c1:/etc/new.txt")
        self.docker("cp", self.path("tree"), "c1:/etc/tree")
        r = self.docker("start", "-a", "c1")
        self.assertEqual(r.stdout, "host file\ndeep\n/bin/sh\n")  # the image's own files are still there
        # Out of a stopped container.
        self.docker("cp", "c1:/etc/new.txt", self.path("back.txt"))
        with open(self.path("back.txt")) as f:
            self.assertEqual(f.read(), "host file\n")
        # Both ways while running.
        self.docker("run", "-d", "--name", "c2", "busybox", "sh", "-c", "echo made > /tmp/out; sleep 100")
        self.wait_for(lambda: self.docker("exec", "c2", "cat", "/tmp/out", check=False).stdout == "made\n",
                      what="the file")
        self.docker("cp", "c2:/tmp/out", self.path("out"))
        with open(self.path("out")) as f:
            self.assertEqual(f.read(), "made\n")
        self.docker("cp", self.path("a.txt"), "c2:/tmp/")
        self.assertEqual(self.docker("exec", "c2", "cat", "/tmp/a.txt").stdout, "host file\n")
        r = self.docker("cp", "c2:/nope", self.path("x"), check=False)
        self.assertIn("Could not find the file /nope in container c2", r.stderr)

    def test_archive_api_stat_header_and_errors(self):
        import base64
        self.docker("run", "-d", "--name", "c3", "busybox", "sh", "-c", "ln -s /etc/passwd /tmp/lnk; sleep 100")
        self.wait_for(lambda: self.docker("exec", "c3", "ls", "/tmp/lnk", check=False).returncode == 0, what="link")
        r = self.berth.request("HEAD", "/containers/c3/archive?path=/tmp/lnk")
        self.assertEqual(r.status, 200)
        st = json.loads(base64.b64decode(r.header("X-Docker-Container-Path-Stat")))
        self.assertEqual((st["name"], st["linkTarget"]), ("lnk", "/etc/passwd"))
        self.assertEqual(st["mode"] & (1 << 27), 1 << 27)  # Go's ModeSymlink
        r = self.berth.request("HEAD", "/containers/c3/archive?path=/etc")
        st = json.loads(base64.b64decode(r.header("X-Docker-Container-Path-Stat")))
        self.assertEqual(st["mode"] & (1 << 31), 1 << 31)  # ModeDir
        r = self.berth.request("HEAD", "/containers/c3/archive?path=/missing")
        self.assertEqual((r.status, r.body), (404, b""))
        r = self.berth.request("PUT", "/containers/c3/archive?path=/etc/passwd", body=b"\0" * 1024)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["message"], "extraction point is not a directory")
        cli = docker.APIClient(base_url=self.berth.url)
        import io, tarfile
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            data = b"from docker-py"
            info = tarfile.TarInfo("dp/file.txt")
            info.size = len(data)
            info.uid = 1234
            t.addfile(info, io.BytesIO(data))
        self.assertTrue(cli.put_archive("c3", "/tmp", buf.getvalue()))
        r = self.docker("exec", "c3", "stat", "-c", "%u %s", "/tmp/dp/file.txt")
        self.assertEqual(r.stdout, "1234 14\n")
        stream, stat = cli.get_archive("c3", "/tmp/dp")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
            self.assertEqual(sorted(t.getnames()), ["dp", "dp/file.txt"])
            self.assertEqual(t.extractfile("dp/file.txt").read(), b"from docker-py")
        self.assertEqual(stat["name"], "dp")
        # noOverwriteDirNonDir: a file may not replace the directory /tmp/dp.
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            info = tarfile.TarInfo("dp")
            info.size = 0
            t.addfile(info, io.BytesIO(b""))
        r = self.berth.request("PUT", "/containers/c3/archive?path=/tmp&noOverwriteDirNonDir=1", body=buf.getvalue())
        self.assertEqual(r.status, 400)
        self.assertIn("cannot overwrite directory", r.json()["message"])

    def test_symlinks_never_lead_to_the_host(self):
        # CVE-2018-15664: paths are resolved inside the container's root.
        marker_dir = tempfile.mkdtemp(prefix="berth-host-")
        self.addCleanup(shutil.rmtree, marker_dir, True)
        with open(os.path.join(marker_dir, "secret"), "w") as f:
            f.write("host secret")
        self.docker("run", "-d", "--name", "evil", "busybox", "sh", "-c",
                    "mkdir -p %s; ln -s %s /out; ln -s / /root-link; ln -s ../../../../.. /up; sleep 100"
                    % (os.path.dirname(marker_dir), marker_dir))
        self.wait_for(lambda: self.docker("exec", "evil", "ls", "/up", check=False).returncode == 0, what="links")
        for p in ("/out/secret", "/root-link%s/secret" % marker_dir, "/up%s/secret" % marker_dir):
            r = self.docker("cp", "evil:" + p, self.path("got"), check=False)
            self.assertNotEqual(r.returncode, 0, p)
            self.assertFalse(os.path.exists(self.path("got")))
        with open(self.path("payload"), "w") as f:
            f.write("written through a link")
        self.docker("cp", self.path("payload"), "evil:/out/", check=False)
        self.assertEqual(sorted(os.listdir(marker_dir)), ["secret"])
        self.docker("stop", "-t", "0", "evil")
        self.docker("cp", self.path("payload"), "evil:/out/", check=False)
        self.assertEqual(sorted(os.listdir(marker_dir)), ["secret"])


class Isolation(RunBase):
    def test_default_capabilities_and_drops(self):
        r = self.docker("run", "--rm", "busybox", "grep", "CapEff", "/proc/self/status")
        self.assertEqual(r.stdout.split()[1], DEFAULT_CAPS)
        r = self.docker("run", "--rm", "--cap-drop", "ALL", "--cap-add", "CHOWN", "busybox", "grep", "CapEff",
                        "/proc/self/status")
        self.assertEqual(r.stdout.split()[1], "0000000000000001")
        r = self.docker("run", "--rm", "-u", "1000", "busybox", "grep", "CapEff", "/proc/self/status")
        self.assertEqual(r.stdout.split()[1], "0000000000000000")
        r = self.docker("run", "--rm", "--cap-add", "NOPE", "busybox", "true", check=False)
        self.assertIn('unknown capability: "CAP_NOPE"', r.stderr)

    def test_no_host_processes_and_own_hostname(self):
        r = self.docker("run", "--rm", "busybox", "sh", "-c", "ls /proc | grep -c '^[0-9]'")
        self.assertLessEqual(int(r.stdout), 3)  # sh, ls, grep
        r = self.docker("run", "--rm", "busybox", "ps", "-o", "pid,comm")
        self.assertEqual(r.stdout.split()[2:4], ["1", "ps"])

    def test_seccomp_and_mounts_refused(self):
        r = self.docker("run", "--rm", "busybox", "sh", "-c", "unshare -n true; echo rc=$?")
        self.assertIn("rc=1", r.stdout)
        self.assertIn("Operation not permitted", r.stderr)
        r = self.docker("run", "--rm", "busybox", "sh", "-c", "mount -t tmpfs x /mnt; echo rc=$?")
        self.assertRegex(r.stdout, r"rc=[1-9]")
        r = self.docker("run", "--rm", "--security-opt", "seccomp=unconfined", "--cap-add", "SYS_ADMIN", "busybox",
                        "sh", "-c", "unshare -n true; echo rc=$?")
        self.assertIn("rc=0", r.stdout)

    def test_masked_and_readonly_paths(self):
        r = self.docker("run", "--rm", "busybox", "sh", "-c",
                        "cat /proc/timer_list | wc -c; echo 1 > /proc/sys/kernel/panic; echo rc=$?; ls /sys/firmware | wc -l")
        self.assertEqual(r.stdout.split(), ["0", "rc=1", "0"])
        r = self.docker("run", "--rm", "--read-only", "busybox", "touch", "/x", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Read-only file system", r.stderr)
        r = self.docker("run", "--rm", "--read-only", "--tmpfs", "/scratch", "busybox", "sh", "-c",
                        "touch /scratch/x && echo ok")
        self.assertEqual(r.stdout, "ok\n")

    def test_workdir_through_proc_fd_is_refused(self):
        # CVE-2024-21626: a workdir of /proc/self/fd/N must not reach a leaked host directory.
        for n in (3, 4, 5, 7, 8):
            r = self.docker("run", "--rm", "-w", "/proc/self/fd/%d" % n, "busybox", "pwd", check=False)
            self.assertNotEqual(r.returncode, 0, r)
            self.assertIn("working directory", r.stderr)

    def test_devices_are_the_minimal_set(self):
        r = self.docker("run", "--rm", "busybox", "ls", "/dev")
        self.assertEqual(sorted(r.stdout.split()),
                         sorted(["core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr",
                                 "stdin", "stdout", "tty", "urandom", "zero"]))
        r = self.docker("run", "--rm", "busybox", "sh", "-c",
                        "mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda; echo rc=$?")
        self.assertIn("rc=1", r.stdout)  # the devices cgroup refuses it

    def test_binds_and_volumes(self):
        d = tempfile.mkdtemp(prefix="berth-bind-")
        self.addCleanup(shutil.rmtree, d, True)
        if ROOTLESS:
            RootlessUser.get().own(d)  # the container's root is that user
        with open(os.path.join(d, "in.txt"), "w") as f:
            f.write("from host")
        r = self.docker("run", "--rm", "-v", "%s:/data" % d, "-v", "vol1:/vol", "busybox", "sh", "-c",
                        "cat /data/in.txt; echo out > /data/out.txt; echo v > /vol/f")
        self.assertEqual(r.stdout, "from host")
        with open(os.path.join(d, "out.txt")) as f:
            self.assertEqual(f.read(), "out\n")
        r = self.docker("run", "--rm", "-v", "vol1:/vol:ro", "busybox", "sh", "-c", "cat /vol/f; touch /vol/g",
                        check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "v\n")
        self.assertIn("Read-only file system", r.stderr)

    def test_a_fresh_volume_gets_the_image_files(self):
        layer = testimages.LayerBuilder()
        layer.dir("etc/app", 0o750, owner=(1234, 1234))
        layer.file("etc/app/app.conf", b"port=80\n", 0o640, owner=(1234, 1234))
        layer.symlink("etc/app/passwd", "/etc/passwd")
        layer.dir("srv", 0o700, owner=(999, 999))  # an empty VOLUME: the volume takes its owner and mode
        self.reg.push("test/seeded", "1", testimages.busybox_over(layer.finish(), volumes=["/etc/app", "/srv"]))
        image = "%s/test/seeded:1" % self.reg.address
        self.docker("pull", "-q", image)
        listing = "ls -ln /etc/app | awk 'NR>1 {print $1, $3, $4, $9, $10, $11}'; stat -c '%a %u %g' /etc/app /srv"
        want = "-rw-r----- 1234 1234 app.conf  \nlrwxrwxrwx 0 0 passwd -> /etc/passwd\n750 1234 1234\n700 999 999\n"
        # The image's VOLUMEs (anonymous volumes), a named volume, --mount: each copied up when empty.
        self.assertEqual(self.docker("run", "--rm", image, "sh", "-c", listing).stdout, want)
        self.assertEqual(self.docker("run", "--rm", "-v", "seeded:/etc/app", image, "sh", "-c",
                                     "cat /etc/app/app.conf; echo changed > /etc/app/app.conf").stdout, "port=80\n")
        # Not again once it has files: the volume keeps what containers wrote.
        self.assertEqual(self.docker("run", "--rm", "--mount", "type=volume,src=seeded,dst=/etc/app", image,
                                     "cat", "/etc/app/app.conf").stdout, "changed\n")
        # nocopy: the volume stays empty, in both spellings.
        r = self.docker("run", "--rm", "-v", "bare:/etc/app:nocopy", image, "ls", "-A", "/etc/app")
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.docker("volume", "inspect", "-f", "{{.Name}}", "bare").stdout, "bare\n")
        r = self.docker("run", "--rm", "--mount", "type=volume,src=bare2,dst=/etc/app,volume-nocopy", image,
                        "ls", "-A", "/etc/app")
        self.assertEqual(r.stdout, "")
        self.docker("create", "--name", "modes", "-v", "bare3:/etc/app:ro,nocopy", image)
        self.assertEqual([m["Mode"] for m in self.inspect("modes")["Mounts"] if m["Destination"] == "/etc/app"],
                         ["ro,nocopy"])


class Survival(RunBase):
    def test_daemon_kill9_and_restart(self):
        self.docker("run", "-d", "--name", "counter", "busybox", "sh", "-c",
                    "i=0; while :; do echo tick-$i; i=$((i+1)); sleep 0.1; done")
        self.docker("run", "-d", "--name", "short", "busybox", "sh", "-c", "sleep 1; exit 5")
        pid = self.inspect("counter")["State"]["Pid"]
        os.kill(self.berth.pid, signal.SIGKILL)
        self.berth.proc.wait()
        time.sleep(1.5)  # "short" exits while no daemon runs
        self.earlier.append(self.berth)
        self.berth = Berth(data_root=self.berth.data_root, sock=self.berth.sock)
        st = self.inspect("counter")["State"]
        self.assertTrue(st["Running"])
        self.assertEqual(st["Pid"], pid)
        os.kill(pid, 0)  # the same process
        short = self.inspect("short")["State"]
        self.assertEqual((short["Status"], short["ExitCode"]), ("exited", 5))
        # Logs still flow, wait and attach work again.
        n1 = len(self.docker("logs", "counter").stdout.splitlines())
        time.sleep(0.5)
        n2 = len(self.docker("logs", "counter").stdout.splitlines())
        self.assertGreater(n2, n1)
        cli = docker.APIClient(base_url=self.berth.url)
        sock = cli.attach_socket("counter", params={"stdout": 1, "stream": 1})
        data = sock._sock.recv(4096)
        self.assertIn(b"tick-", data)
        sock.close()
        self.docker("kill", "counter")
        self.assertEqual(self.docker("wait", "counter").stdout, "137\n")

    def test_restart_policy_across_daemon_restart(self):
        self.docker("run", "-d", "--name", "alw", "--restart", "always", "busybox", "sleep", "100")
        self.docker("run", "-d", "--name", "unl", "--restart", "unless-stopped", "busybox", "sleep", "100")
        self.docker("stop", "-t", "0", "unl")
        self.docker("stop", "-t", "0", "alw")
        self.restart_berth()
        self.assertTrue(self.inspect("alw")["State"]["Running"])
        self.assertFalse(self.inspect("unl")["State"]["Running"])


class Tty(RunBase):
    def test_interactive_shell_through_tmux(self):
        session = "berth-tty-%d" % os.getpid()
        env = dict(os.environ, DOCKER_HOST=self.berth.url)
        cfg = tempfile.mkdtemp(prefix="berth-dcfg-")
        self.addCleanup(shutil.rmtree, cfg, True)
        env["DOCKER_CONFIG"] = cfg
        rc_file = os.path.join(cfg, "rc")
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30",
                        "docker run -it --name tty busybox sh; echo $? > %s; sleep 30" % rc_file],
                       env=env, check=True)
        self.addCleanup(subprocess.run, ["tmux", "kill-session", "-t", session], check=False)

        def screen():
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                  text=True).stdout
        self.wait_for(lambda: "#" in screen(), timeout=20, what="the shell prompt")
        subprocess.run(["tmux", "send-keys", "-t", session, "echo $((6*7)) $(tty)", "Enter"], check=True)
        self.wait_for(lambda: "42 /dev/" in screen(), what="the answer")
        subprocess.run(["tmux", "send-keys", "-t", session, "stty size", "Enter"], check=True)
        self.wait_for(lambda: re.search(r"^\d+ 100\s*$", screen(), re.M), what="the terminal size")
        subprocess.run(["tmux", "send-keys", "-t", session, "exit 5", "Enter"], check=True)
        self.wait_for(lambda: os.path.exists(rc_file) and open(rc_file).read().strip(), what="docker run to end")
        with open(rc_file) as f:
            self.assertEqual(f.read().strip(), "5")
        self.assertEqual(self.inspect("tty")["State"]["ExitCode"], 5)


class DockerPy(RunBase):
    def test_run_wait_logs_stats(self):
        cli = docker.DockerClient(base_url=self.berth.url)
        out = cli.containers.run("busybox", ["sh", "-c", "echo a; echo b >&2"], remove=True)
        self.assertEqual(out, b"a\n")
        out = cli.containers.run("busybox", ["sh", "-c", "echo a; echo b >&2"], remove=True, stderr=True, stdout=False)
        self.assertEqual(out, b"b\n")
        c = cli.containers.run("busybox", ["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done"], detach=True)
        lines = list(c.logs(stream=True, follow=True))
        self.assertEqual(b"".join(lines), b"1\n2\n3\n")
        self.assertEqual(c.wait(), {"StatusCode": 0})
        c.reload()
        self.assertEqual(c.status, "exited")
        c2 = cli.containers.run("busybox", ["sleep", "100"], detach=True)
        s = c2.stats(stream=False)
        self.assertIn("memory_stats", s)
        self.assertEqual(s["name"], "/" + c2.name)
        c2.kill()
        self.assertEqual(c2.wait()["StatusCode"], 137)
        with self.assertRaises(docker.errors.ContainerError) as e:
            cli.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 2"])
        self.assertEqual(e.exception.exit_status, 2)


if __name__ == "__main__":
    unittest.main()
