"""A real single-node Kubernetes cluster for tests, from Debian packages only.

cluster-up and cluster-down are thin wrappers around `up()` and `down()` here.
See README.md in this directory for what runs where and how it is cleaned up.
"""

import argparse
import base64
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "images"))

import kubebuild  # noqa: E402
import registry  # noqa: E402

DEFAULT_STATE = "/tmp/berth-kube"
# Names the cluster owns on the machine (one cluster at a time).
NET_NAME = "berth-kube"        # CNI network name (chains carry it in comments)
BRIDGE = "bkube0"              # pod bridge; its address is the node's InternalIP
CGROUP_ROOT = "berth-kube"     # kubelet --cgroup-root, in every cgroup hierarchy
NODE_NAME = "berth-node"
POD_CIDR = "10.222.0.0/16"     # clear of Berth's pools (172.17-31/16, 192.168/20)
NODE_POD_SUBNET = "10.222.0.0/24"
NODE_IP = "10.222.0.1"
SERVICE_CIDR = "10.223.0.0/16"
API_SERVICE_IP = "10.223.0.1"
PAUSE_IMAGE_TAG = "3.4"
CNI_BIN = "/usr/lib/cni"
ETCD = "/usr/bin/etcd"
CONTAINERD = "/usr/bin/containerd"
RUNC = "/usr/sbin/runc"
SHIM_SOCKET_DIR = "/run/containerd/s"   # containerd 1.6 puts shim sockets here, whatever its state dir

# Sysctls a component of the cluster may change: recorded before anything
# starts, written back by cluster-down. The kubelet's kernel tunables are
# written back as soon as the node is Ready (it sets them once, at start).
KUBELET_TUNABLES = ["vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
                    "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes"]
SYSCTLS = KUBELET_TUNABLES + [
    "net.ipv4.ip_forward", "net.ipv4.conf.all.route_localnet", "net.ipv6.conf.all.forwarding",
    "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
    "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
]
# Directories outside the state dir that the kubelet, containerd or libcni
# write into: what is new in them at cluster-down is removed (and the dir
# itself if the cluster created it).
OUTSIDE_DIRS = ["/var/log/pods", "/var/log/containers", "/var/lib/cni/results", "/var/lib/cni",
                "/run/containerd/s", "/run/containerd"]
# Order matters for cluster-down: the node agents first, containers, then the
# runtime, then the control plane and its store.
STOP_GROUPS = [["kube-proxy", "kubelet"], ["kube-scheduler", "kube-controller-manager"], ["containerd"],
               ["kube-apiserver"], ["etcd", "registry"]]


def log(*args):
    print("[kube]", *args, file=sys.stderr, flush=True)


# ------------------------------------------------------------ helpers ----
def sysctl_path(name):
    return "/proc/sys/" + name.replace(".", "/")


def read_sysctl(name):
    try:
        with open(sysctl_path(name)) as f:
            return f.read().strip()
    except OSError:
        return None


def write_sysctl(name, value):
    try:
        with open(sysctl_path(name), "w") as f:
            f.write(value)
        return True
    except OSError as e:
        log("cannot restore %s=%s: %s" % (name, value, e))
        return False


def proc_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return data.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.rename(tmp, path)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def run(cmd, check=True, quiet=False, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, (r.stderr or r.stdout).strip()))
    if r.returncode != 0 and not quiet:
        log("%s: %s" % (" ".join(cmd), (r.stderr or r.stdout).strip()))
    return r


