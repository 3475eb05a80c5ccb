"""Local networking as root, driven by the docker CLI and docker-py: the
predefined networks, user networks with names, aliases and the embedded
resolver, --network container:<id>, --internal, connect before start and
hot-plug, published TCP and UDP ports (fixed, random, -P), host-gateway,
the API's errors, a daemon restart, and nothing left behind afterwards."""

import http.server
import ipaddress
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import docker

from harness import ROOTLESS, RootlessUser, free_ports, free_tcp_port
from test_run import RunBase

HTTPD = "mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"


def fetch_local(port, timeout=5.0):
    """GET / on 127.0.0.1:port once the container's httpd listens: a start
    returns when the process runs, not when it has bound its port (until
    then the forwarder's connection to it is refused and the client reset)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5).read()
        except (ConnectionError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

# A UDP echo server for the container (busybox's nc has no UDP): built here,
# static, and bind-mounted read-only.
UDP_ECHO_C = r"""
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <string.h>
/* udpecho PORT: echoes each datagram; udpecho PORT who: answers with the sender's address. */
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[1]));
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) return 1;
  for (;;) {
    char buf[2048];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (n > 0 && argc > 2) {
      const char *who = inet_ntoa(from.sin_addr);
      sendto(s, who, strlen(who), 0, (struct sockaddr *)&from, len);
    } else if (n > 0) {
      sendto(s, buf, n, 0, (struct sockaddr *)&from, len);
    }
  }
}
"""


class ClientNetns:
    """A network namespace with a veth pair to the host's (….2 there, ….1
    here): a client that reaches this host from an address of its own rather
    than over loopback."""

    def __init__(self):
        # A documentation range this machine has no route into.
        routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
        net = next(n for n in ("198.51.100", "203.0.113", "100.64.201") if n + "." not in routes)
        self.HOST, self.CLIENT = net + ".1", net + ".2"
        tag = "%d" % (os.getpid() % 100000)
        self.name, self.veth = "berth-it-cl" + tag, "bitc" + tag

        def ip(*args):
            subprocess.run(["ip", *args], check=True, capture_output=True)

        ip("netns", "add", self.name)
        try:
            ip("link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.name)
            ip("addr", "add", self.HOST + "/30", "dev", self.veth)
            ip("link", "set", self.veth, "up")
            ip("-n", self.name, "addr", "add", self.CLIENT + "/30", "dev", "eth0")
            ip("-n", self.name, "link", "set", "eth0", "up")
            ip("-n", self.name, "link", "set", "lo", "up")
        except Exception:
            self.remove()
            raise

    def run_python(self, code):
        return subprocess.run(["ip", "netns", "exec", self.name, "python3", "-c", code], capture_output=True,
                              text=True, check=True, timeout=30).stdout

    def remove(self):
        subprocess.run(["ip", "link", "del", self.veth], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

# Sends one UDP datagram as a raw frame (root in a container has CAP_NET_RAW,
# as under dockerd): rawudp IFACE DST_MAC SRC_IP DST_IP PORT TEXT.
RAW_UDP_C = r"""
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
static unsigned short sum(const void *p, int n) {
  const unsigned short *w = p;
  unsigned long s = 0;
  for (; n > 1; n -= 2) s += *w++;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (unsigned short)~s;
}
int main(int argc, char **argv) {
  if (argc != 7) return 2;
  unsigned char pkt[1500] = {0};
  struct iphdr *ip = (struct iphdr *)pkt;
  struct udphdr *udp = (struct udphdr *)(pkt + sizeof *ip);
  size_t len = strlen(argv[6]);
  memcpy(pkt + sizeof *ip + sizeof *udp, argv[6], len);
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons(sizeof *ip + sizeof *udp + len);
  ip->saddr = inet_addr(argv[3]);
  ip->daddr = inet_addr(argv[4]);
  ip->check = sum(ip, sizeof *ip);
  udp->source = htons(40000);
  udp->dest = htons(atoi(argv[5]));
  udp->len = htons(sizeof *udp + len);
  struct sockaddr_ll to = {0};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_IP);
  to.sll_ifindex = if_nametoindex(argv[1]);
  to.sll_halen = 6;
  sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &to.sll_addr[0], &to.sll_addr[1], &to.sll_addr[2],
         &to.sll_addr[3], &to.sll_addr[4], &to.sll_addr[5]);
  int s = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
  if (s < 0) { perror("socket"); return 1; }
  if (sendto(s, pkt, ntohs(ip->tot_len), 0, (struct sockaddr *)&to, sizeof to) < 0) { perror("sendto"); return 1; }
  return 0;
}
"""


def udp_ask(sock, text, address, timeout=5.0):
    """Sends `text` until a reply comes (a start returns before the
    container's server has bound its port; a datagram before that is lost)."""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.25)
    while True:
        sock.sendto(text, address)
        try:
            return sock.recvfrom(100)[0]
        except socket.timeout:
            if time.monotonic() > deadline:
                raise


def set_ip_forward(value):
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write(value)


def netns_holder(data_root):
    """The pid whose network namespace a rootless daemon on `data_root` runs
    its bridges in, or None when there is none (any more)."""
    try:
        with open(os.path.join(data_root, "rootless", "holder.pid")) as f:
            pid = int(f.read())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def alive(pid):
    """A process that is there and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def berth_leftovers(holder=None):
    """Interfaces and nft tables of Berth's on this machine (a test daemon
    names its default bridge berth-<tag> and its table berth_<tag>), or in
    the network namespace of a rootless daemon's `holder` pid."""
    enter = ["nsenter", "-t", str(holder), "-n"] if holder else []
    links = subprocess.run(enter + ["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout.split("\n")
    names = [l.split()[0].split("@")[0] for l in links if l.strip()]
    ours = [n for n in names if n.startswith("berth") or n.startswith("br-") or n.startswith("veth")]
    tables = subprocess.run(enter + ["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    ours += [t for t in tables.split("\n") if t.startswith("table ip berth")]
    return ours + reply_rules(holder)


def reply_rules(holder=None):
    """The policy rules Berth adds for published ports' replies (from a
    container's address and port, ipproto, sport) and the route of the table
    they look up, here or in `holder`'s namespace."""
    enter = ["nsenter", "-t", str(holder), "-n"] if holder else []
    rules = subprocess.run(enter + ["ip", "rule"], capture_output=True, text=True, check=True).stdout
    routes = subprocess.run(enter + ["ip", "route", "show", "table", "all"], capture_output=True, text=True,
                            check=True).stdout
    return ([r.strip() for r in rules.split("\n") if "ipproto" in r and "sport" in r] +
            [r.strip() for r in routes.split("\n") if r.startswith("local default")])  # their table


def default_route_ipv4():
    with open("/proc/net/route") as f:
        iface = next(l.split()[0] for l in f.readlines()[1:] if l.split()[1] == "00000000" and l.split()[7] == "00000000")
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", iface], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[3].split("/")[0]


@unittest.skipUnless(os.geteuid() == 0, "bridges and veths need root (or, rootless, a user the test makes)")
class Networks(RunBase):
    def setUp(self):
        # Registered first so that it runs last, after the daemon stopped.
        self.addCleanup(self.assert_nothing_left)
        super().setUp()
        if ROOTLESS:
            self.holder = netns_holder(self.berth.data_root)
            self.assertIsNotNone(self.holder)

    def assert_nothing_left(self):
        # The kernel takes a container's veth pair down with its namespace,
        # asynchronously: a moment's grace.
        deadline = time.time() + 3
        while berth_leftovers() and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(berth_leftovers(), [])
        if ROOTLESS:
            # The stopped daemon's namespaces (and slirp4netns) went with their last process.
            self.assertFalse(alive(self.holder), "the namespace holder %d is still there" % self.holder)

    def static_program(self, name, source):
        """`source` built static into a fresh directory (readable by the
        rootless daemon's user); returns the directory."""
        tmp = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", tmp])
        with open(os.path.join(tmp, name + ".c"), "w") as f:
            f.write(source)
        subprocess.run(["gcc", "-static", "-O1", "-o", os.path.join(tmp, name), os.path.join(tmp, name + ".c")],
                       check=True)
        if ROOTLESS:
            RootlessUser.get().own(tmp)
        return tmp

    def restart_with_ip_forward(self, value):
        """As root, net.ipv4.ip_forward (which the daemon reads at its start)
        set to `value` for the rest of the test, with a daemon started after."""
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            self.addCleanup(set_ip_forward, f.read().strip())
        set_ip_forward(value)
        self.restart_berth()

    def leftovers(self):
        """berth_leftovers() where this test's daemon keeps its bridges."""
        if not ROOTLESS:
            return berth_leftovers()
        holder = netns_holder(self.berth.data_root)
        self.assertIsNotNone(holder)
        return berth_leftovers(holder)

    def sh(self, *args, **kw):
        return self.docker("run", "--rm", *args, **kw)

    def httpd(self, name, *opts, text=None):
        self.docker("run", "-d", "--name", name, *opts, "busybox", "sh", "-c", HTTPD.format(text=text or name))

    def ip_of(self, name, network):
        return self.inspect(name)["NetworkSettings"]["Networks"][network]["IPAddress"]

    def test_predefined_networks_and_the_default_bridge(self):
        ls = self.docker("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").stdout.split("\n")
        self.assertEqual(sorted(l for l in ls if l), ["bridge bridge local", "host host local", "none null local"])
        bridge = json.loads(self.docker("network", "inspect", "bridge").stdout)[0]
        subnet = ipaddress.ip_network(bridge["IPAM"]["Config"][0]["Subnet"])
        gateway = bridge["IPAM"]["Config"][0]["Gateway"]
        self.assertEqual(str(subnet.network_address + 1), gateway)
        self.docker("run", "-d", "--name", "b1", "busybox", "sleep", "60")
        s = self.inspect("b1")["NetworkSettings"]
        ep = s["Networks"]["bridge"]
        self.assertEqual(ep["NetworkID"], bridge["Id"])
        self.assertIn(ipaddress.ip_address(ep["IPAddress"]), subnet)
        self.assertEqual(ep["Gateway"], gateway)
        self.assertEqual(ep["IPPrefixLen"], subnet.prefixlen)
        packed = ipaddress.ip_address(ep["IPAddress"]).packed
        self.assertEqual(ep["MacAddress"], "02:42:" + ":".join("%02x" % b for b in packed))
        self.assertEqual((s["IPAddress"], s["Gateway"], s["MacAddress"]), (ep["IPAddress"], gateway, ep["MacAddress"]))
        out = self.docker("exec", "b1", "sh", "-c", "ip -4 -o addr show eth0; ip route").stdout
        self.assertIn("inet %s/%d" % (ep["IPAddress"], subnet.prefixlen), out)
        self.assertIn("default via %s dev eth0" % gateway, out)
        # The container's own name line in /etc/hosts carries its address.
        hosts = self.docker("exec", "b1", "cat", "/etc/hosts").stdout
        self.assertIn("%s\t%s\n" % (ep["IPAddress"], self.inspect("b1")["Config"]["Hostname"]), hosts)
        # none: loopback only, up; host: the host's interfaces.
        self.assertEqual(self.sh("--network", "none", "busybox", "sh", "-c", "ls /sys/class/net").stdout, "lo\n")
        self.assertIn("inet 127.0.0.1", self.sh("--network", "none", "busybox", "ip", "-4", "addr", "show", "lo").stdout)
        host_ifaces = self.sh("--network", "host", "busybox", "ls", "/sys/class/net").stdout.split()
        # Rootless, the "host" is the daemon's own namespace, with slirp4netns's tap0 for the way out.
        self.assertIn("tap0" if ROOTLESS else "eth0", host_ifaces)
        bridge_iface = bridge["Options"]["com.docker.network.bridge.name"]
        self.assertRegex(bridge_iface, r"^berth-[0-9a-f]{6}$")  # not berth0: that is the default data root's
        self.assertIn(bridge_iface, host_ifaces)
        # Stopped: what only a running endpoint has is cleared.
        self.docker("stop", "-t", "0", "b1")
        s = self.inspect("b1")["NetworkSettings"]
        self.assertEqual((s["Networks"]["bridge"]["IPAddress"], s["Networks"]["bridge"]["EndpointID"]), ("", ""))
        self.assertEqual(s["Ports"], {})

    def test_legacy_links_on_the_default_bridge(self):
        self.docker("run", "-d", "--name", "srv", "-e", "FOO=bar", "--expose", "80", "--expose", "7000-7002",
                    "--expose", "53/udp", "busybox", "sh", "-c", HTTPD.format(text="linked"))
        srv = self.inspect("srv")
        ip = srv["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        out = self.sh("--name", "linker", "--link", "srv:db", "busybox", "sh", "-c",
                      "grep -w db /etc/hosts; echo $DB_NAME $DB_PORT $DB_PORT_80_TCP_ADDR $DB_ENV_FOO; "
                      "env | grep -E '^DB_PORT_(7000|53)_[A-Z]+_(START|END|PORT_START|PORT_END)=' | sort; "
                      "wget -qO- http://db/").stdout
        # The first TCP port is DB_PORT; a run of exposed ports is also named as a range.
        self.assertEqual(out, "%s\tdb %s srv\n/linker/db tcp://%s:80 %s bar\n"
                         "DB_PORT_7000_TCP_END=tcp://%s:7002\nDB_PORT_7000_TCP_PORT_END=7002\n"
                         "DB_PORT_7000_TCP_PORT_START=7000\nDB_PORT_7000_TCP_START=tcp://%s:7000\nlinked\n"
                         % (ip, srv["Config"]["Hostname"], ip, ip, ip, ip))
        self.docker("stop", "-t", "0", "srv")
        r = self.sh("--name", "linker2", "--link", "srv:db", "busybox", "true", check=False)
        self.assertIn("Cannot link to a non running container: /srv AS /linker2/db", r.stderr)

    def test_names_and_aliases_on_a_user_network(self):
        net_id = self.docker("network", "create", "--label", "team=qa", "appnet").stdout.strip()
        self.httpd("srv", "--network", "appnet", "--network-alias", "web")
        out = self.sh("--network", "appnet", "busybox", "sh", "-c", "wget -qO- http://srv/; wget -qO- http://web/")
        self.assertEqual(out.stdout, "srv\nsrv\n")
        ep = self.inspect("srv")["NetworkSettings"]["Networks"]["appnet"]
        sid = self.inspect("srv")["Id"]
        self.assertEqual(ep["NetworkID"], net_id)
        self.assertEqual(ep["DNSNames"], ["srv", "web", sid[:12]])
        self.assertEqual(ep["Aliases"], ["web"])
        net = json.loads(self.docker("network", "inspect", "appnet").stdout)[0]
        self.assertEqual(net["Labels"], {"team": "qa"})
        self.assertEqual(net["Containers"][sid]["Name"], "srv")
        self.assertEqual(net["Containers"][sid]["IPv4Address"], "%s/%s" % (ep["IPAddress"], ep["IPPrefixLen"]))
        # The resolver answers the short id too, and forwards nothing it knows.
        out = self.sh("--network", "appnet", "busybox", "nslookup", sid[:12]).stdout
        self.assertIn("Address: %s" % ep["IPAddress"], out)
        # --link: the alias resolves for the linking container only.
        out = self.sh("--network", "appnet", "--link", "srv:db", "busybox", "wget", "-qO-", "http://db/").stdout
        self.assertEqual(out, "srv\n")
        r = self.sh("--network", "appnet", "busybox", "nslookup", "db", check=False)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertNotIn(ep["IPAddress"], r.stdout)
        # The default bridge has no names (dockerd's rule).
        r = self.sh("busybox", "wget", "-T", "2", "-qO-", "http://srv/", check=False)
        self.assertNotEqual(r.returncode, 0)
        # Containers on two different networks cannot reach each other.
        r = self.sh("busybox", "wget", "-T", "2", "-qO-", "http://%s/" % ep["IPAddress"], check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_three_containers_on_one_alias_all_answer(self):
        self.docker("network", "create", "pool")
        for i in range(3):
            self.docker("run", "-d", "--name", "p%d" % i, "--network", "pool", "--network-alias", "svc",
                        "busybox", "sleep", "60")
        want = sorted(self.ip_of("p%d" % i, "pool") for i in range(3))
        out = self.sh("--network", "pool", "busybox", "nslookup", "-type=a", "svc").stdout
        got = sorted(l.split()[-1] for l in out.split("\n") if l.startswith("Address:") and "#" not in l
                     and ":53" not in l)
        self.assertEqual(got, want)

    def test_network_container_mode_shares_the_stack(self):
        self.httpd("owner")
        out = self.sh("--network", "container:owner", "busybox", "wget", "-qO-", "http://127.0.0.1/")
        self.assertEqual(out.stdout, "owner\n")
        self.assertEqual(self.inspect("owner")["Config"]["Hostname"],
                         self.sh("--network", "container:owner", "busybox", "hostname").stdout.strip())
        self.docker("stop", "-t", "0", "owner")
        r = self.sh("--network", "container:owner", "busybox", "true", check=False)
        self.assertEqual(r.returncode, 125)
        self.assertIn("cannot join network namespace of a non running container", r.stderr)

    @unittest.skipIf(ROOTLESS, "rootless bridges are in the daemon's namespace, away from the host's loopback")
    def test_a_container_cannot_reach_the_hosts_loopback_through_its_bridge(self):
        """Published ports on 127.0.0.1 need route_localnet on Berth's bridges,
        which would let a container address the host's 127.0.0.1 with a
        crafted frame (CVE-2020-8558 in Kubernetes); the firewall drops those."""
        tmp = self.static_program("rawudp", RAW_UDP_C)
        self.docker("run", "-d", "--name", "pub", "-p", "127.0.0.1::80", "-v", "%s/rawudp:/rawudp:ro" % tmp,
                    "busybox", "sleep", "60")
        settings = self.inspect("pub")["NetworkSettings"]["Networks"]["bridge"]
        bridge = json.loads(self.docker("network", "inspect", "bridge").stdout)[0]["Options"][
            "com.docker.network.bridge.name"]
        with open("/sys/class/net/%s/address" % bridge) as f:
            mac = f.read().strip()
        with open("/proc/sys/net/ipv4/conf/%s/route_localnet" % bridge) as f:
            self.assertEqual(f.read().strip(), "1")
        loopback, gateway = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET,
                                                                                            socket.SOCK_DGRAM)
        for s in (loopback, gateway):
            self.addCleanup(s.close)
            s.settimeout(2)
        loopback.bind(("127.0.0.1", 0))
        gateway.bind((settings["Gateway"], 0))

        def poke(dst, sock, text):
            for _ in range(3):
                self.docker("exec", "pub", "/rawudp", "eth0", mac, settings["IPAddress"], dst,
                            str(sock.getsockname()[1]), text)
            try:
                return sock.recvfrom(100)[0]
            except socket.timeout:
                return None

        # The same frames to the gateway's address arrive: the test can see a drop.
        self.assertEqual(poke(settings["Gateway"], gateway, "to the gateway"), b"to the gateway")
        self.assertIsNone(poke("127.0.0.1", loopback, "to loopback"))

    def test_internal_network_has_no_outbound_route(self):
        self.docker("network", "create", "--internal", "closed")
        self.assertTrue(json.loads(self.docker("network", "inspect", "closed").stdout)[0]["Internal"])
        self.httpd("inner", "--network", "closed")
        out = self.sh("--network", "closed", "busybox", "sh", "-c", "ip route; wget -qO- http://inner/").stdout
        self.assertNotIn("default", out)
        self.assertIn("inner\n", out)

    def test_connect_before_start_and_hot_plug(self):
        self.docker("network", "create", "mesh")
        self.httpd("hub", "--network", "mesh")
        # Created on the default bridge, connected before it starts.
        self.docker("create", "--name", "late", "busybox", "sleep", "60")
        self.docker("network", "connect", "--alias", "latecomer", "mesh", "late")
        self.assertEqual(sorted(self.inspect("late")["NetworkSettings"]["Networks"]), ["bridge", "mesh"])
        self.docker("start", "late")
        self.assertEqual(self.docker("exec", "late", "wget", "-qO-", "http://hub/").stdout, "hub\n")
        out = self.sh("--network", "mesh", "busybox", "sh", "-c", "ping -c1 -W2 late >/dev/null && echo ok; "
                      "ping -c1 -W2 latecomer >/dev/null && echo ok")
        self.assertEqual(out.stdout, "ok\nok\n")
        # Hot-plug into a running container, and out again.
        self.docker("run", "-d", "--name", "hot", "busybox", "sleep", "60")
        self.docker("network", "connect", "mesh", "hot")
        self.assertEqual(self.docker("exec", "hot", "wget", "-qO-", "http://hub/").stdout, "hub\n")
        ip = self.ip_of("hot", "mesh")
        self.assertIn("inet %s/" % ip, self.docker("exec", "hot", "ip", "-4", "addr", "show", "eth1").stdout)
        self.docker("network", "disconnect", "mesh", "hot")
        self.assertEqual(sorted(self.inspect("hot")["NetworkSettings"]["Networks"]), ["bridge"])
        self.assertNotEqual(self.docker("exec", "hot", "ip", "link", "show", "eth1", check=False).returncode, 0)
        r = self.docker("network", "disconnect", "mesh", "hot", check=False)
        self.assertIn("is not connected to network mesh", r.stderr)

    def test_a_container_on_two_networks_resolves_names_on_both(self):
        self.docker("network", "create", "neta")
        self.docker("network", "create", "netb")
        self.httpd("onlya", "--network", "neta")
        self.httpd("onlyb", "--network", "netb")
        self.docker("create", "--name", "both", "--network", "neta", "busybox", "sleep", "60")
        self.docker("network", "connect", "netb", "both")
        self.docker("start", "both")
        out = self.docker("exec", "both", "sh", "-c", "wget -qO- http://onlya/; wget -qO- http://onlyb/").stdout
        self.assertEqual(out, "onlya\nonlyb\n")
        # The others still see only their own network.
        r = self.docker("exec", "onlya", "wget", "-T", "2", "-qO-", "http://onlyb/", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_published_tcp_ports(self):
        port, _ = free_ports(2, consecutive=True)  # the second for the range below
        self.httpd("fixed", "-p", "127.0.0.1:%d:80" % port)
        self.assertEqual(self.docker("port", "fixed").stdout, "80/tcp -> 127.0.0.1:%d\n" % port)
        self.assertEqual(fetch_local(port), b"fixed\n")
        ps = self.docker("ps", "--filter", "name=fixed", "--format", "{{.Ports}}").stdout
        self.assertEqual(ps, "127.0.0.1:%d->80/tcp\n" % port)
        # Taken: dockerd's error, and the container does not run.
        r = self.docker("run", "-d", "--name", "clash", "-p", "127.0.0.1:%d:80" % port, "busybox", "sleep", "60",
                        check=False)
        self.assertEqual(r.returncode, 125)
        self.assertIn("Bind for 127.0.0.1:%d failed: port is already allocated" % port, r.stderr)
        self.assertEqual(self.inspect("clash")["State"]["Status"], "created")
        # A host range takes its first free port.
        self.httpd("ranged", "-p", "127.0.0.1:%d-%d:80" % (port, port + 1))
        self.assertEqual(self.docker("port", "ranged").stdout, "80/tcp -> 127.0.0.1:%d\n" % (port + 1))
        # -P: every exposed port on a random one from the ephemeral range.
        self.httpd("rand", "--expose", "80", "-P")
        binding = self.inspect("rand")["NetworkSettings"]["Ports"]["80/tcp"]
        low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        hp = int(binding[0]["HostPort"])
        self.assertTrue(low <= hp <= high, binding)
        self.assertEqual({b["HostIp"] for b in binding} - {"0.0.0.0", "::"}, set())
        self.assertEqual(fetch_local(hp), b"rand\n")
        # Released on stop.
        self.docker("stop", "-t", "0", "fixed")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).recv(1)
        self.docker("start", "fixed")
        self.assertEqual(fetch_local(port), b"fixed\n")

    def test_published_udp_port(self):
        tmp = self.static_program("udpecho", UDP_ECHO_C)
        self.docker("run", "-d", "--name", "udp", "-v", "%s/udpecho:/udpecho:ro" % tmp, "-p", "127.0.0.1::9999/udp",
                    "busybox", "/udpecho", "9999")
        hp = int(self.inspect("udp")["NetworkSettings"]["Ports"]["9999/udp"][0]["HostPort"])
        for text in (b"one", b"two"):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.assertEqual(udp_ask(s, text, ("127.0.0.1", hp)), text)
            s.close()

    def test_published_ports_keep_the_client_address(self):
        """A client from another machine (here a namespace of the test's) is
        seen by the container with its own address, over TCP and UDP; one on
        loopback, which the container could not answer, as the gateway. As
        root the kernel carries published ports (DNAT): from this host always,
        from elsewhere when IP forwarding is on; the forwarder takes the rest."""
        tmp = self.static_program("udpecho", UDP_ECHO_C)
        os.makedirs(os.path.join(tmp, "www", "cgi-bin"))
        who = os.path.join(tmp, "www", "cgi-bin", "who")
        with open(who, "w") as f:
            f.write('#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"\n')
        os.chmod(who, 0o755)
        if ROOTLESS:
            RootlessUser.get().own(tmp)
        else:
            self.restart_with_ip_forward("0")  # off first, then on
        tcp_port, udp_port = free_ports(2)
        self.docker("run", "-d", "--name", "who", "-v", "%s/www:/www:ro" % tmp, "-p", "%d:80" % tcp_port,
                    "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
        self.docker("run", "-d", "--name", "udpwho", "-v", "%s/udpecho:/udpecho:ro" % tmp,
                    "-p", "%d:9999/udp" % udp_port, "busybox", "/udpecho", "9999", "who")
        gateway = self.inspect("who")["NetworkSettings"]["Networks"]["bridge"]["Gateway"]
        seen_as = "[::ffff:%s]\n"  # busybox httpd listens on :: and names an IPv4 client so
        client = ClientNetns()
        self.addCleanup(client.remove)
        fetch = ("import urllib.request, time\n"
                 "for i in range(50):\n"
                 "    try:\n"
                 "        print(urllib.request.urlopen('http://%s:%d/cgi-bin/who', timeout=5).read().decode(), end='')\n"
                 "        break\n"
                 "    except OSError:\n"
                 "        time.sleep(0.1)\n" % (client.HOST, tcp_port))
        ask = ("import socket\n"
               "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "s.settimeout(5)\n"
               "s.sendto(b'?', ('%s', %d))\n"
               "print(s.recvfrom(100)[0].decode())\n" % (client.HOST, udp_port))
        holder = self.holder if ROOTLESS else None

        def check():
            self.assertEqual(client.run_python(fetch), seen_as % client.CLIENT)
            self.assertEqual(client.run_python(fetch), seen_as % client.CLIENT)  # again, from another port
            self.assertEqual(client.run_python(ask), client.CLIENT + "\n")
            self.assertEqual(urllib.request.urlopen("http://127.0.0.1:%d/cgi-bin/who" % tcp_port, timeout=5).read(),
                             (seen_as % gateway).encode())

        check()
        # The forwarder serves the other machine: one rule per published container port brings the
        # container's replies back to it.
        ip = self.ip_of("who", "bridge")
        rules = reply_rules(holder)
        self.assertEqual(len([r for r in rules if "from %s ipproto tcp sport 80 " % ip in r]), 1, rules)
        self.assertEqual(len([r for r in rules if "from %s ipproto udp sport 9999 " % self.ip_of("udpwho", "bridge")
                              in r]), 1, rules)
        if not ROOTLESS:
            # This host's own connections are DNATed.
            tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
            table = next(t.split()[2] for t in tables.split("\n") if t.startswith("table ip berth"))
            ruleset = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True,
                                     check=True).stdout
            self.assertIn("tcp dport %d dnat to %s:80" % (tcp_port, ip), ruleset)
            self.assertNotIn("hook prerouting priority dstnat", ruleset)
            # With forwarding on, the kernel takes the other machine's too, and the rules go.
            self.restart_with_ip_forward("1")
            self.assertEqual(reply_rules(), [])
            check()
            ruleset = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True,
                                     check=True).stdout
            self.assertIn("hook prerouting priority dstnat", ruleset)
        self.docker("restart", "-t", "0", "who")
        self.assertEqual(client.run_python(fetch), seen_as % client.CLIENT)
        self.docker("rm", "-f", "who", "udpwho")
        self.assertEqual(reply_rules(holder), [])

    def test_a_container_reaches_a_published_port_through_the_hosts_address(self):
        """Hairpin: a container on the same bridge, and one on another
        network, through the host's own address (not loopback); as root both
        with IP forwarding (DNAT) and without (the forwarder)."""
        port = free_tcp_port()
        self.docker("network", "create", "othernet")
        host = default_route_ipv4()
        for forwarding in ("0", "1") if not ROOTLESS else (None,):
            if forwarding:
                self.restart_with_ip_forward(forwarding)
            self.docker("rm", "-f", "target")
            self.httpd("target", "-p", "%d:80" % port)
            for net in ("bridge", "othernet"):
                out = self.sh("--network", net, "busybox", "sh", "-c",
                              "for i in 1 2 3 4 5; do timeout 5 wget -qO- http://%s:%d/ && exit 0; sleep 0.2; done;"
                              " exit 1" % (host, port))
                self.assertEqual(out.stdout, "target\n", (net, forwarding))

    def test_a_udp_client_follows_a_published_port_to_its_next_container(self):
        """The kernel remembers a UDP flow it DNATed; when the port's container
        goes, so does what was remembered, and the same client socket reaches
        the next container published on that port (here on another subnet)."""
        tmp = self.static_program("udpecho", UDP_ECHO_C)
        port = free_ports(1)[0]
        self.docker("network", "create", "nextnet")
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(client.close)
        for name, net in (("first", "bridge"), ("next", "nextnet")):
            self.docker("run", "-d", "--name", name, "--network", net, "-v", "%s/udpecho:/udpecho:ro" % tmp,
                        "-p", "127.0.0.1:%d:9999/udp" % port, "busybox", "/udpecho", "9999")
            self.assertEqual(udp_ask(client, name.encode(), ("127.0.0.1", port)), name.encode())
            self.docker("rm", "-f", name)

    def test_host_gateway_reaches_the_host(self):
        port = free_tcp_port()

        class Hello(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"from the host\n")

            def log_message(self, *a):
                pass

        server = http.server.HTTPServer(("0.0.0.0", port), Hello)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        out = self.sh("--add-host", "hgw:host-gateway", "--add-host", "static:10.9.8.7", "busybox", "sh", "-c",
                      "grep -E 'hgw|static' /etc/hosts; wget -qO- http://hgw:%d/" % port).stdout
        if ROOTLESS:
            gw = default_route_ipv4()  # the host's address, reached through slirp4netns
        else:
            gw = json.loads(self.docker("network", "inspect", "bridge").stdout)[0]["IPAM"]["Config"][0]["Gateway"]
        self.assertEqual(out, "%s\thgw\n10.9.8.7\tstatic\nfrom the host\n" % gw)

    def test_dns_options_and_forwarding(self):
        self.docker("network", "create", "dnsnet")
        out = self.sh("--network", "dnsnet", "--dns-search", "example.test", "--dns-option", "timeout:2", "busybox",
                      "cat", "/etc/resolv.conf").stdout
        gw = json.loads(self.docker("network", "inspect", "dnsnet").stdout)[0]["IPAM"]["Config"][0]["Gateway"]
        self.assertEqual(out, "# Generated by Berth.\nnameserver %s\nsearch example.test\noptions ndots:0 timeout:2\n"
                         % gw)
        out = self.sh("--dns", "192.0.2.53", "busybox", "cat", "/etc/resolv.conf").stdout
        self.assertIn("nameserver 192.0.2.53\n", out)

    def test_api_errors(self):
        r = self.docker("network", "rm", "bridge", check=False)
        self.assertIn("bridge is a pre-defined network and cannot be removed", r.stderr)
        self.docker("network", "create", "--subnet", "10.123.0.0/24", "busy")
        r = self.docker("network", "create", "busy", check=False)
        self.assertIn("network with name busy already exists", r.stderr)
        r = self.docker("network", "create", "--subnet", "10.123.0.128/25", "overlap", check=False)
        self.assertIn("Pool overlaps with other one on this address space", r.stderr)
        r = self.docker("network", "create", "--subnet", "10.124.0.1/24", "hostbits", check=False)
        self.assertIn("invalid subnet 10.124.0.1/24 : it should be 10.124.0.0/24", r.stderr)
        self.docker("run", "-d", "--name", "user", "--network", "busy", "--ip", "10.123.0.77", "busybox", "sleep", "60")
        self.assertEqual(self.ip_of("user", "busy"), "10.123.0.77")
        r = self.docker("network", "rm", "busy", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("has active endpoints", r.stderr)
        # A 404 on create makes the CLI pull and retry (as with dockerd): an image it can pull.
        r = self.docker("run", "--rm", "--network", "nope", "%s/library/busybox" % self.reg.address, "true",
                        check=False)
        self.assertEqual(r.returncode, 125)
        self.assertIn("network nope not found", r.stderr)
        # The CLI checks this one itself; the API says it too.
        api = docker.APIClient(base_url=self.berth.url, version="auto")
        self.addCleanup(api.close)
        with self.assertRaises(docker.errors.APIError) as e:
            api.create_container("busybox", "true", networking_config=api.create_networking_config(
                {"bridge": api.create_endpoint_config(aliases=["x"])}))
        self.assertEqual(e.exception.status_code, 400)
        self.assertIn("network-scoped alias is supported only for containers in user defined networks",
                      str(e.exception))
        # A field of the wrong type is the client's error, not the daemon's.
        r = self.berth.request("POST", "/v1.51/networks/create", headers={"Content-Type": "application/json"},
                               body=b'{"Name":"typed","Internal":"yes"}')
        self.assertEqual((r.status, r.json()), (400, {"message": "invalid JSON: json: cannot unmarshal string into "
                                                              "Go struct field CreateRequest.Internal of type bool"}))
        self.docker("rm", "-f", "user")
        self.docker("network", "rm", "busy")
        r = self.docker("network", "inspect", "busy", check=False)
        self.assertIn("network busy not found", r.stderr)

    def test_daemon_restart_keeps_names_and_ports(self):
        self.docker("network", "create", "keep")
        port = free_tcp_port()
        self.httpd("kept", "--network", "keep", "-p", "127.0.0.1:%d:80" % port)
        self.restart_berth(kill=True)
        self.assertEqual(fetch_local(port), b"kept\n")
        out = self.sh("--network", "keep", "busybox", "wget", "-qO-", "http://kept/")
        self.assertEqual(out.stdout, "kept\n")
        # A new container does not get the address the running one holds.
        self.docker("run", "-d", "--name", "second", "--network", "keep", "busybox", "sleep", "60")
        self.assertNotEqual(self.ip_of("second", "keep"), self.ip_of("kept", "keep"))

    def test_bridges_and_rules_a_crashed_daemon_left_are_removed_by_the_next(self):
        nid = self.docker("network", "create", "crashnet").stdout.strip()
        self.sh("--network", "crashnet", "busybox", "true")
        self.assertIn("br-" + nid[:12], self.leftovers())  # the network's bridge stays while it exists
        self.restart_berth(kill=True)
        self.assertEqual(self.leftovers(), [])
        # Reply rules: a published port's goes with its container, also when that ends while no
        # daemon runs, and one the crashed daemon left without a container (made here) goes at start.
        if not ROOTLESS:
            self.restart_with_ip_forward("0")  # as root, the rules are made only without IP forwarding
        self.docker("run", "-d", "--name", "brief", "-p", "80", "busybox", "sleep", "60")
        pid = self.inspect("brief")["State"]["Pid"]
        rule = [r for r in self.leftovers() if "sport 80" in r]
        self.assertEqual(len(rule), 1)
        table = rule[0].split(" lookup ")[1].split()[0]
        holder = netns_holder(self.berth.data_root) if ROOTLESS else None
        subprocess.run((["nsenter", "-t", str(holder), "-n"] if holder else []) +
                       ["ip", "rule", "add", "from", "10.255.0.9", "ipproto", "tcp", "sport", "81", "lookup", table,
                        "priority", "100"], check=True)

        def end_brief():
            os.kill(pid, signal.SIGKILL)
            self.wait_for(lambda: not alive(pid), what="the container's end")
        self.restart_berth(kill=True, while_down=end_brief)
        self.assertEqual(self.inspect("brief")["State"]["Status"], "exited")
        self.assertEqual([r for r in self.leftovers() if "sport" in r], [])
        # And it comes back when a container needs it.
        self.assertEqual(self.sh("--network", "crashnet", "busybox", "ls", "/sys/class/net").stdout.split(),
                         ["eth0", "lo"])

    def test_dockerpy_networks(self):
        client = docker.DockerClient(base_url=self.berth.url, version="auto")
        self.addCleanup(client.close)
        net = client.networks.create("pynet", driver="bridge", labels={"k": "v"},
                                     ipam=docker.types.IPAMConfig(pool_configs=[
                                         docker.types.IPAMPool(subnet="10.77.0.0/24", iprange="10.77.0.128/25")]))
        self.assertEqual(net.name, "pynet")
        self.assertEqual([n.name for n in client.networks.list(names=["pynet"])], ["pynet"])
        self.assertEqual([n.name for n in client.networks.list(filters={"label": "k=v"})], ["pynet"])
        c = client.containers.run("busybox", "sleep 60", detach=True, name="pyc")
        net.connect(c, aliases=["pyalias"])
        net.reload()
        self.assertEqual(list(net.attrs["Containers"]), [c.id])
        ip = net.attrs["Containers"][c.id]["IPv4Address"].split("/")[0]
        self.assertIn(ipaddress.ip_address(ip), ipaddress.ip_network("10.77.0.128/25"))
        net.disconnect(c)
        net.reload()
        self.assertEqual(net.attrs["Containers"], {})
        c.remove(force=True)
        client.networks.create("unused")
        pruned = client.networks.prune()
        self.assertEqual(sorted(pruned["NetworksDeleted"]), ["pynet", "unused"])
        self.assertEqual(sorted(n.name for n in client.networks.list()), ["bridge", "host", "none"])

    def test_testcontainers_node_network_with_aliases(self):
        node_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
        if not os.path.isdir(os.path.join(node_dir, "node_modules", "testcontainers")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=node_dir, check=True,
                           timeout=600)
        env = dict(os.environ, DOCKER_HOST=self.berth.url, TESTCONTAINERS_RYUK_DISABLED="true",
                   BERTH_TEST_IMAGE="%s/library/busybox:latest" % self.reg.address)
        if ROOTLESS and os.path.exists("/.dockerenv"):
            # This machine has /.dockerenv, so testcontainers believes it runs in a container and
            # reaches mapped ports through the bridge's gateway, which a rootless daemon keeps in
            # its own namespace (as rootless dockerd does); on a host it uses localhost.
            env["TESTCONTAINERS_HOST_OVERRIDE"] = "localhost"
        r = subprocess.run(["node", "tc_network.mjs"], cwd=node_dir, env=env, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout.strip().split("\n")[-1]),
                         {"viaHost": "hello\n", "viaAlias": "hello\n", "aliasExit": 0})
        self.assertEqual(self.docker("ps", "-aq").stdout, "")
        self.assertEqual(sorted(self.docker("network", "ls", "--format", "{{.Name}}").stdout.split()),
                         ["bridge", "host", "none"])


if __name__ == "__main__":
    unittest.main()
