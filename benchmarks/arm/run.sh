#!/bin/sh
# make test-arm: galprof installed from wheels (no compiler in the chroot) in an emulated aarch64 Debian 12, a scan of a
# few real photos there, and its JSON compared with the x86 scan of the same photos (compare.py).
# Needs root and Debian's qemu-user-static, binfmt-support and debootstrap (installed when missing).
# Emulated timings say nothing about a Raspberry Pi (inference is ~300x slower under qemu): none is reported.
#
#   ARM_ROOT   the chroot (kept between runs; default /var/tmp/galprof-arm64)
#   ARM_PHOTOS the photos to scan (default: a few from ../shared/data, copied to a temporary folder)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOT=${ARM_ROOT:-/var/tmp/galprof-arm64}
DATA=${GALPROF_DATA:-$REPO/../shared/data}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
WORK=$(mktemp -d /tmp/galprof-arm.XXXXXX)
say() { echo "test-arm: $*" >&2; }

[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot, binfmt_misc)"; exit 2; }
for tool in qemu-aarch64-static debootstrap update-binfmts; do
    command -v "$tool" >/dev/null || apt-get install -y -q qemu-user-static binfmt-support debootstrap >/dev/null
done
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

if [ ! -x "$ROOT/usr/bin/python3" ]; then
    # the first stage only downloads and unpacks (host tools); the second runs the arm64 dpkg under qemu
    if [ ! -x "$ROOT/debootstrap/debootstrap" ]; then
        say "debootstrap arm64 bookworm into $ROOT (a few minutes)"
        rm -rf "$ROOT"
        debootstrap --arch=arm64 --foreign --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian >/dev/null
    fi
    cp /usr/bin/qemu-aarch64-static "$ROOT/usr/bin/"
    chroot "$ROOT" /debootstrap/debootstrap --second-stage >/dev/null
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    chroot "$ROOT" apt-get update -q >/dev/null
    # no compiler on purpose: every dependency must come as a wheel
    chroot "$ROOT" apt-get install -y -q --no-install-recommends python3 python3-venv ca-certificates \
        tesseract-ocr-eng >/dev/null
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
if chroot "$ROOT" sh -c 'command -v gcc || command -v cc' >/dev/null 2>&1; then
    say "the chroot has a compiler: remove it (the point is an install from wheels alone)"; exit 2
fi
# qemu 7.2 shows the host's x86 /proc/cpuinfo, on which onnxruntime >= 1.28 crashes at import: an ARM one
mkdir -p "$ROOT/proc"
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
cleanup() { umount "$ROOT/proc/cpuinfo" 2>/dev/null || true; umount "$ROOT/proc" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cp "$HERE/cpuinfo-cortex-a72" "$WORK/cpuinfo"
mount --bind "$WORK/cpuinfo" "$ROOT/proc/cpuinfo"
export QEMU_CPU=cortex-a72

say "building galprof's wheel (x86 side, pure Python)"
rm -rf "$ROOT/opt/galprof" && mkdir -p "$ROOT/opt/galprof/photos"
"$PYTHON" -m pip wheel --no-deps -q -w "$ROOT/opt/galprof" "$REPO" >/dev/null
if [ -n "${ARM_PHOTOS:-}" ]; then
    cp "$ARM_PHOTOS"/* "$ROOT/opt/galprof/photos/"
else
    cp "$DATA"/lfw/Andre_Agassi/Andre_Agassi_000[1-3].jpg "$DATA/immich-assets/albums/nature/prairie_falcon.jpg" \
       "$DATA/imagenet-samples/n02123159_tiger_cat.JPEG" "$ROOT/opt/galprof/photos/"
fi

# --prefer-binary and no compiler in the chroot: a dependency with C code and no aarch64 wheel fails here;
# pure-Python sdists (reverse-geocoder) still install
say "pip install in the arm64 chroot (no compiler there)"
chroot "$ROOT" sh -c 'test -x /opt/venv/bin/pip || python3 -m venv /opt/venv'
WHEEL=$(cd "$ROOT/opt/galprof" && ls galprof-*.whl)  # the chroot's path, named on the host side
# the host's CA bundle: where TLS to the registry passes a proxy, its root is only there (also added to
# the chroot's own store; the PIP_CERT bundle alone was not enough in the 2026-12-01 runs)
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/opt/galprof/host-ca.crt"
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    chroot "$ROOT" update-ca-certificates >/dev/null 2>&1 || true
fi
chroot "$ROOT" env PIP_CERT=/opt/galprof/host-ca.crt PIP_FIND_LINKS= /opt/venv/bin/pip install -q --no-compile \
    --prefer-binary "/opt/galprof/$WHEEL"
chroot "$ROOT" /opt/venv/bin/python -c 'import platform; print("test-arm: machine", platform.machine())' >&2

say "scan under emulation (slow: minutes)"
chroot "$ROOT" /opt/venv/bin/galprof scan /opt/galprof/photos --cache /opt/galprof/cache.sqlite -q --workers 1 \
    -o /opt/galprof/arm.json
say "the same scan on this machine"
PYTHONPATH="$REPO" "$PYTHON" -m galprof scan "$ROOT/opt/galprof/photos" --cache "$WORK/cache.sqlite" -q --workers 1 -o "$WORK/x86.json"
# the arm scan saw the photos under /opt/galprof/photos: compare by file name
"$PYTHON" "$HERE/compare.py" "$WORK/x86.json" "$ROOT/opt/galprof/arm.json"