class State:
    MARKER = ".berth-kube-state"

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def ours(self):
        """Only a directory cluster-up made is ever cleaned or removed."""
        return os.path.isfile(self.p(self.MARKER))

    def p(self, *parts):
        return os.path.join(self.root, *parts)

    # Processes are recorded as "pid starttime" so that a reused pid is never signalled.
    def record_pid(self, name, pid):
        os.makedirs(self.p("pids"), exist_ok=True)
        with open(self.p("pids", name), "w") as f:
            f.write("%d %s\n" % (pid, proc_starttime(pid)))

    def pids(self):
        out = {}
        for path in glob.glob(self.p("pids", "*")):
            try:
                pid, start = open(path).read().split()
                out[os.path.basename(path)] = (int(pid), start)
            except (OSError, ValueError):
                pass
        return out


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def alive(pid, start):
    """Runs and is the process recorded (not a reused pid, not a zombie
    waiting for init to reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[19] == start and fields[0] not in ("Z", "X")


# ---------------------------------------------------------------- PKI -----
def openssl(*args, **kw):
    run(["openssl"] + list(args), **kw)


def make_pki(st):
    """A CA and EC P-256 certificates for every component, with openssl."""
    d = st.p("pki")
    os.makedirs(d)
    os.chmod(d, 0o700)

    def key(name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", os.path.join(d, name + ".key"))

    key("ca")
    openssl("req", "-x509", "-new", "-key", os.path.join(d, "ca.key"), "-days", "3650", "-subj", "/CN=berth-kube-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", os.path.join(d, "ca.crt"))

    def cert(name, subject, client=True, server=False, sans=()):
        key(name)
        usage = ",".join(([ "clientAuth"] if client else []) + (["serverAuth"] if server else []))
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=%s\n" % usage)
            if sans:
                f.write("subjectAltName=%s\n" % ",".join(sans))
        csr = os.path.join(d, name + ".csr")
        openssl("req", "-new", "-key", os.path.join(d, name + ".key"), "-subj", subject, "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", os.path.join(d, "ca.crt"), "-CAkey", os.path.join(d, "ca.key"),
                "-CAcreateserial", "-days", "3650", "-extfile", ext, "-out", os.path.join(d, name + ".crt"))
        os.unlink(csr)
        os.unlink(ext)

    cert("apiserver", "/CN=kube-apiserver", client=False, server=True,
         sans=["IP:127.0.0.1", "IP:" + API_SERVICE_IP, "IP:" + NODE_IP, "DNS:localhost", "DNS:kubernetes",
               "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"])
    cert("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client")
    cert("admin", "/O=system:masters/CN=berth-admin")
    cert("controller-manager", "/CN=system:kube-controller-manager")
    cert("scheduler", "/CN=system:kube-scheduler")
    cert("kube-proxy", "/CN=system:kube-proxy")
    cert("kubelet-client", "/O=system:nodes/CN=system:node:" + NODE_NAME)
    cert("kubelet", "/CN=" + NODE_NAME, client=False, server=True,
         sans=["IP:" + NODE_IP, "IP:127.0.0.1", "DNS:" + NODE_NAME, "DNS:localhost"])
    key("sa")
    openssl("pkey", "-in", os.path.join(d, "sa.key"), "-pubout", "-out", os.path.join(d, "sa.pub"))
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o600)


def write_kubeconfig(st, path, user, api_port):
    d = st.p("pki")

    def b64(name):
        with open(os.path.join(d, name), "rb") as f:
            return base64.b64encode(f.read()).decode()

    cfg = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "berth-kube", "cluster": {"server": "https://127.0.0.1:%d" % api_port,
                                                         "certificate-authority-data": b64("ca.crt")}}],
        "users": [{"name": user, "user": {"client-certificate-data": b64(user + ".crt"),
                                          "client-key-data": b64(user + ".key")}}],
        "contexts": [{"name": "berth-kube", "context": {"cluster": "berth-kube", "user": user, "namespace": "default"}}],
        "current-context": "berth-kube",
    }
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    os.chmod(path, 0o600)


# ---------------------------------------------------------- API client ----
class Api:
    """JSON requests to an API server with a client certificate."""

    def __init__(self, st, port, host="127.0.0.1", ctx=None):
        self.host, self.port = host, port
        if ctx is None:
            ctx = ssl.create_default_context(cafile=st.p("pki", "ca.crt"))
            ctx.load_cert_chain(st.p("pki", "admin.crt"), st.p("pki", "admin.key"))
        self.ctx = ctx

    @classmethod
    def from_kubeconfig(cls, path, tmpdir):
        """The first cluster and user of a kubeconfig as cluster-up writes it (JSON, inline certificates)."""
        with open(path) as f:
            cfg = json.load(f)
        cluster, user = cfg["clusters"][0]["cluster"], cfg["users"][0]["user"]
        files = {}
        for key, source in (("ca", cluster["certificate-authority-data"]), ("crt", user["client-certificate-data"]),
                            ("key", user["client-key-data"])):
            files[key] = os.path.join(tmpdir, "api." + key)
            with open(files[key], "wb") as f:
                f.write(base64.b64decode(source))
        ctx = ssl.create_default_context(cafile=files["ca"])
        ctx.load_cert_chain(files["crt"], files["key"])
        host, port = cluster["server"].split("//")[1].rsplit(":", 1)
        return cls(None, int(port), host, ctx)

    def connection(self, timeout=10):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def req(self, method, path, body=None, timeout=10):
        conn = self.connection(timeout)
        try:
            headers = {"Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw)
            except ValueError:
                return r.status, raw.decode(errors="replace")
        finally:
            conn.close()

    def get(self, path):
        try:
            status, body = self.req("GET", path)
        except OSError:
            return None
        return body if status == 200 else None


# ---------------------------------------------------------- processes ----
class Procs:
    def __init__(self, st):
        self.st = st
        self.procs = {}

    def start(self, name, argv, env=None):
        logf = open(self.st.p("logs", name + ".log"), "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True, env=env, cwd=self.st.root)
        logf.close()
        self.st.record_pid(name, p.pid)
        self.procs[name] = p
        return p

    def check(self):
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError("%s exited with %s; last lines of %s:\n%s" % (
                    name, p.returncode, self.st.p("logs", name + ".log"), tail(self.st.p("logs", name + ".log"))))


def tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def wait_for(what, fn, timeout, procs=None, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        if procs:
            procs.check()
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(interval)


def http_ok(url, timeout=1):
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


# ------------------------------------------------------------ cgroups ----
def cgroup_mounts():
    """Mount points of every cgroup v1 hierarchy and the v2 one."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            fstype = parts[sep + 1]
            if fstype in ("cgroup", "cgroup2"):
                out.append((parts[4], fstype, parts[sep + 3] if len(parts) > sep + 3 else ""))
    return out


def make_cgroup_root():
    for mnt, fstype, opts in cgroup_mounts():
        path = os.path.join(mnt, CGROUP_ROOT)
        os.makedirs(path, exist_ok=True)
        if fstype == "cgroup" and "cpuset" in opts.split(","):
            for f in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(mnt, f)) as src:
                    val = src.read().strip()
                with open(os.path.join(path, f), "w") as dst:
                    dst.write(val)


