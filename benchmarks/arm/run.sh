#!/bin/sh
# make test-arm: galprof installed from wheels alone (no compiler, no network) in an emulated aarch64
# Debian 12, a scan of a few real photos there, and its JSON compared with the x86 scan of the same
# photos (compare.py). Needs root and Debian's qemu-user-static, binfmt-support and debootstrap
# (installed when missing). Emulated timings say nothing about a Raspberry Pi: none is reported.
#
#   ARM_ROOT   the chroot (kept between runs, with its wheelhouse; default /var/tmp/galprof-arm64)
#   ARM_PHOTOS the photos to scan (default: 7 from ../shared/data: faces, GPS, text, animals)
#   ARM_OUT    where the two profiles and the chroot's package list are kept (default /var/tmp/galprof-arm-result)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOT=${ARM_ROOT:-/var/tmp/galprof-arm64}
DATA=${GALPROF_DATA:-$REPO/../shared/data}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
OUT=${ARM_OUT:-/var/tmp/galprof-arm-result}
WORK=$(mktemp -d /tmp/galprof-arm.XXXXXX)
WHEELHOUSE=$ROOT/opt/wheelhouse   # /opt/wheelhouse in the chroot; cached between runs
# Debian 12: Python 3.11, glibc 2.36, so manylinux2014 and manylinux_2_17 ... manylinux_2_36 wheels
CHROOT_PYTHON=3.11
CHROOT_GLIBC_MINOR=36
# requirements published as sdists only; pure Python, built into wheels on this machine
SDIST_ONLY="reverse-geocoder"
say() { echo "test-arm: $*" >&2; }

# the chroot's commands without this machine's environment (its PIP_* settings, paths), under a Cortex-A72
in_chroot() {
    chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 QEMU_CPU=cortex-a72 "$@"
}

host_tools() {
    [ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot, binfmt_misc)"; exit 2; }
    for tool in qemu-aarch64-static debootstrap update-binfmts; do
        command -v "$tool" >/dev/null || apt-get install -y -q qemu-user-static binfmt-support debootstrap >/dev/null
    done
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
}

make_chroot() {
    [ -x "$ROOT/usr/bin/python3" ] && return 0
    # the first stage only downloads and unpacks (host tools); the second runs the arm64 dpkg under qemu
    if [ ! -x "$ROOT/debootstrap/debootstrap" ]; then
        say "debootstrap arm64 bookworm into $ROOT (a few minutes)"
        rm -rf "$ROOT"
        debootstrap --arch=arm64 --foreign --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian >/dev/null
    fi
    cp /usr/bin/qemu-aarch64-static "$ROOT/usr/bin/"
    in_chroot /debootstrap/debootstrap --second-stage >/dev/null
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    # apt over plain http (Debian signs its lists); no compiler on purpose: every dependency is a wheel
    in_chroot apt-get update -q >/dev/null
    in_chroot apt-get install -y -q --no-install-recommends python3 python3-venv tesseract-ocr-eng >/dev/null
}

# qemu 7.2 shows the host's x86 /proc/cpuinfo, on which onnxruntime >= 1.28 crashes at import: an ARM one;
# /sys for the cpu lists that onnxruntime's cpuinfo reads (without it, it warns and guesses)
mount_proc() {
    mkdir -p "$ROOT/proc" "$ROOT/sys"
    mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
    mountpoint -q "$ROOT/sys" || mount -t sysfs sysfs "$ROOT/sys"
    cp "$HERE/cpuinfo-cortex-a72" "$WORK/cpuinfo"
    mount --bind "$WORK/cpuinfo" "$ROOT/proc/cpuinfo"
}
cleanup() {
    for mounted in "$ROOT/proc/cpuinfo" "$ROOT/proc" "$ROOT/sys"; do umount "$mounted" 2>/dev/null || true; done
    rm -rf "$WORK"
}

