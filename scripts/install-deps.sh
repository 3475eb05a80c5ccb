#!/usr/bin/env bash
# Installs the Debian packages Berth needs, only those missing, so a second
# run is quick and works offline. Usage: scripts/install-deps.sh build|test|bench|kube
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config git lld-16
  libboost-dev libboost-system-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libabsl-dev
  libcli11-dev libcurl4-openssl-dev libarchive-dev zlib1g-dev libzstd-dev
  libseccomp-dev libmnl-dev libyaml-cpp-dev nftables iproute2 procps uidmap slirp4netns
)
test_pkgs=(
  libgtest-dev libgmock-dev clang libclang-rt-14-dev openssl curl python3
  docker-registry busybox-static apache2-utils
)
bench_pkgs=(podman runc skopeo docker.io)
# tests/kube/cluster-up: Kubernetes built from Debian's kubernetes source
# package with Debian's Go, etcd from Debian, containerd + runc + CNI plugins
# for the node, conntrack/iptables for kube-proxy (containerd 1.6 port-forwards
# without socat).
kube_pkgs=(
  golang-go golang-github-modern-go-reflect2-dev dpkg-dev xz-utils
  etcd-server containerd runc containernetworking-plugins conntrack iptables
)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}" "${kube_pkgs[@]}") ;;  # make test runs the kube suite too
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  kube) want+=("${test_pkgs[@]}" "${kube_pkgs[@]}") ;;  # the same as test
  *) echo "usage: $0 build|test|bench|kube" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The integration tests drive the server with docker-py and dockerode; use
# the machine's python and node if they are there, else Debian's packages.
if [[ "${1:-build}" != build ]]; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [[ $(id -u) -eq 0 ]]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
    fi
  fi
  if ! python3 -c 'import docker' 2>/dev/null && ! /usr/bin/python3 -c 'import docker' 2>/dev/null; then
    if [[ $(id -u) -eq 0 ]]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-docker
    fi
  fi
fi