def cgroup_dirs():
    dirs = []
    for mnt, _, _ in cgroup_mounts():
        root = os.path.join(mnt, CGROUP_ROOT)
        if os.path.isdir(root):
            for top, _, _ in os.walk(root):
                dirs.append(top)
    return dirs


def cgroup_pids():
    pids = set()
    for d in cgroup_dirs():
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids.update(int(x) for x in f.read().split())
        except OSError:
            pass
    return pids


# ---------------------------------------------------------------- up -----
def containerd_config(st, reg_port):
    c = st.p("containerd")
    reg = "127.0.0.1:%d" % reg_port
    return """version = 2
root = "{c}/root"
state = "{c}/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{c}/containerd.sock"
[ttrpc]
  address = "{c}/containerd.sock.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{c}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{reg}/pause:{pause}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  max_concurrent_downloads = 3
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        Root = "{c}/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni}/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{c}/certs.d"
""".format(c=c, reg=reg, pause=PAUSE_IMAGE_TAG, runc=RUNC, cni_bin=CNI_BIN, cni=st.p("cni"))


def write_registry_hosts(st, reg_port):
    reg = "127.0.0.1:%d" % reg_port
    # The node pulls from the test registry over plain HTTP, by its own name
    # and as the mirror of docker.io (so "busybox" is the pushed library/busybox).
    for host, server in ((reg, "http://" + reg), ("docker.io", "https://registry-1.docker.io")):
        d = st.p("containerd", "certs.d", host)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "hosts.toml"), "w") as f:
            f.write('server = "%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true\n'
                    % (server, reg))


