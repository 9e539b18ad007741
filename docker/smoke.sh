#!/usr/bin/env bash
# smoke.sh — checks a built qlab image from the inside; docker/smoke.Containerfile
# runs it at build time as the image's own user (no USER line there), with
# the image's environment. Every check prints one line; the first failure
# stops the build.
set -euo pipefail

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

# 1. The image's user is qlab, uid 1000, not root.
[[ $(id -u) == 1000 && $(id -un) == qlab ]] || fail "runs as $(id -un) ($(id -u)), want qlab (1000)"
echo "smoke: user $(id -un) uid $(id -u)"

# 2. Jupyter finds the kernelspec.
python3 -c '
from jupyter_client.kernelspec import KernelSpecManager
s = KernelSpecManager().get_kernel_spec("qlab")
assert s.display_name == "Go (qlab)" and s.interrupt_mode == "message", s.to_dict()
print("smoke: kernelspec qlab:", s.argv)'

# 3. Notebook 01 through nbclient and the installed kernel; its figures land
# in the results directory (the compose volume) through the notebooks'
# figures/ link.
results=${QLAB_RESULTS_DIR:?the image sets QLAB_RESULTS_DIR}
[[ $(readlink -f /home/qlab/notebooks/figures) == "$results/figures" ]] \
  || fail "notebooks/figures is $(readlink -f /home/qlab/notebooks/figures), want $results/figures"
before=$(find "$results" -type f | wc -l)
(cd /home/qlab/notebooks && python3 -c '
import nbformat
from nbclient import NotebookClient
nb = nbformat.read("01-networks.ipynb", as_version=4)
NotebookClient(nb, kernel_name="qlab", timeout=600).execute()
errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
png = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
assert not errors and png > 0, (errors, png)
print("smoke: notebook 01 executed,", png, "PNG figures")')
after=$(find "$results" -type f | wc -l)
((after > before)) || fail "notebook 01 wrote no files under $results"
echo "smoke: $((after - before)) files written under $results"

# 4. JupyterLab on loopback with a token, checked with the image's own
# healthcheck script: failing before the server runs, passing while it
# runs, failing again once it is stopped.
export JUPYTER_TOKEN=smoke-token
base=http://127.0.0.1:8888
if qlab-healthcheck 2>/dev/null; then fail "qlab-healthcheck passed with no server running"; fi
echo "smoke: qlab-healthcheck fails with no server"
python3 /opt/qlab/lab/main.py --ServerApp.ip=127.0.0.1 --ServerApp.port=8888 \
  --ServerApp.port_retries=0 --ServerApp.open_browser=False --ServerApp.root_dir=/home/qlab \
  >/tmp/lab.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 90); do
  qlab-healthcheck 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat /tmp/lab.log; fail "the server exited"; }
  sleep 1
done
qlab-healthcheck || { cat /tmp/lab.log; fail "qlab-healthcheck fails against the running server"; }
echo "smoke: qlab-healthcheck passes against the running server"
[[ $(stat -c %u /proc/$pid) == 1000 ]] || fail "the server runs as uid $(stat -c %u /proc/$pid)"
python3 - "$base" <<'PY' || { cat /tmp/lab.log; fail "JupyterLab checks"; }
import json, os, sys, urllib.error, urllib.request
base, token = sys.argv[1], os.environ["JUPYTER_TOKEN"]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def get(path, token=token):
    req = urllib.request.Request(base + path, headers={"Authorization": "token " + token} if token else {})
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
code, page = get("/lab")
assert code == 200 and "/static/qlab_lab/bundle.js" in page, (code, page[:300])
code, body = get("/api/kernelspecs")
names = {k: v["spec"]["display_name"] for k, v in json.loads(body)["kernelspecs"].items()}
assert code == 200 and names.get("qlab") == "Go (qlab)", (code, names)
for path in ("/api/kernelspecs", "/api/status"):
    code, _ = get(path, token="")
    assert code == 403, f"{path} without the token: HTTP {code}, want 403"
    code, _ = get(path, token="wrong")
    assert code == 403, f"{path} with a wrong token: HTTP {code}, want 403"
print("smoke: JupyterLab serves /lab and /api/kernelspecs", names, "with the token; 403 without it")
PY
kill $pid
wait $pid || true
trap - EXIT
if qlab-healthcheck 2>/dev/null; then fail "qlab-healthcheck passed after the server stopped"; fi
echo "smoke: qlab-healthcheck fails once the server is stopped"
echo "smoke: all checks passed"