copy_photos() {
    rm -rf "$ROOT/opt/galprof" && mkdir -p "$ROOT/opt/galprof/photos" "$OUT"
    if [ -n "${ARM_PHOTOS:-}" ]; then
        cp "$ARM_PHOTOS"/* "$ROOT/opt/galprof/photos/"
    else
        cp "$DATA"/lfw/Andre_Agassi/Andre_Agassi_000[1-3].jpg "$DATA/immich-assets/albums/nature/prairie_falcon.jpg" \
           "$DATA/imagenet-samples/n02123159_tiger_cat.JPEG" "$DATA/exif-samples/jpg/gps/DSCN0010.jpg" \
           "$DATA/immich-assets/albums/text/handwritten-notes.jpg" "$ROOT/opt/galprof/photos/"
    fi
}

# galprof's wheel and every aarch64 wheel it needs, fetched here (pip's TLS on this machine, not the
# chroot's), at the versions this machine's venv has (constraints.txt, from requirements.py)
fill_wheelhouse() {
    mkdir -p "$WHEELHOUSE"
    "$PYTHON" -m pip wheel --no-deps -q -w "$ROOT/opt/galprof" "$REPO" >/dev/null
    WHEEL=$(cd "$ROOT/opt/galprof" && ls galprof-*.whl)
    "$PYTHON" "$HERE/requirements.py" "$ROOT/opt/galprof/$WHEEL" "$ROOT/opt/galprof"
    platforms="--platform manylinux2014_aarch64"
    minor=17
    while [ "$minor" -le "$CHROOT_GLIBC_MINOR" ]; do
        platforms="$platforms --platform manylinux_2_${minor}_aarch64"; minor=$((minor + 1))
    done
    for sdist in $SDIST_ONLY; do
        "$PYTHON" -m pip wheel --no-deps -q -c "$ROOT/opt/galprof/constraints.txt" -w "$WHEELHOUSE" "$sdist"
    done
    # shellcheck disable=SC2086  # one word per --platform option
    "$PYTHON" -m pip download -q --only-binary=:all: $platforms --python-version "$CHROOT_PYTHON" \
        --implementation cp --abi "cp$(echo "$CHROOT_PYTHON" | tr -d .)" --find-links "$WHEELHOUSE" \
        -d "$WHEELHOUSE" -r "$ROOT/opt/galprof/requirements.txt" -c "$ROOT/opt/galprof/constraints.txt"
}

# a new venv each run, pip with no index: what is not in the wheelhouse, or needs a compiler, fails here
install_in_chroot() {
    if in_chroot sh -c 'command -v gcc || command -v cc || command -v c++' >/dev/null 2>&1; then
        say "the chroot has a compiler: remove it (the point is an install from wheels alone)"; exit 2
    fi
    rm -rf "$ROOT/opt/venv"
    in_chroot python3 -m venv /opt/venv
    in_chroot /opt/venv/bin/pip install -q --no-compile --no-index --find-links /opt/wheelhouse \
        --only-binary=:all: -c /opt/galprof/constraints.txt "/opt/galprof/$WHEEL"
    in_chroot /opt/venv/bin/python -c 'import platform, sys; print("test-arm:", platform.machine(), "Debian",
open("/etc/debian_version").read().strip(), "Python", sys.version.split()[0])' >&2
    in_chroot /opt/venv/bin/pip list --format=freeze >"$OUT/arm-packages.txt"
}

host_tools
make_chroot
trap cleanup EXIT
mount_proc
copy_photos
say "aarch64 wheels into $WHEELHOUSE (on this machine)"
fill_wheelhouse
say "pip install in the arm64 chroot: no index, no compiler"
install_in_chroot
say "scan under emulation (slow: minutes)"
in_chroot /opt/venv/bin/galprof scan /opt/galprof/photos --cache /opt/galprof/cache.sqlite -q --workers 1 \
    -o /opt/galprof/arm.json
cp "$ROOT/opt/galprof/arm.json" "$OUT/arm.json"
say "the same scan on this machine"
PYTHONPATH="$REPO" "$PYTHON" -m galprof scan "$ROOT/opt/galprof/photos" --cache "$WORK/cache.sqlite" -q \
    --workers 1 -o "$OUT/x86.json"
# the arm scan saw the photos under /opt/galprof/photos: compare by file name
"$PYTHON" "$HERE/compare.py" "$OUT/x86.json" "$OUT/arm.json"