def cni_conflist(st):
    return {
        "cniVersion": "0.4.0",
        "name": NET_NAME,
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": True, "hairpinMode": True,
             "promiscMode": False,
             "ipam": {"type": "host-local", "dataDir": st.p("cni", "ipam"),
                      "ranges": [[{"subnet": NODE_POD_SUBNET, "gateway": NODE_IP}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }


def kubelet_config(st, port, healthz_port):
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": st.p("pki", "kubelet.crt"),
        "tlsPrivateKeyFile": st.p("pki", "kubelet.key"),
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": st.p("pki", "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": "/" + CGROUP_ROOT,
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": [],
        "failSwapOn": False,
        "protectKernelDefaults": False,
        "oomScoreAdj": 0,
        "clusterDomain": "cluster.local",
        "clusterDNS": [],
        "resolvConf": "/etc/resolv.conf",
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "makeIPTablesUtilChains": True,
        "evictionHard": {"memory.available": "1%", "nodefs.available": "1%", "nodefs.inodesFree": "1%",
                         "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "nodeStatusUpdateFrequency": "5s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
        "volumeStatsAggPeriod": "0s",
        "podPidsLimit": -1,
        "maxPods": 110,
        "staticPodPath": "",
    }


def kube_proxy_config(st, healthz_port, metrics_port):
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": st.p("kubeconfigs", "kube-proxy.conf")},
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": "127.0.0.1:%d" % healthz_port,
        "metricsBindAddress": "127.0.0.1:%d" % metrics_port,
        "clusterCIDR": POD_CIDR,
        "mode": "iptables",
        "oomScoreAdj": 0,
        # Zeros: leave the machine's conntrack sysctls alone.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"masqueradeAll": False, "syncPeriod": "30s", "minSyncPeriod": "1s"},
    }


def outside_snapshot():
    snap = {}
    for d in OUTSIDE_DIRS:
        snap[d] = sorted(os.listdir(d)) if os.path.isdir(d) else None
    return snap


def nft_tables():
    r = run(["nft", "list", "tables"], check=False, quiet=True)
    return sorted(set(l.strip() for l in r.stdout.splitlines() if l.startswith("table"))) if r.returncode == 0 else None


def conflicts():
    problems = []
    if os.path.exists("/sys/class/net/" + BRIDGE):
        problems.append("interface %s exists" % BRIDGE)
    if cgroup_pids():
        problems.append("processes in cgroup /%s" % CGROUP_ROOT)
    return problems


def start_registry(st, pause_bin):
    """docker-registry from tests/images/registry.py, detached (own session, so
    it outlives cluster-up), with busybox and the pause image pushed."""
    import testimages
    wrapper = st.p("bin", "docker-registry")
    os.makedirs(os.path.dirname(wrapper), exist_ok=True)
    with open(wrapper, "w") as f:
        # setsid execs in place (the child is no group leader): same pid, new session.
        f.write("#!/bin/sh\nexec setsid %s \"$@\"\n" % registry.REGISTRY_BIN)
    os.chmod(wrapper, 0o755)
    registry.REGISTRY_BIN = wrapper
    tempfile.tempdir = st.root  # the registry's directory goes into the state dir
    try:
        reg = registry.Registry()
    finally:
        tempfile.tempdir = None
    st.record_pid("registry", reg.proc.pid)
    bb = testimages.busybox()
    reg.push("library/busybox", "latest", bb)
    reg.push("busybox", "latest", bb)
    layer = testimages.LayerBuilder()
    with open(pause_bin, "rb") as f:
        layer.file("pause", f.read(), 0o755)
    reg.push("pause", PAUSE_IMAGE_TAG, testimages.custom([layer.finish()], cmd=("/pause",)))
    return reg


def up(state_dir, check_pod=True, timeout=120):
    t0 = time.monotonic()
    if os.geteuid() != 0:
        raise SystemExit("cluster-up must run as root")
    st = State(state_dir)
    if any(alive(*v) for v in st.pids().values()):
        raise SystemExit("a cluster is running from %s: run cluster-down --state %s first" % (st.root, st.root))
    if os.path.exists(st.root):
        if not st.ours():
            raise SystemExit("%s exists and is not a state dir of cluster-up; choose another --state" % st.root)
        log("leftovers of an earlier cluster in %s: cleaning them up first" % st.root)
        down(st.root)
    problems = conflicts()
    if problems:
        raise SystemExit("another cluster (or its leftovers) is on this machine: %s; run cluster-down"
                         % "; ".join(problems))

    vdir = kubebuild.ensure_built()
    binp = lambda b: os.path.join(vdir, "bin", b)  # noqa: E731
    for tool in (ETCD, CONTAINERD, RUNC, os.path.join(CNI_BIN, "bridge"), "/usr/sbin/conntrack"):
        if not os.path.exists(tool):
            raise SystemExit("%s missing: run scripts/install-deps.sh kube" % tool)
    tb = time.monotonic()

    os.makedirs(st.root)
    open(st.p(State.MARKER), "w").close()
    for d in ("logs", "pids", "kubeconfigs", "etcd", "containerd", "cni/net.d", "cni/ipam", "kubelet", "config"):
        os.makedirs(st.p(d), exist_ok=True)
    os.chmod(st.p("etcd"), 0o700)
    # What cluster-down restores or removes, recorded before anything starts.
    write_json(st.p("sysctl.json"), {k: read_sysctl(k) for k in SYSCTLS if read_sysctl(k) is not None})
    write_json(st.p("outside.json"), outside_snapshot())
    write_json(st.p("nft-tables.json"), nft_tables())

    procs = Procs(st)
    try:
        return _up(st, vdir, binp, procs, check_pod, timeout, t0, tb)
    except BaseException:
        log("start failed; tearing down (logs are copied to %s.failed-logs)" % st.root)
        shutil.rmtree(st.root + ".failed-logs", ignore_errors=True)
        shutil.copytree(st.p("logs"), st.root + ".failed-logs", ignore_dangling_symlinks=True)
        try:
            down(st.root)
        except Exception as e:  # report the first error, not the cleanup's
            log("cleanup after failure: %s" % e)
        raise


def _up(st, vdir, binp, procs, check_pod, timeout, t0, tb):
    (etcd_client, etcd_peer, api_port, kubelet_port, kubelet_healthz, proxy_healthz,
     proxy_metrics) = registry.free_ports(7)
    make_pki(st)

    # The bridge exists before the kubelet: its address is the node's
    # InternalIP (the kubelet refuses a loopback node IP), where the kubelet
    # listens; the CNI bridge plugin adopts it for the pods.
    run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "addr", "add", NODE_IP + "/24", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    make_cgroup_root()

    procs.start("etcd", [ETCD, "--name", "berth-kube", "--data-dir", st.p("etcd"),
                         "--listen-client-urls", "http://127.0.0.1:%d" % etcd_client,
                         "--advertise-client-urls", "http://127.0.0.1:%d" % etcd_client,
                         "--listen-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
                         "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
                         "--initial-cluster", "berth-kube=http://127.0.0.1:%d" % etcd_peer,
                         "--initial-cluster-state", "new", "--logger", "zap", "--log-level", "warn"])

    # The registry (with the images pushed) comes up while etcd and the API
    # server start.
    reg_box = {}

    def registry_thread():
        try:
            reg_box["reg"] = start_registry(st, binp("pause"))
        except BaseException as e:  # reported below
            reg_box["error"] = e
    rt = threading.Thread(target=registry_thread, daemon=True)
    rt.start()

    wait_for("etcd", lambda: http_ok("http://127.0.0.1:%d/health" % etcd_client), 30, procs)
    pki = lambda n: st.p("pki", n)  # noqa: E731
    procs.start("kube-apiserver", [
        binp("kube-apiserver"),
        "--bind-address=127.0.0.1", "--secure-port=%d" % api_port, "--insecure-port=0",
        "--advertise-address=" + NODE_IP, "--endpoint-reconciler-type=none",
        "--etcd-servers=http://127.0.0.1:%d" % etcd_client,
        "--service-cluster-ip-range=" + SERVICE_CIDR,
        "--tls-cert-file=" + pki("apiserver.crt"), "--tls-private-key-file=" + pki("apiserver.key"),
        "--client-ca-file=" + pki("ca.crt"),
        "--kubelet-client-certificate=" + pki("apiserver-kubelet-client.crt"),
        "--kubelet-client-key=" + pki("apiserver-kubelet-client.key"),
        "--kubelet-certificate-authority=" + pki("ca.crt"),
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        "--service-account-key-file=" + pki("sa.pub"),
        "--service-account-signing-key-file=" + pki("sa.key"),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true", "--profiling=false", "--cert-dir=" + st.p("apiserver"),
        "--event-ttl=1h", "--v=1",
    ])
    for user in ("admin", "controller-manager", "scheduler", "kube-proxy", "kubelet-client"):
        write_kubeconfig(st, st.p("kubeconfigs", user + ".conf"), user, api_port)
    kubeconfig = st.p("kubeconfig")
    shutil.copy(st.p("kubeconfigs", "admin.conf"), kubeconfig)

    rt.join()
    if "error" in reg_box:
        raise reg_box["error"]
    reg = reg_box["reg"]
    reg_port = reg.port

    # containerd: its own root, state, socket; CRI with our CNI config and
    # the test registry over plain HTTP.
    with open(st.p("cni", "net.d", "10-berth-kube.conflist"), "w") as f:
        json.dump(cni_conflist(st), f, indent=1)
    write_registry_hosts(st, reg_port)
    with open(st.p("containerd", "config.toml"), "w") as f:
        f.write(containerd_config(st, reg_port))
    sock = st.p("containerd", "containerd.sock")
    procs.start("containerd", [CONTAINERD, "--config", st.p("containerd", "config.toml")])

    api = Api(st, api_port)
    wait_for("kube-apiserver /readyz", lambda: api.get("/readyz") == "ok", 60, procs)
    log("API server ready after %.1f s" % (time.monotonic() - tb))

    procs.start("kube-controller-manager", [
        binp("kube-controller-manager"),
        "--kubeconfig=" + st.p("kubeconfigs", "controller-manager.conf"),
        "--leader-elect=false", "--port=0", "--secure-port=0",
        "--use-service-account-credentials=true",
        "--service-account-private-key-file=" + pki("sa.key"), "--root-ca-file=" + pki("ca.crt"),
        "--cluster-name=berth-kube", "--cluster-cidr=" + POD_CIDR, "--allocate-node-cidrs=false",
        "--service-cluster-ip-range=" + SERVICE_CIDR, "--controllers=*",
        "--node-monitor-period=2s", "--v=1",
    ])
    procs.start("kube-scheduler", [
        binp("kube-scheduler"), "--kubeconfig=" + st.p("kubeconfigs", "scheduler.conf"),
        "--leader-elect=false", "--port=0", "--secure-port=0", "--v=1",
    ])
    wait_for("containerd socket", lambda: os.path.exists(sock), 30, procs)
    with open(st.p("config", "kubelet.json"), "w") as f:
        json.dump(kubelet_config(st, kubelet_port, kubelet_healthz), f, indent=1)
    procs.start("kubelet", [
        binp("kubelet"), "--config=" + st.p("config", "kubelet.json"),
        "--kubeconfig=" + st.p("kubeconfigs", "kubelet-client.conf"),
        "--container-runtime=remote", "--container-runtime-endpoint=unix://" + sock,
        "--runtime-request-timeout=5m",
        "--root-dir=" + st.p("kubelet"), "--cert-dir=" + st.p("kubelet", "pki"),
        "--volume-plugin-dir=" + st.p("kubelet", "volume-plugins"),
        "--hostname-override=" + NODE_NAME, "--node-ip=" + NODE_IP,
        "--pod-infra-container-image=127.0.0.1:%d/pause:%s" % (reg_port, PAUSE_IMAGE_TAG),
        "--v=1",
    ])
    with open(st.p("config", "kube-proxy.json"), "w") as f:
        json.dump(kube_proxy_config(st, proxy_healthz, proxy_metrics), f, indent=1)
    procs.start("kube-proxy", [binp("kube-proxy"), "--config=" + st.p("config", "kube-proxy.json"), "--v=1"])

    write_json(st.p("cluster.json"), {
        "version_dir": vdir, "api_port": api_port, "etcd_port": etcd_client, "kubelet_port": kubelet_port,
        "registry": "127.0.0.1:%d" % reg_port, "registry_dir": reg.dir, "containerd_socket": sock,
        "kubeconfig": kubeconfig, "bridge": BRIDGE, "cgroup_root": "/" + CGROUP_ROOT,
        "pod_cidr": POD_CIDR, "service_cidr": SERVICE_CIDR, "node": NODE_NAME,
    })

    def node_ready():
        n = api.get("/api/v1/nodes/" + NODE_NAME)
        if not n:
            return False
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        tainted = any(t["key"].startswith("node.kubernetes.io/") for t in n["spec"].get("taints", []) or [])
        return ready and not tainted
    wait_for("node %s Ready (and untainted)" % NODE_NAME, node_ready, timeout, procs)
    log("node Ready after %.1f s" % (time.monotonic() - tb))
    # The kubelet set its kernel tunables once at start (kernel.panic_on_oops=1,
    # vm.overcommit_memory=1, ...); this machine is shared, so put them back.
    restore_sysctls(st, KUBELET_TUNABLES)

    def default_sa():
        sa = api.get("/api/v1/namespaces/default/serviceaccounts/default")
        return bool(sa and sa.get("secrets"))
    wait_for("ServiceAccount default/default with its token", default_sa, 60, procs)

    if check_pod:
        smoke_pod(api, procs, "127.0.0.1:%d" % reg_port)
    log("cluster up in %.1f s (%.1f s after the build check); state %s" % (
        time.monotonic() - t0, time.monotonic() - tb, st.root))
    return kubeconfig, "127.0.0.1:%d" % reg_port


def smoke_pod(api, procs, reg):
    """A pod from the test registry runs to completion (pull over plain HTTP,
    sandbox, CNI, container) and is deleted again."""
    name = "berth-kube-check"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
           "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                    "automountServiceAccountToken": False,
                    "containers": [{"name": "check", "image": reg + "/busybox:latest",
                                    "command": ["sh", "-c", "ip addr show eth0 | grep -q 10.222. && echo ok"]}]}}
    path = "/api/v1/namespaces/default/pods"
    status, body = api.req("POST", path, pod)
    if status != 201:
        raise RuntimeError("create check pod: %s %s" % (status, body))

    def done():
        p = api.get(path + "/" + name)
        phase = p and p["status"].get("phase")
        if phase == "Failed":
            raise RuntimeError("check pod failed: %s" % json.dumps(p["status"]))
        return phase == "Succeeded"
    t = time.monotonic()
    wait_for("check pod to succeed", done, 90, procs)
    log("check pod ran in %.1f s" % (time.monotonic() - t))
    api.req("DELETE", path + "/" + name + "?gracePeriodSeconds=0")


