#!/usr/bin/env bash
# Installs Apache Flink's jars (the `pyflink/lib/*.jar` of the PyPI package apache-flink-libraries)
# into a cache directory, once. Idempotent: a second run finds them and only says so.
#
#   benches/flink/install.sh            # into ${WEIR_FLINK_HOME:-$HOME/.cache/weir/flink}
#   WEIR_FLINK_VERSION=2.3.0 benches/flink/install.sh
#
# Layout: $WEIR_FLINK_HOME/<version>/lib/*.jar, and $WEIR_FLINK_HOME/<version>/INSTALLED (what was
# installed, from which wheel, with its sha256). Prints the lib directory on its last line.
set -euo pipefail

version="${WEIR_FLINK_VERSION:-2.3.0}"
home="${WEIR_FLINK_HOME:-$HOME/.cache/weir/flink}"
dest="$home/$version"
python="${PYTHON:-python3}"

if [[ -f "$dest/INSTALLED" ]] && compgen -G "$dest/lib/flink-dist-*.jar" >/dev/null; then
    echo "install.sh: Flink $version jars already in $dest/lib"
    echo "$dest/lib"
    exit 0
fi

mkdir -p "$home"
work="$(mktemp -d "$home/.install-$version.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The wheel is one file of about 330 MB holding every jar; --no-deps: nothing else is needed.
if ! "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --dest "$work/dl" "apache-flink-libraries==$version"; then
    echo "install.sh: pip download of apache-flink-libraries==$version failed" >&2
    exit 1
fi
wheel="$(ls "$work"/dl/apache_flink_libraries-*.whl)"

"$python" - "$wheel" "$work/out/lib" <<'PY'
import sys, zipfile, os
wheel, lib = sys.argv[1], sys.argv[2]
os.makedirs(lib)
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("pyflink/lib/") and name.endswith(".jar"):
            with z.open(name) as src, open(os.path.join(lib, os.path.basename(name)), "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            n += 1
if n == 0:
    sys.exit("install.sh: no pyflink/lib/*.jar in " + wheel)
PY

sha="$(sha256sum "$wheel" | cut -d' ' -f1)"
{
    echo "apache-flink-libraries==$version"
    echo "wheel: $(basename "$wheel")"
    echo "sha256: $sha"
    echo "installed: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$work/out/INSTALLED"

rm -rf "$dest"
mv "$work/out" "$dest"
echo "install.sh: installed Flink $version ($(ls "$dest/lib" | wc -l) jars from $(basename "$wheel"), sha256 ${sha:0:12}…) into $dest/lib"
echo "$dest/lib"
