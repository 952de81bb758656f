# tests/deploy/validate.sh: deploy/ checked offline, no cluster.
# - every manifest of deploy/kubernetes (base, topics, overlays) validates
#   strictly against Kubernetes' own schemas (kubernetes-validate, PyPI,
#   Kubernetes pinned below); the CRDs it has no schema for (Strimzi, KEDA,
#   Prometheus Operator) are named and checked for their essentials;
# - every overlay renders with `kubectl kustomize` where kubectl is
#   installed (Debian 12 packages neither kubectl nor kustomize) and the
#   rendered objects validate too; without it, every file and patch a
#   kustomization.yaml names must exist and match a base resource;
# - what a pod needs (probes on the ops port, securityContext, the pinned
#   image, the migrate Job named after its tag) holds in the base and in
#   each rendering;
# - `promtool check rules` on the PrometheusRule's groups;
# - every metric the rules and deploy/grafana/outdial.json use is in the
#   metric tables of docs/operations.md (which t_ops ties to real scrapes).
set -euo pipefail
root=${OUTDIAL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${OUTDIAL_PY:-$(bash -c '. "$1/scripts/lib.sh" && py_clients' _ "$root")}
command -v promtool >/dev/null || { echo "FAILED: promtool missing (Debian package prometheus; scripts/lib.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
KUBECTL=""
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then KUBECTL=kubectl; fi
exec "$PY" "$root/tests/deploy/validate.py" "$root" "$tmp" "$KUBECTL"