# -------------------------------------------------------------- down -----
def restore_sysctls(st, names=None):
    saved = read_json(st.p("sysctl.json"), {}) or {}
    for k, v in saved.items():
        if names is not None and k not in names:
            continue
        cur = read_sysctl(k)
        if cur is not None and cur != v:
            if write_sysctl(k, v):
                log("sysctl %s: %s -> %s (restored)" % (k, cur, v))


def stop_processes(st, names, grace=10):
    t = time.monotonic()
    _stop_processes(st, names, grace)
    log("stopped %s (%.1f s)" % (", ".join(names), time.monotonic() - t))


def _stop_processes(st, names, grace):
    pids = st.pids()
    live = {n: pids[n] for n in names if n in pids and alive(*pids[n])}
    for n, (pid, _) in live.items():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while live and time.monotonic() < deadline:
        live = {n: v for n, v in live.items() if alive(*v)}
        time.sleep(0.1)
    for n, (pid, start) in live.items():
        log("%s (pid %d) ignored SIGTERM; SIGKILL" % (n, pid))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for n, (pid, start) in live.items():
        for _ in range(50):
            if not alive(pid, start):
                break
            time.sleep(0.1)


def kill_pods(st):
    """Kills every process in the kubelet's cgroups and every shim of our
    containerd (their pids from the task bundles, or found by our socket in
    their command line)."""
    sock = st.p("containerd", "containerd.sock").encode()
    shims = set()
    for pidfile in glob.glob(st.p("containerd", "state", "io.containerd.runtime.v2.task", "*", "*", "shim.pid")):
        try:
            shims.add(int(open(pidfile).read().strip()))
        except (OSError, ValueError):
            pass
    for d in os.listdir("/proc"):
        if d.isdigit():
            argv = proc_cmdline(int(d))
            if b"-address" in argv and sock in argv:
                shims.add(int(d))
    sigkill_until_gone(lambda: cgroup_pids() | shims)


