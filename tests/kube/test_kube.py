"""The kube backend on the real test cluster (tests/kube/cluster-up): the
real berth binary with --backend kube, driven by the docker CLI and
docker-py; what it made checked with kubectl.

Needs KUBECONFIG and BERTH_TEST_REGISTRY as cluster-up prints them
(tests/kube/run-suite sets both up and tears the cluster down)."""

import calendar
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import docker  # noqa: E402

from harness import DOCKER_CLI, Berth, clean_env, run_docker  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "images"))
import registry  # noqa: E402
import testimages  # noqa: E402

REGISTRY = os.environ.get("BERTH_TEST_REGISTRY", "")
KUBECONFIG = os.environ.get("KUBECONFIG", "")
KUBECTL = os.environ.get("KUBECTL", "kubectl")
BUSYBOX = "%s/busybox" % REGISTRY


def kubectl(*args, check=True):
    r = subprocess.run([KUBECTL, "--kubeconfig", KUBECONFIG, *args], capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("kubectl %s: %s" % (" ".join(args), r.stderr))
    return r


def berth_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["KUBECONFIG"] = KUBECONFIG
    return env


@unittest.skipUnless(REGISTRY and KUBECONFIG, "needs the test cluster (tests/kube/run-suite)")
class KubeBase(unittest.TestCase):
    helper_image = None
    berth_flags = ()  # a class's extra `berth serve` flags

    def setUp(self):
        self.berth = self.start_berth()
        self.earlier = []
        self.addCleanup(self.stop_berth)

    def start_berth(self, data_root=None, sock=None):
        return Berth("--backend", "kube", "--helper-image", "%s/berth/helper:test" % REGISTRY,
                     "--pod-name-prefix", "it", "--timeout", "60s", *self.berth_flags, data_root=data_root, sock=sock,
                     env=berth_env(), start_timeout=30)

    def stop_berth(self):
        try:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
        finally:
            self.berth.stop()
            for b in self.earlier:
                b.cleanup()

    def docker(self, *args, check=True, timeout=120, stdin=None):
        return run_docker(list(args), self.berth.url, check=check, timeout=timeout, stdin=stdin)

    def inspect(self, name):
        return json.loads(self.docker("inspect", name).stdout)[0]

    def pod_of(self, name):
        return "it-" + self.inspect(name)["Id"][:12]

    def pod(self, pod):
        r = kubectl("get", "pod", pod, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def wait_for(self, predicate, timeout=30.0, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = predicate()
            if v:
                return v
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)


class Lifecycle(KubeBase):
    def test_run_detached_wait_exit_code_and_separate_streams(self):
        cid = self.docker("run", "-d", "--name", "codes", "--label", "suite=kube", BUSYBOX,
                          "sh", "-c", "echo out; echo err >&2; exit 3").stdout.strip()
        self.assertEqual(self.docker("wait", "codes").stdout, "3\n")
        logs = self.docker("logs", "codes")
        self.assertEqual(logs.stdout, "out\n")
        self.assertEqual(logs.stderr, "err\n")
        state = self.inspect("codes")["State"]
        self.assertEqual((state["Status"], state["ExitCode"], state["Running"]), ("exited", 3, False))
        self.assertLessEqual(state["StartedAt"], state["FinishedAt"])
        # The pod: named by prefix and id, labelled for this daemon and the container.
        pod = self.pod("it-" + cid[:12])
        self.assertIsNotNone(pod)
        labels = pod["metadata"]["labels"]
        self.assertEqual(labels["berth.dev/container"], cid[:12])
        self.assertEqual(labels["suite"], "kube")
        self.assertEqual(pod["metadata"]["annotations"]["berth.dev/name"], "codes")
        self.assertEqual(pod["spec"]["containers"][0]["image"], BUSYBOX)

    def test_logs_tail_follow_and_timestamps(self):
        self.docker("run", "-d", "--name", "ticker", BUSYBOX, "sh", "-c",
                    "for i in 1 2 3 4 5; do echo line $i; done; sleep 2; echo late; sleep 100")
        self.wait_for(lambda: "line 5" in self.docker("logs", "ticker").stdout, what="five lines")
        self.assertEqual(self.docker("logs", "--tail", "2", "ticker").stdout, "line 4\nline 5\n")
        stamped = self.docker("logs", "-t", "--tail", "1", "ticker").stdout
        self.assertRegex(stamped, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 5\n$")
        # -f ends when the container does: stop it while following.
        follow = subprocess.Popen([DOCKER_CLI, "logs", "-f", "--tail", "1", "ticker"], env=clean_env({"DOCKER_HOST": self.berth.url}),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        self.docker("stop", "-t", "1", "ticker")
        out, _ = follow.communicate(timeout=30)
        self.assertEqual(out, "line 5\nlate\n")
        self.assertEqual(follow.returncode, 0)
        # --since and --until: "late" came 2 s after "line 5"; a second after "line 5" splits the log.
        stamp = self.docker("logs", "-t", "ticker").stdout.splitlines()[4].split(" ")[0]
        self.assertTrue(stamp.endswith("Z") and len(stamp) == 30, stamp)
        between = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + int(stamp[20:29]) / 1e9 + 1
        self.assertEqual(self.docker("logs", "--since", "%.3f" % between, "ticker").stdout, "late\n")
        self.assertEqual(self.docker("logs", "--until", "%.3f" % between, "ticker").stdout,
                         "".join("line %d\n" % i for i in range(1, 6)))

    def test_stop_sends_the_signal_then_kills_after_the_timeout(self):
        self.docker("run", "-d", "--name", "polite", BUSYBOX, "sh", "-c",
                    "trap 'echo got TERM; exit 7' TERM; while true; do sleep 0.2; done")
        self.docker("stop", "polite")
        self.assertEqual(self.inspect("polite")["State"]["ExitCode"], 7)
        self.assertIn("got TERM", self.docker("logs", "polite").stdout)
        self.docker("run", "-d", "--name", "stubborn", BUSYBOX, "sh", "-c",
                    "trap '' TERM; while true; do sleep 0.2; done")
        t0 = time.monotonic()
        self.docker("stop", "-t", "2", "stubborn")
        took = time.monotonic() - t0
        self.assertEqual(self.inspect("stubborn")["State"]["ExitCode"], 137)
        self.assertGreaterEqual(took, 2.0)
        self.assertLess(took, 15.0)

    def test_kill_delivers_the_signal_and_restart_makes_a_new_pod(self):
        self.docker("run", "-d", "--name", "target", BUSYBOX, "sh", "-c",
                    "trap 'echo got USR1' USR1; while true; do sleep 0.2; done")
        self.docker("kill", "-s", "USR1", "target")
        self.wait_for(lambda: "got USR1" in self.docker("logs", "target").stdout, what="USR1 handled")
        self.assertEqual(self.inspect("target")["State"]["Status"], "running")
        self.docker("kill", "target")
        self.assertEqual(self.docker("wait", "target").stdout, "137\n")
        first_uid = self.pod(self.pod_of("target"))["metadata"]["uid"]
        self.docker("start", "target")
        state = self.inspect("target")["State"]
        self.assertEqual(state["Status"], "running")
        self.assertNotEqual(self.pod(self.pod_of("target"))["metadata"]["uid"], first_uid)
        self.docker("restart", "-t", "1", "target")
        self.assertEqual(self.inspect("target")["State"]["Status"], "running")
        r = self.docker("kill", "-s", "USR1", "missing", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_rm_removes_the_pod_and_run_rm_cleans_up(self):
        self.docker("run", "-d", "--name", "gone", BUSYBOX, "sleep", "100")
        pod = self.pod_of("gone")
        self.assertIsNotNone(self.pod(pod))
        self.docker("rm", "-f", "gone")
        self.assertIsNone(self.pod(pod))
        cid = self.docker("run", "-d", "--rm", BUSYBOX, "true").stdout.strip()
        self.wait_for(lambda: cid[:12] not in self.docker("ps", "-aq").stdout, what="--rm removal")
        self.wait_for(lambda: self.pod("it-" + cid[:12]) is None, what="the --rm pod to go")

    def test_start_errors_come_back_as_dockerd_text(self):
        r = self.docker("run", "-d", "--name", "noexec", BUSYBOX, "no-such-program", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('exec: "no-such-program": executable file not found in $PATH', r.stderr)
        self.assertEqual(self.inspect("noexec")["State"]["ExitCode"], 127)

    def test_refused_with_clear_errors(self):
        for args, text in ((["--privileged"], "the kube backend does not run privileged containers"),
                           (["--network", "host"], "the kube backend does not share the node's network namespace"),
                           (["--pid", "host"], "the kube backend does not share the node's PID namespace"),
                           (["-v", "/etc:/host-etc"], "the kube backend copies host paths into pods only from the "
                                                      "directories named by --bind-root, and none is set (bind source /etc)")):
            r = self.docker("run", "-d", *args, BUSYBOX, "true", check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(text, r.stderr)

    def test_env_workdir_user_and_tmpfs(self):
        self.docker("run", "-d", "--name", "shaped", "-e", "GREETING=hi there", "-w", "/tmp", "-u", "1234:5678",
                    "--tmpfs", "/scratch:size=8m", BUSYBOX, "sh", "-c",
                    'echo "$GREETING|$(pwd)|$(id -u):$(id -g)"; df -k /scratch | tail -1')
        self.assertEqual(self.docker("wait", "shaped").stdout, "0\n")
        out = self.docker("logs", "shaped").stdout.splitlines()
        self.assertEqual(out[0], "hi there|/tmp|1234:5678")
        self.assertEqual(out[1].split()[0], "tmpfs")
        # The size is the emptyDir's limit (Kubernetes 1.20 evicts past it;
        # from 1.22 the tmpfs itself gets that size).
        volumes = self.pod(self.pod_of("shaped"))["spec"]["volumes"]
        self.assertIn({"name": "tmpfs-0", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}}, volumes)


class Streams(KubeBase):
    """exec and attach: the helper's exec through pods/exec, attach through
    the helper's log and pods/attach."""

    def test_exec_output_exit_codes_stdin_and_settings(self):
        self.docker("run", "-d", "--name", "box", "-e", "FROM_RUN=1", BUSYBOX, "sleep", "300")
        r = self.docker("exec", "box", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (3, "out\n", "err\n"))
        # stdin's end reaches the process although the v4 stream cannot half-close.
        r = run_docker(["exec", "-i", "box", "sh", "-c", "cat; echo end"], self.berth.url, timeout=120,
                       stdin="hello\n")
        self.assertEqual((r.returncode, r.stdout), (0, "hello\nend\n"))
        r = self.docker("exec", "-e", "X=2", "-w", "/tmp", "-u", "1234", "box", "sh", "-c",
                        'echo "$FROM_RUN$X $(pwd) $(id -u)"')
        self.assertEqual(r.stdout, "12 /tmp 1234\n")
        r = self.docker("exec", "box", "no-such-program", check=False)
        self.assertEqual(r.returncode, 127)
        self.assertIn('exec: "no-such-program": executable file not found in $PATH', r.stderr)
        r = self.docker("exec", "-t", "box", "sh", "-c", "tty; echo hi")
        self.assertTrue(r.stdout.startswith("/dev/pts/"), r.stdout)
        self.assertTrue(r.stdout.endswith("\r\nhi\r\n"), r.stdout)
        self.docker("exec", "-d", "box", "sh", "-c", "echo x > /tmp/flag")
        self.wait_for(lambda: self.docker("exec", "box", "cat", "/tmp/flag", check=False).stdout == "x\n",
                      what="the detached exec's file")

    def test_attached_run_streams_stdin_and_exit_code(self):
        self.docker("pull", BUSYBOX)  # its progress would be on stderr
        r = self.docker("run", "--rm", BUSYBOX, "sh", "-c", "echo out; echo err >&2; exit 2", check=False)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "out\n", "err\n"))
        r = run_docker(["run", "-i", "--rm", BUSYBOX, "sh", "-c", "cat; echo end"], self.berth.url, timeout=120,
                       stdin="piped\n")
        self.assertEqual((r.returncode, r.stdout), (0, "piped\nend\n"))
        # With a terminal the output is the terminal's, and logged too.
        r = self.docker("run", "-t", "--name", "term", BUSYBOX, "sh", "-c", "tty; echo hi")
        self.assertTrue(r.stdout.startswith("/dev/pts/"), r.stdout)
        self.assertTrue(r.stdout.endswith("\r\nhi\r\n"), r.stdout)
        self.assertEqual(self.docker("logs", "term").stdout, r.stdout)

    def test_attach_to_a_running_container(self):
        self.docker("run", "-d", "--name", "talker", BUSYBOX, "sh", "-c", "sleep 3; echo later; exit 4")
        r = self.docker("attach", "talker", check=False)
        self.assertEqual((r.returncode, r.stdout), (4, "later\n"))
        # -d -i: stdin stays open for a later attach, which can write to it.
        self.docker("run", "-d", "-i", "--name", "reader", BUSYBOX, "sh", "-c", "read line; echo got $line")
        r = run_docker(["attach", "reader"], self.berth.url, timeout=120, stdin="abc\n", check=False)
        self.assertEqual((r.returncode, r.stdout), (0, "got abc\n"))


class Images(KubeBase):
    def test_pull_fetches_only_manifest_and_config(self):
        with tempfile.NamedTemporaryFile("w") as f:
            f.write("from the layer\n")
            f.flush()
            image = testimages.busybox_with({"etc/probe.txt": (f.name, 0o644)}, cmd=("cat", "/etc/probe.txt"))
        registry.Registry.client(REGISTRY).push("kube/probe", "meta", image)
        manifest = json.loads(image.manifest)
        layers = manifest["layers"]
        name = "%s/kube/probe:meta" % REGISTRY
        out = self.docker("pull", name).stdout
        for layer in layers:
            self.assertIn("%s: Skipped (nodes pull layers)\n" % layer["digest"][7:19], out)
        self.assertIn("Status: Downloaded newer image for %s\n" % name, out)
        self.assertIn("Status: Image is up to date for %s\n" % name, self.docker("pull", name).stdout)
        info = json.loads(self.docker("image", "inspect", name).stdout)[0]
        self.assertEqual(info["Id"], manifest["config"]["digest"])
        self.assertEqual(info["Config"]["Cmd"], ["cat", "/etc/probe.txt"])
        self.assertEqual(len(info["RootFS"]["Layers"]), 2)
        self.assertEqual(info["Size"], sum(layer["size"] for layer in layers))  # compressed: all that is known
        # Berth's store has the config and no layer: no blob, no snapshot.
        names = set()
        for _, dirs, files in os.walk(self.berth.data_root):
            names.update(dirs + files)
        self.assertIn(manifest["config"]["digest"][7:], names)
        for digest in [layer["digest"] for layer in layers] + info["RootFS"]["Layers"]:
            self.assertNotIn(digest[7:], names)
        # What needs the layers says so.
        r = self.docker("save", "-o", os.path.join(self.berth.tmp, "probe.tar"), name, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Error response from daemon: image %s has no layers here: the kube backend pulls only the "
                      "manifest and config, and the cluster's nodes pull the layers" % name, r.stderr)
        # The node pulls them: the container prints the layer's file.
        self.assertEqual(self.docker("run", "--rm", name).stdout, "from the layer\n")


class Copy(KubeBase):
    """docker cp through the helper: into and out of a running pod, and into
    a created container before its process starts."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="berth-kube-cp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_copy_into_and_out_of_a_running_container(self):
        self.docker("run", "-d", "--name", "files", BUSYBOX, "sleep", "300")
        src = os.path.join(self.tmp, "tree")
        os.makedirs(os.path.join(src, "sub"))
        with open(os.path.join(src, "sub", "note.txt"), "w") as f:
            f.write("hello from the host\n")
        os.chmod(os.path.join(src, "sub", "note.txt"), 0o640)
        os.symlink("note.txt", os.path.join(src, "sub", "link"))
        self.docker("cp", src, "files:/tmp/")
        r = self.docker("exec", "files", "sh", "-c", "cat /tmp/tree/sub/link; stat -c %a /tmp/tree/sub/note.txt")
        self.assertEqual(r.stdout, "hello from the host\n640\n")
        out = os.path.join(self.tmp, "back")
        self.docker("cp", "files:/tmp/tree", out)
        with open(os.path.join(out, "sub", "note.txt")) as f:
            self.assertEqual(f.read(), "hello from the host\n")
        self.assertEqual(os.readlink(os.path.join(out, "sub", "link")), "note.txt")
        # A tar on stdout, the base name at its top.
        r = subprocess.run([DOCKER_CLI, "cp", "files:/tmp/tree/sub/note.txt", "-"], capture_output=True, timeout=60,
                           env=clean_env({"DOCKER_HOST": self.berth.url}))
        self.assertEqual(r.returncode, 0, r.stderr)
        with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
            self.assertEqual(t.getnames(), ["note.txt"])
            self.assertEqual(t.extractfile("note.txt").read(), b"hello from the host\n")
        r = self.docker("cp", "files:/no/such/file", out, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Could not find the file /no/such/file in container files", r.stderr)

    def test_copy_before_start_lands_before_the_process_runs(self):
        self.docker("create", "--name", "seeded", BUSYBOX, "sh", "-c", "cat /etc/seed.conf /data/x")
        seed = os.path.join(self.tmp, "seed.conf")
        with open(seed, "w") as f:
            f.write("seeded=1\n")
        self.docker("cp", seed, "seeded:/etc/seed.conf")
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        with open(os.path.join(data, "x"), "w") as f:
            f.write("x\n")
        # Before start there is no filesystem to stat (the CLI then names the destination itself).
        self.docker("cp", data, "seeded:/data")
        r = self.docker("start", "-a", "seeded", check=False)
        self.assertEqual((r.returncode, r.stdout), (0, "seeded=1\nx\n"))
        # Each start is a new pod: the copies land again.
        r = self.docker("start", "-a", "seeded", check=False)
        self.assertEqual((r.returncode, r.stdout), (0, "seeded=1\nx\n"))
        # From a container that is not running there is nothing to read.
        r = self.docker("cp", "seeded:/etc/seed.conf", self.tmp, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not running", r.stderr)


# busybox httpd serving $MSG on 8080, started again whenever it ends (a
# container that closes and reopens its port).
HTTPD = ["sh", "-c", 'mkdir -p /www && echo "$MSG" > /www/index.html && '
         'while true; do httpd -f -p 8080 -h /www; sleep 0.2; done']


def fetch(url, timeout=30.0):
    """The body at url, retried until the server answers (the pod's
    httpd may not listen yet, or be starting again)."""
    import urllib.request
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read().decode()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def host_port(test, name, key="8080/tcp"):
    bindings = test.inspect(name)["NetworkSettings"]["Ports"][key]
    test.assertEqual(bindings[0]["HostIp"], "0.0.0.0")
    return int(bindings[0]["HostPort"])


class PortForward(KubeBase):
    berth_flags = ("--port-forward",)

    def test_published_ports_go_through_pods_portforward_and_survive_a_reopened_port(self):
        self.docker("run", "-d", "--name", "web", "-p", "8080", "-e", "MSG=hello", BUSYBOX, *HTTPD)
        port = host_port(self, "web")
        self.assertEqual(self.docker("port", "web", "8080/tcp").stdout.splitlines()[0], "0.0.0.0:%d" % port)
        self.assertEqual(fetch("http://127.0.0.1:%d/" % port), "hello\n")
        # The server goes away and comes back: the next connection reaches it again.
        self.docker("exec", "web", "killall", "httpd")
        self.assertEqual(fetch("http://127.0.0.1:%d/" % port), "hello\n")
        # A Service named as the pod selects it: in-cluster clients reach it by a stable address.
        svc = json.loads(kubectl("get", "service", self.pod_of("web"), "-o", "json").stdout)
        self.assertEqual([(p["port"], p["protocol"]) for p in svc["spec"]["ports"]], [(8080, "TCP")])
        ip = svc["spec"]["clusterIP"]
        r = self.docker("run", "--rm", BUSYBOX, "sh", "-c",
                        "for i in $(seq 100); do wget -qO- http://%s:8080/ && exit 0; sleep 0.2; done; exit 1" % ip)
        self.assertEqual(r.stdout, "hello\n")
        # Stopped, the port is free; removed, the Service is gone.
        self.docker("stop", "-t", "1", "web")
        self.assertEqual(self.inspect("web")["NetworkSettings"]["Ports"], {})
        self.docker("rm", "web")
        self.assertNotEqual(kubectl("get", "service", svc["metadata"]["name"], check=False).returncode, 0)

    def test_udp_cannot_be_forwarded(self):
        r = self.docker("run", "-d", "-p", "53/udp", BUSYBOX, "sleep", "60", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot publish 53/udp: only tcp ports reach pods", r.stderr)


class ReverseProxy(KubeBase):
    berth_flags = ("--reverse-proxy",)

    def test_published_ports_relay_to_the_pod_ip(self):
        self.docker("run", "-d", "--name", "web", "-p", "8080", "-e", "MSG=proxied", BUSYBOX, *HTTPD)
        port = host_port(self, "web")
        self.assertEqual(fetch("http://127.0.0.1:%d/" % port), "proxied\n")
        # The host port is held: a second container cannot have it.
        r = self.docker("run", "-d", "-p", "%d:8080" % port, BUSYBOX, "sleep", "60", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("port is already allocated", r.stderr)


class Networks(KubeBase):
    def serve(self, docker, name, msg, network, alias):
        docker("run", "-d", "--name", name, "--network", network, "--network-alias", alias, "-e", "MSG=" + msg,
               BUSYBOX, *HTTPD)

    def client_reads(self, docker, network, *urls):
        script = " && ".join(
            "(for i in $(seq 100); do wget -qO- %s && exit 0; sleep 0.2; done; exit 1)" % u for u in urls)
        return docker("run", "--rm", "--network", network, BUSYBOX, "sh", "-c", script).stdout

    def test_containers_on_a_network_reach_each_other_by_name_and_alias(self):
        self.docker("network", "create", "backend")
        self.serve(self.docker, "store", "stored", "backend", "db")
        self.assertEqual(self.client_reads(self.docker, "backend", "http://db:8080/", "http://store:8080/"),
                         "stored\nstored\n")
        # Connected while running: containers started on that network from now on find it.
        self.docker("network", "create", "frontend")
        self.docker("network", "connect", "--alias", "web", "frontend", "store")
        self.assertEqual(self.client_reads(self.docker, "frontend", "http://web:8080/"), "stored\n")
        # Not on the network: no such names; --add-host lines are there as given.
        r = self.docker("run", "--rm", "--add-host", "extra.example:10.1.2.3", BUSYBOX, "sh", "-c",
                        "grep -w db /etc/hosts; grep extra.example /etc/hosts", check=False)
        self.assertEqual((r.stdout, r.stderr), ("10.1.2.3\textra.example\n", ""))
        # Without --port-forward or --reverse-proxy a published port is where the cluster serves it.
        self.docker("run", "-d", "--name", "pub", "-p", "8080", BUSYBOX, "sleep", "300")
        ip = self.inspect("pub")["NetworkSettings"]["IPAddress"]
        self.assertEqual(self.docker("port", "pub", "8080/tcp").stdout, "%s:8080\n" % ip)

    def test_two_sessions_with_the_same_alias_never_collide(self):
        other = self.start_berth()
        self.addCleanup(other.stop)
        docker2 = lambda *a: run_docker(list(a), other.url, timeout=120)  # noqa: E731
        self.addCleanup(lambda: run_docker(["rm", "-f", "one"], other.url, timeout=120, check=False))
        for docker, msg in ((self.docker, "first"), (docker2, "second")):
            docker("network", "create", "tests")
            self.serve(docker, "one", msg, "tests", "db")
        self.assertEqual(self.client_reads(self.docker, "tests", "http://db:8080/"), "first\n")
        self.assertEqual(self.client_reads(docker2, "tests", "http://db:8080/"), "second\n")


class Volumes(KubeBase):
    """Volumes are emptyDirs; binds are copied in, and only from under --bind-root."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="berth-kube-binds-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.root = os.path.join(self.tmp, "root")
        site = os.path.join(self.root, "site")
        os.makedirs(os.path.join(site, "sub"))
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("hello\n")
        with open(os.path.join(site, "sub", "note"), "w") as f:
            f.write("note\n")
        os.chmod(os.path.join(site, "sub", "note"), 0o600)
        os.symlink("index.html", os.path.join(site, "link"))
        self.conf = os.path.join(self.root, "app.conf")
        with open(self.conf, "w") as f:
            f.write("port=1\n")
        os.chmod(self.conf, 0o640)
        self.outside = os.path.join(self.tmp, "outside")
        os.makedirs(self.outside)
        with open(os.path.join(self.outside, "secret"), "w") as f:
            f.write("token\n")
        os.symlink(self.outside, os.path.join(self.root, "escape"))
        self.berth_flags = ("--bind-root", self.root)
        super().setUp()

    def test_named_and_anonymous_volumes_are_writable_directories(self):
        r = self.docker("run", "--rm", "-v", "data:/data", "-v", "/scratch", BUSYBOX, "sh", "-c",
                        "echo kept > /data/f && cat /data/f && touch /scratch/x && ls /scratch")
        self.assertEqual(r.stdout, "kept\nx\n")
        r = self.docker("run", "--rm", "--mount", "type=volume,source=data,target=/data,readonly", BUSYBOX,
                        "sh", "-c", "touch /data/y 2>/dev/null || echo read-only")
        self.assertEqual(r.stdout, "read-only\n")

    def test_binds_under_the_root_are_copied_in(self):
        site = os.path.join(self.root, "site")
        r = self.docker("run", "--rm", "-v", site + ":/srv/site:ro", "-v", "data:/data", "-v", self.conf + ":/data/app.conf",
                        BUSYBOX, "sh", "-c",
                        "cat /srv/site/index.html /srv/site/link /srv/site/sub/note /data/app.conf;"
                        "stat -c %a /srv/site/sub/note /data/app.conf; readlink /srv/site/link;"
                        "touch /srv/site/new 2>/dev/null || echo read-only")
        self.assertEqual(r.stdout, "hello\nhello\nnote\nport=1\n600\n640\nindex.html\nread-only\n")
        # A writable directory bind; each start copies it afresh.
        self.docker("create", "--name", "rw", "-v", site + ":/srv/site", BUSYBOX, "sh", "-c",
                    "cat /srv/site/index.html; echo changed > /srv/site/index.html")
        self.assertEqual(self.docker("start", "-a", "rw").stdout, "hello\n")
        self.assertEqual(self.docker("start", "-a", "rw").stdout, "hello\n")
        # The file binds' ConfigMap is the container's, and goes with it.
        self.docker("run", "-d", "--name", "conf", "-v", self.conf + ":/etc/app.conf", BUSYBOX, "sleep", "300")
        name = self.pod_of("conf")
        cm = json.loads(kubectl("get", "configmap", name, "-o", "json").stdout)
        self.assertEqual(cm["metadata"]["labels"]["berth.dev/container"], name[3:])
        self.docker("rm", "-f", "conf")
        self.assertNotEqual(kubectl("get", "configmap", name, check=False).returncode, 0)

    def test_binds_from_elsewhere_are_refused(self):
        for source, real in ((os.path.join(self.outside, "secret"), os.path.join(self.outside, "secret")),
                             (os.path.join(self.root, "escape", "secret"), os.path.join(self.outside, "secret")),
                             ("/etc/hostname", "/etc/hostname")):
            r = self.docker("run", "--rm", "-v", source + ":/s", BUSYBOX, "cat", "/s", check=False)
            self.assertEqual(r.returncode, 125, r.stderr)
            self.assertIn("bind source %s (%s) is outside the directories named by --bind-root: %s"
                          % (source, real, self.root), r.stderr)
            self.assertNotIn("token", r.stdout)
        r = self.docker("run", "--rm", "-v", os.path.join(self.root, "missing") + ":/s", BUSYBOX, "true", check=False)
        self.assertIn("bind source path does not exist: " + os.path.join(self.root, "missing"), r.stderr)


class Rbac(KubeBase):
    """deploy/rbac.yaml is enough: Berth as its service account, nothing more."""
    berth_flags = ("--port-forward", "--lock")

    def setUp(self):
        manifest = os.path.join(HERE, "..", "..", "deploy", "rbac.yaml")
        kubectl("apply", "-n", "default", "-f", manifest)
        self.addCleanup(kubectl, "delete", "-n", "default", "-f", manifest, check=False)

        def token():
            r = kubectl("get", "serviceaccount", "berth", "-n", "default", "-o", "json", check=False)
            secrets = json.loads(r.stdout).get("secrets") if r.returncode == 0 else None
            if not secrets:
                return None
            r = kubectl("get", "secret", secrets[0]["name"], "-n", "default", "-o", "json", check=False)
            data = json.loads(r.stdout).get("data", {}) if r.returncode == 0 else {}
            return data.get("token")

        import base64
        tok = base64.b64decode(self.wait_for(token, what="the service account's token")).decode()
        view = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
        cluster = view["clusters"][0]["cluster"]
        self.tmp = tempfile.mkdtemp(prefix="berth-rbac-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "sa",
                  "clusters": [{"name": "c", "cluster": cluster}],
                  "users": [{"name": "berth", "user": {"token": tok}}],
                  "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "berth", "namespace": "default"}}]}
        path = os.path.join(self.tmp, "kubeconfig")
        with open(path, "w") as f:
            json.dump(config, f)
        self.conf = os.path.join(self.tmp, "app.conf")
        with open(self.conf, "w") as f:
            f.write("rbac=1\n")
        self.berth_flags = self.berth_flags + ("--kubeconfig", path, "--bind-root", self.tmp)
        super().setUp()

    def test_the_role_covers_run_exec_attach_ports_and_rm(self):
        self.docker("run", "-d", "--name", "web", "-p", "8080", "-e", "MSG=rbac", BUSYBOX, *HTTPD)
        self.assertEqual(fetch("http://127.0.0.1:%d/" % host_port(self, "web")), "rbac\n")
        self.assertEqual(self.docker("exec", "web", "cat", "/www/index.html").stdout, "rbac\n")
        self.assertEqual(self.docker("run", "--rm", "-i", BUSYBOX, "cat", stdin="in\n").stdout, "in\n")
        self.assertEqual(self.docker("run", "--rm", "-v", self.conf + ":/etc/app.conf", BUSYBOX, "cat", "/etc/app.conf").stdout,
                         "rbac=1\n")
        # A volume's claim (it stays Pending: no volume of that class here).
        self.docker("volume", "create", "-o", "storage-class=berth-rbac", "claimed")
        claim = json.loads(self.docker("volume", "inspect", "claimed").stdout)[0]["Status"]["PersistentVolumeClaim"]
        self.assertEqual(kubectl("get", "pvc", claim, "-o", "name").stdout, "persistentvolumeclaim/%s\n" % claim)
        self.docker("volume", "rm", "claimed")
        self.docker("rm", "-f", "web")
        self.assertEqual(self.docker("ps", "-aq").stdout, "")


class Restart(KubeBase):
    def test_containers_survive_a_berth_restart(self):
        self.docker("run", "-d", "--name", "keeper", BUSYBOX, "sh", "-c",
                    "trap 'exit 5' TERM; echo before; while true; do sleep 0.2; done")
        old = self.berth
        old.signal(signal.SIGKILL)  # a crash: a SIGTERM removes everything (Leftovers)
        old.stop(cleanup=False)
        self.earlier.append(old)
        self.berth = self.start_berth(data_root=old.data_root, sock=old.sock)
        self.assertEqual(self.inspect("keeper")["State"]["Status"], "running")
        self.assertEqual(self.docker("logs", "keeper").stdout, "before\n")
        self.docker("stop", "keeper")
        self.assertEqual(self.inspect("keeper")["State"]["ExitCode"], 5)


def instance_objects(instance):
    r = kubectl("get", "pods,services,configmaps,persistentvolumeclaims", "-l", "berth.dev/instance=" + instance,
                "-o", "name")
    return r.stdout.split()


def pvc_gone(claim):
    """True once the claim is gone (pvc-protection holds it while a pod still uses it)."""
    return kubectl("get", "pvc", claim, "-o", "name", check=False).returncode != 0


class VolumeClaims(KubeBase):
    """With --storage-class, named volumes are PersistentVolumeClaims: shared
    by their containers, kept until `docker volume rm` or Berth's SIGTERM.
    The test cluster has no provisioner: the class's volumes are hostPath
    PersistentVolumes made here."""
    berth_flags = ("--storage-class", "berth-test")

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="berth-kube-pv-")
        objects = [{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "berth-test"},
                    "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate"}]
        cls.pvs = ["berth-test-pv-%d" % i for i in range(4)]
        for name in cls.pvs:
            objects.append({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                            "spec": {"storageClassName": "berth-test", "capacity": {"storage": "1Gi"},
                                     "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                                     "hostPath": {"path": os.path.join(cls.dir, name), "type": "DirectoryOrCreate"}}})
        cls.manifest = os.path.join(cls.dir, "pvs.json")
        with open(cls.manifest, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": objects}, f)
        kubectl("apply", "-f", cls.manifest)

    @classmethod
    def tearDownClass(cls):
        kubectl("delete", "--wait=false", "-f", cls.manifest, check=False)
        shutil.rmtree(cls.dir, True)

    def claim_of(self, volume):
        return json.loads(self.docker("volume", "inspect", volume).stdout)[0]["Status"]["PersistentVolumeClaim"]

    def test_a_named_volume_is_a_claim_its_containers_share(self):
        self.docker("volume", "create", "--label", "team=ci", "data")
        v = json.loads(self.docker("volume", "inspect", "data").stdout)[0]
        claim = v["Status"]["PersistentVolumeClaim"]
        self.assertEqual(v["Status"], {"PersistentVolumeClaim": claim, "StorageClass": "berth-test", "Size": "1Gi",
                                       "AccessMode": "ReadWriteOnce"})
        self.assertEqual((v["Mountpoint"], v["Labels"], v["Driver"]), ("", {"team": "ci"}, "local"))
        pvc = json.loads(kubectl("get", "pvc", claim, "-o", "json").stdout)
        self.assertEqual(pvc["metadata"]["annotations"]["berth.dev/volume"], "data")
        self.assertEqual(pvc["spec"]["resources"]["requests"]["storage"], "1Gi")
        # One container writes, the next (another pod) reads it back.
        self.docker("run", "--rm", "-v", "data:/data", BUSYBOX, "sh", "-c", "echo kept > /data/f")
        self.assertEqual(self.docker("run", "--rm", "-v", "data:/data:ro", BUSYBOX, "cat", "/data/f").stdout, "kept\n")
        r = self.docker("run", "--rm", "-v", "data:/data:ro", BUSYBOX, "touch", "/data/g", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Read-only file system", r.stderr)
        # `run -v name:` makes one too; an anonymous volume stays an emptyDir.
        self.docker("run", "--rm", "-v", "made:/m", "-v", "/scratch", BUSYBOX, "true")
        made = self.claim_of("made")
        instance = self.docker("info", "--format", "{{.ID}}").stdout.strip()
        self.assertEqual(sorted(kubectl("get", "pvc", "-l", "berth.dev/instance=" + instance, "-o", "name").stdout.split()),
                         sorted(["persistentvolumeclaim/" + claim, "persistentvolumeclaim/" + made]))
        # In use, even by a container that is not running: refused, as dockerd does.
        self.docker("create", "--name", "holder", "-v", "data:/data", BUSYBOX, "true")
        holder = self.inspect("holder")["Id"]
        r = self.docker("volume", "rm", "data", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("remove data: volume is in use - [%s]" % holder, r.stderr)
        self.docker("rm", "holder")
        self.assertEqual(self.docker("volume", "rm", "data", "made").stdout, "data\nmade\n")
        self.wait_for(lambda: pvc_gone(claim) and pvc_gone(made), what="the claims' deletion")

    def test_volume_options_and_their_errors(self):
        self.docker("volume", "create", "-o", "size=2Gi", "-o", "access-mode=ReadWriteMany", "big")
        status = json.loads(self.docker("volume", "inspect", "big").stdout)[0]["Status"]
        self.assertEqual((status["Size"], status["AccessMode"]), ("2Gi", "ReadWriteMany"))
        pvc = json.loads(kubectl("get", "pvc", status["PersistentVolumeClaim"], "-o", "json").stdout)
        self.assertEqual(pvc["spec"]["accessModes"], ["ReadWriteMany"])
        r = self.docker("volume", "create", "-o", "type=nfs", "bad", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('invalid option: "type"', r.stderr)
        r = self.docker("volume", "create", "-o", "size=lots", "bad", check=False)
        self.assertIn('volume option "size": "lots" is not a Kubernetes quantity (e.g. 1Gi)', r.stderr)
        self.assertEqual(self.docker("volume", "ls", "-q").stdout, "big\n")

    def test_sigterm_removes_the_claims(self):
        self.docker("volume", "create", "gone")
        claim = self.claim_of("gone")
        old = self.berth
        self.assertEqual(old.stop(cleanup=False), 0)
        self.earlier.append(old)
        self.wait_for(lambda: pvc_gone(claim), what="the claim's deletion")
        self.berth = self.start_berth(data_root=old.data_root, sock=old.sock)
        self.assertEqual(self.docker("volume", "ls", "-q").stdout, "")


class Leftovers(KubeBase):
    """Nothing of a Berth outlives it: a SIGTERM removes its pods, Services
    and ConfigMaps; --reapmax removes old containers; --prune-start clears
    the namespace of every Berth's pods."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="berth-kube-left-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.conf = os.path.join(self.tmp, "app.conf")
        with open(self.conf, "w") as f:
            f.write("x=1\n")
        self.berth_flags = ("--bind-root", self.tmp)
        super().setUp()

    def instance(self):
        return self.docker("info", "--format", "{{.ID}}").stdout.strip()

    def test_sigterm_removes_everything_of_the_instance(self):
        self.docker("run", "-d", "--name", "web", "-p", "8080", "-v", self.conf + ":/etc/app.conf", BUSYBOX, "sleep", "300")
        self.docker("create", "--name", "idle", BUSYBOX, "true")
        instance = self.instance()
        self.assertEqual(len(instance_objects(instance)), 3)  # pod, Service, ConfigMap
        old = self.berth
        started = time.time()
        self.assertEqual(old.stop(cleanup=False), 0)
        self.assertLess(time.time() - started, 10)
        self.earlier.append(old)
        self.assertEqual(instance_objects(instance), [])
        self.berth = self.start_berth(data_root=old.data_root, sock=old.sock)
        self.assertEqual(self.docker("ps", "-aq").stdout, "")

    def test_reapmax_removes_old_containers_and_prune_start_every_berth_pod(self):
        self.docker("run", "-d", "--name", "kept", BUSYBOX, "sleep", "300")
        pod = self.pod_of("kept")
        first = self.berth

        def another(*flags):
            self.berth_flags = flags
            b = self.start_berth()
            self.addCleanup(b.stop)  # a SIGTERM: what it made goes with it
            return b

        # Volume claims (Pending: no volume of this class here) go the same way.
        self.docker("volume", "create", "-o", "storage-class=berth-reap", "young")
        young = json.loads(self.docker("volume", "inspect", "young").stdout)[0]["Status"]["PersistentVolumeClaim"]
        # A daemon with --reapmax 3s: its own container goes after 3 s, then
        # its unused volume; the first daemon's pod and claim are young, so
        # the reaper leaves them to their owner.
        self.berth = another("--reapmax", "3s")
        self.docker("run", "-d", "--name", "short", BUSYBOX, "sleep", "300")
        self.docker("volume", "create", "-o", "storage-class=berth-reap", "brief")
        brief = json.loads(self.docker("volume", "inspect", "brief").stdout)[0]["Status"]["PersistentVolumeClaim"]
        short = self.pod_of("short")
        self.wait_for(lambda: self.docker("ps", "-aq").stdout == "", timeout=20, what="the reaper")
        self.assertIsNone(self.pod(short))
        self.wait_for(lambda: self.docker("volume", "ls", "-q").stdout == "", timeout=20, what="the volume's reaping")
        self.wait_for(lambda: pvc_gone(brief), what="the reaped volume's claim")
        self.assertIsNotNone(self.pod(pod))
        self.assertFalse(pvc_gone(young))
        # What a crashed Berth left apart from its pod (another instance's).
        orphans = {"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": kind, "metadata": {"name": "it-0123456789ab",
                                                            "labels": {"berth.dev/instance": "0000deadbeef"}}}
            for kind in ("Service", "ConfigMap")]}
        orphans["items"][0]["spec"] = {"ports": [{"port": 80}]}
        path = os.path.join(self.berth.tmp, "orphans.json")
        with open(path, "w") as f:
            json.dump(orphans, f)
        kubectl("apply", "-f", path)
        self.addCleanup(kubectl, "delete", "--ignore-not-found", "-f", path, check=False)
        # --prune-start: every Berth object of the namespace, whoever made it.
        self.berth = another("--prune-start")
        self.assertIsNone(self.pod(pod))
        self.wait_for(lambda: pvc_gone(young), what="the pruned claim")
        self.assertEqual(kubectl("get", "services,configmaps", "-l", "berth.dev/instance=0000deadbeef",
                                 "-o", "name").stdout, "")
        self.berth = first


class Lock(KubeBase):
    """--lock: one Berth at a time in the namespace, through a Lease."""
    berth_flags = ("--lock",)

    def holder(self):
        r = kubectl("get", "lease", "berth-lock", "-o", "json", check=False)
        return json.loads(r.stdout)["spec"]["holderIdentity"] if r.returncode == 0 else None

    def test_a_second_berth_waits_until_the_first_lets_go(self):
        first = self.berth
        self.assertEqual(self.holder(), self.docker("info", "--format", "{{.ID}}").stdout.strip())
        result = {}

        def start():
            try:
                result["berth"] = self.start_berth()
            except Exception as e:  # noqa: BLE001 - reported below
                result["error"] = e

        waiting = threading.Thread(target=start)
        waiting.start()
        waiting.join(4)
        self.assertTrue(waiting.is_alive(), result)  # not serving while the first holds the Lease
        self.assertEqual(first.stop(cleanup=False), 0)  # deletes its Lease
        self.earlier.append(first)
        waiting.join(40)
        self.assertIn("berth", result, result)
        self.berth = result["berth"]
        self.assertEqual(self.holder(), self.docker("info", "--format", "{{.ID}}").stdout.strip())
        self.assertEqual(self.berth.stop(), 0)
        self.assertIsNone(self.holder())


class PodSettings(KubeBase):
    """--pod-template under every pod; kubedock's per-container labels over the flags."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="berth-kube-tpl-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        path = os.path.join(self.tmp, "template.yaml")
        with open(path, "w") as f:
            f.write("apiVersion: v1\n"
                    "kind: Pod\n"
                    "metadata:\n"
                    "  labels: {team: ci}\n"
                    "  annotations: {example.com/owner: tests}\n"
                    "spec:\n"
                    "  containers:\n"
                    "    - name: template\n"
                    "      env: [{name: FROM_TEMPLATE, value: \"yes\"}]\n"
                    "      resources: {requests: {memory: 16Mi}}\n")
        self.berth_flags = ("--pod-template", path, "--request-cpu", "20m")
        super().setUp()

    def main_of(self, name):
        pod = self.pod(self.pod_of(name))
        return pod, [c for c in pod["spec"]["containers"] if c["name"] == "main"][0]

    def test_the_template_and_labels_shape_the_pod(self):
        r = self.docker("run", "--name", "shaped", "--label", "com.joyrex2001.kubedock.runas-user=1234",
                        "--label", "com.joyrex2001.kubedock.request-cpu=50m,200m", BUSYBOX,
                        "sh", "-c", "id -u; echo $FROM_TEMPLATE")
        self.assertEqual(r.stdout, "1234\nyes\n")
        pod, main = self.main_of("shaped")
        self.assertEqual(pod["metadata"]["labels"]["team"], "ci")
        self.assertEqual(pod["metadata"]["annotations"]["example.com/owner"], "tests")
        self.assertEqual(main["resources"], {"requests": {"cpu": "50m", "memory": "16Mi"}, "limits": {"cpu": "200m"}})
        self.docker("run", "--name", "plain", BUSYBOX, "true")
        self.assertEqual(self.main_of("plain")[1]["resources"], {"requests": {"cpu": "20m", "memory": "16Mi"}})
        r = self.docker("run", "--label", "com.joyrex2001.kubedock.request-memory=lots", BUSYBOX, "true", check=False)
        self.assertEqual(r.returncode, 125)
        self.assertIn("label com.joyrex2001.kubedock.request-memory: \"lots\" is not a Kubernetes quantity", r.stderr)


class DockerSocket(KubeBase):
    """A Docker socket in a pod is Berth's own API, served by the sidecar and
    reached through pods/portforward (what ryuk and Docker-in-Docker need)."""

    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, os.path.join(HERE, "..", "images"))
        import registry
        import testimages
        image = testimages.busybox_with({"usr/local/bin/docker": (shutil.which(DOCKER_CLI) or DOCKER_CLI, 0o755)})
        registry.Registry.client(REGISTRY).push("dockercli", "latest", image)

    def test_a_container_drives_berth_through_its_docker_socket(self):
        version = self.docker("version", "--format", "{{.Server.Version}}").stdout
        for source in (self.berth.sock, "/var/run/docker.sock"):  # Berth's socket, or a remote client's default
            r = self.docker("run", "--rm", "--name", "outer", "-v", source + ":/var/run/docker.sock", REGISTRY + "/dockercli",
                            "sh", "-c", "docker version --format '{{.Server.Version}}' && "
                                        "docker run --rm %s echo nested && "
                                        "echo piped | docker run --rm -i %s cat && "  # stdin's end crosses the tunnel
                                        "docker ps --format '{{.Names}}'" % (BUSYBOX, BUSYBOX))
            self.assertEqual(r.stdout, version + "nested\npiped\nouter\n", r.stderr)
        self.assertEqual(self.docker("ps", "-aq").stdout, "")

    def test_the_socket_answers_again_after_a_berth_crash(self):
        self.docker("run", "-d", "--name", "keeper", "-v", self.berth.sock + ":/var/run/docker.sock",
                    REGISTRY + "/dockercli", "sleep", "300")
        old = self.berth
        old.signal(signal.SIGKILL)
        old.stop(cleanup=False)
        self.earlier.append(old)
        self.berth = self.start_berth(data_root=old.data_root, sock=old.sock)
        self.assertEqual(self.docker("exec", "keeper", "docker", "ps", "--format", "{{.Names}}").stdout, "keeper\n")

    def test_disable_dind_refuses_a_socket_bind(self):
        self.berth_flags = ("--disable-dind",)
        other = self.start_berth()
        self.addCleanup(other.stop)
        r = run_docker(["run", "--rm", "-v", "/var/run/docker.sock:/var/run/docker.sock", BUSYBOX, "true"], other.url,
                       check=False, timeout=120)
        self.assertEqual(r.returncode, 125)
        self.assertIn("this Berth serves no Docker socket in pods (--disable-dind): "
                      "/var/run/docker.sock:/var/run/docker.sock", r.stderr)
        self.assertEqual(run_docker(["run", "--rm", BUSYBOX, "echo", "ok"], other.url, timeout=120).stdout, "ok\n")


class Testcontainers(KubeBase):
    """testcontainers-node with its reaper on: the reaper's container gets a
    Docker socket (Berth's API through its pod's sidecar) and its port 8080
    published here; once the test process has gone, it removes what the
    session started, through that socket."""
    berth_flags = ("--port-forward",)

    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, os.path.join(HERE, "..", "images"))
        import registry
        import testimages
        image = testimages.busybox_with({"usr/local/bin/docker": (shutil.which(DOCKER_CLI) or DOCKER_CLI, 0o755),
                                         "ryuk-standin": (os.path.join(HERE, "ryuk-standin"), 0o755)},
                                        cmd=("/ryuk-standin",))
        registry.Registry.client(REGISTRY).push("ryuk", "test", image)

    def test_the_reaper_removes_the_sessions_containers(self):
        node_dir = os.path.join(HERE, "..", "integration", "node")
        if not os.path.isdir(os.path.join(node_dir, "node_modules", "testcontainers")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=node_dir, check=True,
                           timeout=600)
        # This machine has a /.dockerenv, so testcontainers would look for the
        # bridge network's gateway; ports published by --port-forward are here.
        env = clean_env({"DOCKER_HOST": self.berth.url, "BERTH_TEST_IMAGE": BUSYBOX,
                         "RYUK_CONTAINER_IMAGE": REGISTRY + "/ryuk:test",
                         "TESTCONTAINERS_RYUK_RECONNECTION_TIMEOUT": "5s",
                         "TESTCONTAINERS_HOST_OVERRIDE": "localhost"})
        r = subprocess.run(["node", "tc_ryuk.mjs"], cwd=node_dir, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        started = json.loads(r.stdout.strip().splitlines()[-1])["id"]
        self.assertTrue(self.inspect(started)["State"]["Running"])  # until the reaper's timeout
        reaper = [c for c in self.docker("ps", "--format", "{{.Names}}").stdout.split() if c.startswith("testcontainers-ryuk-")]
        self.assertEqual(len(reaper), 1)
        self.wait_for(lambda: self.docker("ps", "-aq").stdout == "", timeout=90, what="the reaper's clean-up")


class DockerPy(KubeBase):
    def test_run_wait_logs(self):
        client = docker.DockerClient(base_url=self.berth.url, version="auto")
        try:
            c = client.containers.run(BUSYBOX, ["sh", "-c", "echo to-out; echo to-err >&2; exit 4"], detach=True,
                                      name="py")
            self.assertEqual(c.wait(timeout=60)["StatusCode"], 4)
            self.assertEqual(c.logs(stdout=True, stderr=False), b"to-out\n")
            self.assertEqual(c.logs(stdout=False, stderr=True), b"to-err\n")
            c.reload()
            self.assertEqual(c.attrs["State"]["ExitCode"], 4)
            c.remove()
            c = client.containers.run(BUSYBOX, ["sleep", "300"], detach=True, name="py-exec")
            r = c.exec_run(["sh", "-c", "echo from-exec; exit 6"])
            self.assertEqual((r.exit_code, r.output), (6, b"from-exec\n"))
            r = c.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
            self.assertEqual(r.output, (b"o\n", b"e\n"))
            c.remove(force=True)
            self.assertEqual(client.containers.list(all=True), [])
        finally:
            client.close()


if __name__ == "__main__":
    unittest.main()
