#!/usr/bin/env bash
# Retake the README's Krita and GIMP 3 screenshots (docs/krita.jpg, docs/gimp.jpg) under Xvfb:
# a brushwork server with a token, Krita with the plug-in painting examples/tubingen.jpg, and GIMP 3
# (in the chroot of .ci/gimp-chroot) showing the plug-in's dialog. Needs Xvfb, xwd and xdotool
# (apt-get install xvfb x11-apps xdotool), Krita, and root for the chroot. Run from anywhere.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$REPO/integrations/screenshots"
GIMP_ROOT="${BRUSHWORK_GIMP_ROOT:-/var/cache/brushwork-gimp}"
WORK="$(mktemp -d)"  # BW_SHOT_KEEP=1 keeps it, with the logs
DISPLAY_NUMBER=97
export DISPLAY="127.0.0.1:$DISPLAY_NUMBER"  # over TCP, so that the chroot reaches it too
TOKEN="screenshot-token-$$"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; [ -n "${BW_SHOT_KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

Xvfb ":$DISPLAY_NUMBER" -screen 0 1280x800x24 -nolisten unix -listen tcp >"$WORK/xvfb.log" 2>&1 &
pids+=($!)
OMP_NUM_THREADS=1 "$REPO/.venv/bin/brushwork" serve --port 0 --token "$TOKEN" --data-dir "$WORK/data" \
  >"$WORK/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 120); do [ -f "$WORK/data/server.json" ] && break; sleep 0.5; done
URL="$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['url'])" "$WORK/data/server.json")"

shoot() {  # shoot OUT: the screen, cropped, as PNG or JPEG by OUT's extension
  xdotool mousemove 1279 799  # no tooltips
  sleep 1
  xwd -root -silent >"$WORK/screen.xwd"
  "$REPO/.venv/bin/python" "$HERE/xwd_to_image.py" "$WORK/screen.xwd" "$1"
}

# Krita: the docker paints the photo with the fast engine; the new layer shows above the photo.
KHOME="$WORK/krita-home"
mkdir -p "$KHOME/.local/share/krita/pykrita" "$KHOME/.config"
cp -r "$REPO/integrations/krita/brushwork_krita" "$REPO/integrations/krita/brushwork_krita.desktop" \
  "$HERE/krita_shot" "$HERE/krita_shot.desktop" "$KHOME/.local/share/krita/pykrita/"
printf '[python]\nenable_brushwork_krita=true\nenable_krita_shot=true\n' >"$KHOME/.config/kritarc"
for attempt in 1 2 3; do  # Krita under Xvfb now and then aborts at start: try again
  HOME="$KHOME" PATH=/usr/bin:/bin BRUSHWORK_URL="$URL" BRUSHWORK_TOKEN="$TOKEN" \
    BW_SHOT_STYLE="$REPO/examples/starry_night.jpg" krita --nosplash "$REPO/examples/tubingen.jpg" \
    >"$WORK/krita-$attempt.log" 2>&1 &
  krita_pid=$!
  pids+=("$krita_pid")
  sleep "${BW_SHOT_KRITA_SECONDS:-60}"
  if kill -0 "$krita_pid" 2>/dev/null; then
    shoot "$REPO/docs/krita.jpg"
    kill "$krita_pid"
    break
  fi
  echo "Krita stopped early (attempt $attempt): $(tail -1 "$WORK/krita-$attempt.log")" >&2
done

# GIMP 3: the plug-in's dialog, opened from a batch call in interactive mode.
if [ -f "$GIMP_ROOT/.brushwork-ready" ]; then
  GWORK="$(mktemp -d -p "$GIMP_ROOT/tmp")"
  inside="/${GWORK#"$GIMP_ROOT"/}"
  mkdir -p "$GWORK/home/.config/GIMP/3.0/plug-ins"
  cp -r "$REPO/integrations/gimp/brushwork" "$GWORK/home/.config/GIMP/3.0/plug-ins/"
  cp "$REPO/examples/tubingen.jpg" "$REPO/examples/starry_night.jpg" "$GWORK/"
  cat >"$GWORK/dialog.py" <<PY
from gi.repository import Gimp, Gio
image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path("$inside/tubingen.jpg"))
Gimp.Display.new(image)
procedure = Gimp.get_pdb().lookup_procedure("plug-in-brushwork-stylize")
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", [image.get_layers()[0]])
config.set_property("style-file", Gio.File.new_for_path("$inside/starry_night.jpg"))
procedure.run(config)
PY
  chroot "$GIMP_ROOT" env -i PATH=/usr/bin:/bin HOME="$inside/home" DISPLAY="$DISPLAY" \
    BRUSHWORK_URL="$URL" BRUSHWORK_TOKEN="$TOKEN" gimp-3.0 --no-splash \
    --batch-interpreter python-fu-eval -b "exec(open('$inside/dialog.py').read())" >"$WORK/gimp.log" 2>&1 &
  pids+=($!)
  sleep "${BW_SHOT_GIMP_SECONDS:-60}"
  xdotool search --name "Brushwork Stylize" windowmove 420 260 || true  # no window manager places it
  sleep 1
  shoot "$REPO/docs/gimp.jpg"
  kill "${pids[-1]}" 2>/dev/null || true
  rm -rf "$GWORK"
fi
echo "wrote docs/krita.jpg and docs/gimp.jpg"