def sigkill_until_gone(pids):
    """SIGKILLs the running ones of pids() until none is left (5 s at most)."""
    for _ in range(50):
        victims = {p for p in pids() if running(p)}
        if not victims:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def shim_sockets(st):
    """The shims' sockets (containerd 1.6 puts them in /run/containerd/s
    whatever its state dir): each task bundle names its shim's address."""
    out = set()
    for f in glob.glob(st.p("containerd", "state", "io.containerd.runtime.v2.task", "*", "*", "address")):
        try:
            addr = open(f).read().strip()
        except OSError:
            continue
        if addr.startswith("unix://") and addr[len("unix://"):].startswith(SHIM_SOCKET_DIR + "/"):
            out.add(addr[len("unix://"):])
    return out


def cni_del(st):
    """Runs CNI DEL from libcni's cached results of our network, so the
    plugins remove what they added (ipMasq and portmap chains, IPAM)."""
    for path in glob.glob("/var/lib/cni/results/%s-*" % NET_NAME):
        try:
            cache = json.load(open(path))
            conf = json.loads(base64.b64decode(cache["config"]))
        except (OSError, ValueError, KeyError):
            continue
        if conf.get("name") != NET_NAME:
            continue
        caps = cache.get("capabilityArgs") or {}
        prev = cache.get("result")
        # The sandbox's network namespace is still mounted (under the state
        # dir): with it the bridge plugin also removes the veth and its
        # masquerade chain; without it only IPAM and portmap are undone.
        netns = ""
        try:
            spec = json.load(open(st.p("containerd", "state", "io.containerd.runtime.v2.task", "k8s.io",
                                       cache.get("containerId", "-"), "config.json")))
            for ns in spec["linux"]["namespaces"]:
                if ns.get("type") == "network" and os.path.exists(ns.get("path", "")):
                    netns = ns["path"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        for plugin in reversed(conf.get("plugins", [])):
            netconf = dict(plugin)
            netconf["name"] = NET_NAME
            netconf["cniVersion"] = conf.get("cniVersion", "0.4.0")
            if prev:
                netconf["prevResult"] = prev
            rc = {k: v for k, v in caps.items() if plugin.get("capabilities", {}).get(k)}
            if rc:
                netconf["runtimeConfig"] = rc
            env = dict(os.environ, CNI_COMMAND="DEL", CNI_CONTAINERID=cache.get("containerId", ""),
                       CNI_NETNS=netns, CNI_IFNAME=cache.get("ifName", "eth0"), CNI_PATH=CNI_BIN,
                       CNI_ARGS=";".join("%s=%s" % (a[0], a[1]) for a in cache.get("cniArgs") or []))
            subprocess.run([os.path.join(CNI_BIN, plugin["type"])], input=json.dumps(netconf).encode(),
                           env=env, capture_output=True)
        try:
            os.unlink(path)
        except OSError:
            pass


def unmount_under(root):
    root = os.path.realpath(root)
    for _ in range(5):
        mounts = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4].encode().decode("unicode_escape")
                if mp == root or mp.startswith(root + "/"):
                    mounts.append(mp)
        if not mounts:
            return True
        for mp in sorted(set(mounts), key=lambda m: -m.count("/")):
            if subprocess.run(["umount", mp], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", mp], capture_output=True)
    return False


def delete_links():
    if not os.path.exists("/sys/class/net/" + BRIDGE):
        return
    for port in glob.glob("/sys/class/net/%s/brif/*" % BRIDGE):
        run(["ip", "link", "del", os.path.basename(port)], check=False, quiet=True)
    run(["ip", "link", "del", BRIDGE], check=False)


def _ours_cni_rule(rule):
    return ('name: \\"%s\\"' % NET_NAME) in rule or ('name: "%s"' % NET_NAME) in rule or \
        ("name: %s " % NET_NAME) in rule


def clean_iptables():
    """Removes the KUBE-* chains (kubelet, kube-proxy) and the CNI chains of
    our network with every rule that jumps to them; the shared
    CNI-HOSTPORT-* chains only when nothing else is left in them."""
    for fam in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle", "raw"):
            r = run([fam + "-save", "-t", table], check=False, quiet=True)
            if r.returncode != 0 or not r.stdout.strip():
                continue
            chains, rules = [], []
            for line in r.stdout.splitlines():
                if line.startswith(":"):
                    chains.append(line[1:].split()[0])
                elif line.startswith("-A "):
                    rules.append(line)
            drop = {c for c in chains if c.startswith("KUBE-")}
            for rl in rules:
                chain = rl.split()[1]
                if chain.startswith("CNI-") and not chain.startswith("CNI-HOSTPORT-") and _ours_cni_rule(rl):
                    drop.add(chain)
            for rl in rules:  # a CNI chain of ours is reached only from rules naming our network
                tgt = _target(rl)
                if tgt.startswith("CNI-") and not tgt.startswith("CNI-HOSTPORT-") and _ours_cni_rule(rl):
                    drop.add(tgt)
            # The shared portmap chains go too when no other network's
            # per-container chain is reached from them any more.
            hostport = {c for c in chains if c.startswith("CNI-HOSTPORT-")}
            foreign = [rl for rl in rules if rl.split()[1] in hostport and _target(rl).startswith("CNI-")
                       and not _target(rl).startswith("CNI-HOSTPORT-") and _target(rl) not in drop]
            if hostport and not foreign:
                drop |= hostport
            if not drop:
                continue
            lines = ["*" + table]
            for rl in rules:
                chain = rl.split()[1]
                if chain in drop:
                    continue
                if _jumps_to(rl, drop) or (chain.startswith("CNI-") and _ours_cni_rule(rl)):
                    lines.append("-D" + rl[2:])
            for c in sorted(drop):
                lines.append("-F " + c)
            for c in sorted(drop):
                lines.append("-X " + c)
            lines.append("COMMIT")
            rr = subprocess.run([fam + "-restore", "--noflush"], input="\n".join(lines) + "\n", text=True,
                                capture_output=True)
            if rr.returncode != 0:
                log("%s-restore (%s): %s" % (fam, table, rr.stderr.strip()))


def _jumps_to(rule, chains):
    return _target(rule) in chains


def _target(rule):
    words = rule.split()
    for flag in ("-j", "-g"):
        if flag in words:
            return words[words.index(flag) + 1]
    return ""


def clean_nft_tables(st):
    """iptables-nft leaves its tables behind when emptied: delete those that
    did not exist before the cluster and hold no rule now."""
    before = read_json(st.p("nft-tables.json"))
    now = nft_tables()
    if before is None or now is None:
        return
    for t in now:
        if t in before:
            continue
        fam, name = t.split()[1:3]
        if fam not in ("ip", "ip6") or name not in ("filter", "nat", "mangle", "raw"):
            continue
        r = run(["nft", "-a", "list", "table", fam, name], check=False, quiet=True)
        if r.returncode == 0 and not any(" # handle" in l and "type " not in l and "policy" not in l
                                         and not l.strip().startswith(("chain", "table", "}"))
                                         for l in r.stdout.splitlines()):
            run(["nft", "delete", "table", fam, name], check=False)


def flush_conntrack():
    """Deletes the conntrack entries of pod and service addresses (either
    direction: a NATed flow names a pod only in its reply tuple)."""
    prefixes = tuple(c.rsplit(".", 2)[0] + "." for c in (POD_CIDR, SERVICE_CIDR))  # "10.222." "10.223."
    r = subprocess.run(["conntrack", "-L"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        words = line.split()
        addrs = [w.split("=", 1)[1] for w in words if w.startswith(("src=", "dst="))]
        if not any(a.startswith(prefixes) for a in addrs):
            continue
        kv = {}
        for w in words:
            if "=" in w:
                kv.setdefault(w.split("=", 1)[0], w.split("=", 1)[1])
        cmd = ["conntrack", "-D", "-p", words[0], "-s", kv.get("src", ""), "-d", kv.get("dst", "")]
        if "sport" in kv:
            cmd += ["--sport", kv["sport"], "--dport", kv["dport"]]
        subprocess.run(cmd, capture_output=True)


def remove_cgroups():
    for d in sorted(cgroup_dirs(), key=lambda p: -p.count("/")):
        try:
            os.rmdir(d)
        except OSError as e:
            log("cannot remove cgroup %s: %s" % (d, e))


def clean_outside(st):
    before = read_json(st.p("outside.json"))
    if before is None:
        return
    sandboxes = set()
    for d in glob.glob(st.p("containerd", "*", "io.containerd.grpc.v1.cri", "sandboxes")) + \
            glob.glob(st.p("containerd", "state", "io.containerd.runtime.v2.task", "*")):
        sandboxes.update(os.listdir(d))
    for d in OUTSIDE_DIRS:  # children before parents (the list is ordered so)
        if not os.path.isdir(d):
            continue
        had = before.get(d)
        for name in os.listdir(d):
            if had is not None and name in had:
                continue
            path = os.path.join(d, name)
            if d in ("/var/lib/cni", "/run/containerd"):
                continue  # only their subdirs above, and the dirs themselves below
            if d == "/var/lib/cni/results" and not (name.startswith(NET_NAME + "-") or (
                    name.startswith("cni-loopback-") and name[len("cni-loopback-"):].rsplit("-", 1)[0] in sandboxes)):
                continue  # containerd's loopback network caches results too
            if d == "/run/containerd/s":
                continue  # ours were removed by hash in kill_pods
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        if had is None:
            try:
                os.rmdir(d)
            except OSError:
                pass


def down(state_dir):
    if os.geteuid() != 0:
        raise SystemExit("cluster-down must run as root")
    st = State(state_dir)
    t0 = time.monotonic()
    have_state = st.ours()
    if os.path.exists(st.root) and not have_state:
        log("%s is not a state dir of cluster-up: leaving it alone" % st.root)
    sockets = shim_sockets(st) if have_state else set()
    if have_state:
        stop_processes(st, STOP_GROUPS[0])
        stop_processes(st, STOP_GROUPS[1])
        kill_pods(st)
        stop_processes(st, STOP_GROUPS[2])
        kill_pods(st)  # anything containerd started while stopping
        for group in STOP_GROUPS[3:]:
            stop_processes(st, group)
        leftover = [n for n, v in st.pids().items() if alive(*v)]
        if leftover:
            raise RuntimeError("still running: %s" % ", ".join(leftover))
    else:
        # No record: still remove what the cluster's fixed names mark as ours.
        sigkill_until_gone(cgroup_pids)
    for sock in sockets:  # shims killed with SIGKILL leave theirs
        if os.path.exists(sock):
            os.unlink(sock)
    cni_del(st)
    if have_state and not unmount_under(st.root):
        raise RuntimeError("mounts remain under %s" % st.root)
    delete_links()
    # kube-proxy's own cleanup first (IPVS flushing off: that would hit the
    # whole machine), then every KUBE-* chain left and our CNI chains.
    info = read_json(st.p("cluster.json"), {}) or {}
    proxy = os.path.join(info.get("version_dir") or kubebuild.find_built() or "/nonexistent", "bin", "kube-proxy")
    if os.access(proxy, os.X_OK):
        subprocess.run([proxy, "--cleanup", "--cleanup-ipvs=false"], capture_output=True)
    clean_iptables()
    flush_conntrack()
    remove_cgroups()
    if have_state:
        clean_outside(st)
        restore_sysctls(st)
        clean_nft_tables(st)
        shutil.rmtree(st.root)
    log("cluster down in %.1f s" % (time.monotonic() - t0))


# --------------------------------------------------------------- main -----
def main_up(argv=None):
    ap = argparse.ArgumentParser(prog="cluster-up", description="Start the single-node test Kubernetes cluster.")
    ap.add_argument("--state", default=os.environ.get("BERTH_KUBE_STATE", DEFAULT_STATE),
                    help="state directory (default %(default)s)")
    ap.add_argument("--no-check", action="store_true", help="skip the test pod run at the end")
    ap.add_argument("--build-only", action="store_true", help="only fill the binary cache")
    ap.add_argument("--timeout", type=int, default=120, help="seconds to wait for the node to be Ready")
    args = ap.parse_args(argv)
    if args.build_only:
        log("binaries in %s" % kubebuild.ensure_built())
        return 0
    def terminate(signum, frame):
        raise SystemExit(128 + signum)  # unwinds through up(), which tears down what it started
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        kubeconfig, registry = up(args.state, check_pod=not args.no_check, timeout=args.timeout)
    except (RuntimeError, OSError) as e:
        log("cluster-up failed: %s" % e)
        return 1
    print("export KUBECONFIG=%s" % kubeconfig)
    print("export BERTH_TEST_REGISTRY=%s" % registry)
    sys.stdout.flush()
    return 0


def main_down(argv=None):
    ap = argparse.ArgumentParser(prog="cluster-down", description="Stop the test cluster and remove its traces.")
    ap.add_argument("--state", default=os.environ.get("BERTH_KUBE_STATE", DEFAULT_STATE),
                    help="state directory (default %(default)s)")
    args = ap.parse_args(argv)
    try:
        down(args.state)
    except (RuntimeError, OSError) as e:
        log("cluster-down failed: %s" % e)
        return 1
    return 0
