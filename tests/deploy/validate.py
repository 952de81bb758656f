"""Offline checks of deploy/ (see validate.sh). Prints one line per
failure and closes with 'N passed, N failed'."""
import glob, json, os, re, subprocess, sys
import yaml
import kubernetes_validate as kv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metric_exprs  # noqa: E402  (the rules' and the dashboard's queries)

root, tmp, kubectl = sys.argv[1], sys.argv[2], sys.argv[3]
K8S = "1.32.0"  # the Kubernetes version the manifests are checked against
KDIR = f"{root}/deploy/kubernetes"
# Custom resources kubernetes-validate has no schema for (it only warns):
# named here, and checked for their essentials below; any other kind it
# cannot find is a failure.
CRDS = {("kafka.strimzi.io/v1", "KafkaTopic"), ("keda.sh/v1alpha1", "ScaledObject"),
        ("keda.sh/v1alpha1", "TriggerAuthentication"), ("monitoring.coreos.com/v1", "PodMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule")}
OPS_PORT = {"outdial-scheduler": 9464, "outdial-dialer": 9465, "outdial-api": 9466}
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what}")
    return ok


def docs_of(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def rel(p):
    return os.path.relpath(p, root)


def key(d):
    return (d.get("kind"), d.get("metadata", {}).get("name"))


def validate(d, where):
    """Strict schema validation, or the essentials of a known CRD."""
    av, kind = d.get("apiVersion"), d.get("kind")
    name = (d.get("metadata") or {}).get("name")
    label = f"{where}: {kind}/{name}"
    if not check(bool(av and kind and name), f"{where}: apiVersion, kind and metadata.name ({d!r:.80})"):
        return
    if (av, kind) in CRDS:
        spec = d.get("spec")
        ok = isinstance(spec, dict)
        if ok and kind == "KafkaTopic":
            ok = isinstance(spec.get("partitions"), int) and isinstance(spec.get("replicas"), int)
        elif ok and kind == "ScaledObject":
            ok = bool(spec.get("scaleTargetRef", {}).get("name")) and isinstance(spec.get("triggers"), list)
        elif ok and kind == "TriggerAuthentication":
            ok = all({"parameter", "name", "key"} <= set(r) for r in spec.get("secretTargetRef", []))
        elif ok and kind == "PodMonitor":
            ok = bool(spec.get("selector")) and bool(spec.get("podMetricsEndpoints"))
        elif ok and kind == "PrometheusRule":
            ok = isinstance(spec.get("groups"), list) and len(spec["groups"]) > 0
        check(ok, f"{label}: custom resource without its essentials")
        return
    try:
        kv.validate(d, K8S, strict=True)
        check(True, label)
    except kv.SchemaNotFoundError:
        check(False, f"{label}: no schema for {av} {kind} in Kubernetes {K8S}, and not a known custom resource")
    except kv.ValidationError as e:
        check(False, f"{label}: {e.message} at {'/'.join(map(str, e.path))}")


def env_of(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}


def policy(objs, where, rendered):
    """What every outdial pod must have, in the base and in each rendering."""
    by = {}
    for d in objs:
        by.setdefault(d["kind"], []).append(d)
    pdb_selectors = [p["spec"]["selector"]["matchLabels"] for p in by.get("PodDisruptionBudget", [])]
    for d in by.get("Deployment", []) + by.get("Job", []):
        name, kind = d["metadata"]["name"], d["kind"]
        pod = d["spec"]["template"]["spec"]
        tag = f"{where}: {kind}/{name}"
        sc = pod.get("securityContext", {})
        check(sc.get("runAsNonRoot") is True and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
              f"{tag}: pod securityContext runAsNonRoot and seccompProfile RuntimeDefault")
        check(pod.get("automountServiceAccountToken") is False and pod.get("serviceAccountName") == "outdial",
              f"{tag}: ServiceAccount outdial, no token mounted")
        check(any(v.get("emptyDir") is not None and m.get("mountPath") == "/tmp"
                  for c in pod["containers"] for m in c.get("volumeMounts", [])
                  for v in pod.get("volumes", []) if v["name"] == m["name"]), f"{tag}: a writable /tmp")
        for c in pod["containers"]:
            csc = c.get("securityContext", {})
            check(csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
                  and csc.get("capabilities", {}).get("drop") == ["ALL"],
                  f"{tag}: container {c['name']}: read-only root, no privilege escalation, capabilities dropped")
            image = c["image"]
            if rendered:
                check(re.fullmatch(r"ghcr\.io/outdial/outdial:\d+\.\d+\.\d+", image) is not None,
                      f"{tag}: image {image} pinned to a version")
                if kind == "Job":
                    want = "outdial-migrate-" + image.rsplit(":", 1)[1].replace(".", "-")
                    check(name == want, f"{tag}: the migrate Job is named after its image tag ({want})")
            else:
                check(image == "outdial", f"{tag}: image 'outdial', set by the kustomization's images:")
        if kind == "Job":
            check(d["spec"].get("ttlSecondsAfterFinished", 0) > 0, f"{tag}: ttlSecondsAfterFinished")
            continue
        c = pod["containers"][0]
        port = OPS_PORT.get(name)
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        check(port is not None and ports.get("ops") == port, f"{tag}: ops port {port}")
        check(env_of(c).get("OUTDIAL_OPS_LISTEN") == f"0.0.0.0:{port}", f"{tag}: OUTDIAL_OPS_LISTEN=0.0.0.0:{port}")
        live = c.get("livenessProbe", {}).get("httpGet", {})
        check(live.get("path") == "/healthz" and live.get("port") == "ops", f"{tag}: liveness GET /healthz on ops")
        ready = c.get("readinessProbe", {})
        check(ready.get("httpGet", {}).get("path") == "/readyz" and ready["httpGet"].get("port") == "ops",
              f"{tag}: readiness GET /readyz on ops")
        labels = d["spec"]["template"]["metadata"]["labels"]
        check(labels.get("app.kubernetes.io/part-of") == "outdial", f"{tag}: pods labelled part-of outdial")
        check(any(sel.items() <= labels.items() for sel in pdb_selectors), f"{tag}: a PodDisruptionBudget")


def kustomization_refs(kdir, seen_resources):
    """Without kubectl: the files a kustomization names exist, and each
    patch names a resource of what it builds on. Returns its resources."""
    k = docs_of(f"{kdir}/kustomization.yaml")[0]
    resources = []
    for r in k.get("resources", []):
        p = os.path.normpath(f"{kdir}/{r}")
        if not check(os.path.exists(p), f"{rel(kdir)}: resource {r} exists"):
            continue
        if os.path.isdir(p):
            resources += kustomization_refs(p, seen_resources)
        else:
            resources += docs_of(p)
    keys = {key(d) for d in resources}
    for pt in k.get("patches", []):
        if "path" in pt:
            p = f"{kdir}/{pt['path']}"
            if check(os.path.exists(p), f"{rel(kdir)}: patch {pt['path']} exists"):
                for d in docs_of(p):
                    check(key(d) in keys, f"{rel(p)}: patch target {key(d)} is a resource of what it builds on")
        if "target" in pt:
            t = pt["target"]
            check(any(d.get("kind") == t.get("kind", d.get("kind")) and
                      d["metadata"]["name"] == t.get("name", d["metadata"]["name"]) and
                      d["apiVersion"].split("/")[0] == t.get("group", d["apiVersion"].split("/")[0])
                      for d in resources), f"{rel(kdir)}: patch target {t} matches a resource")
    return resources


# 1. Every file: YAML, strict schemas; patches (partial objects) only parse.
patch_files = set()
kustomizations = sorted(glob.glob(f"{KDIR}/**/kustomization.yaml", recursive=True))
for kf in kustomizations:
    for pt in docs_of(kf)[0].get("patches", []):
        if "path" in pt:
            patch_files.add(os.path.normpath(f"{os.path.dirname(kf)}/{pt['path']}"))
base_objs = []
for f in sorted(glob.glob(f"{KDIR}/**/*.yaml", recursive=True)):
    if f in kustomizations:
        continue
    try:
        docs = docs_of(f)
    except yaml.YAMLError as e:
        check(False, f"{rel(f)}: not YAML: {e}")
        continue
    if f in patch_files:
        check(all(d.get("kind") and d.get("metadata", {}).get("name") for d in docs), f"{rel(f)}: patches name kind and name")
        continue
    for d in docs:
        validate(d, rel(f))
    if f.startswith(f"{KDIR}/base/"):
        base_objs += docs
policy(base_objs, "base", rendered=False)

# The base's image tag and the migrate Job's name agree.
tag = next(i["newTag"] for i in docs_of(f"{KDIR}/base/kustomization.yaml")[0]["images"] if i["name"] == "outdial")
job = next(d for d in base_objs if d["kind"] == "Job")
check(job["metadata"]["name"] == "outdial-migrate-" + tag.replace(".", "-"), "base: migrate Job named after images newTag")
check(tag != "latest", "base: image tag is not latest")

# 2. The topics: the four outdial uses, with the documented partition count.
conf = next(d for d in base_objs if d["kind"] == "ConfigMap")["data"]
topics = {d["metadata"]["name"]: d for d in docs_of(f"{KDIR}/topics/topics.yaml")}
cfg = open(f"{root}/docs/configuration.md").read()
m = re.search(r"`OUTDIAL_TOPIC_PARTITIONS` \| `(\d+)`", cfg)
check(m is not None, "docs/configuration.md: default of OUTDIAL_TOPIC_PARTITIONS")
for v in ("OUTDIAL_TOPIC_REQUESTS", "OUTDIAL_TOPIC_EVENTS", "OUTDIAL_TOPIC_DIAL", "OUTDIAL_TOPIC_REPORTS"):
    t = conf.get(v)
    if check(t in topics, f"topics.yaml has {v}={t}") and m:
        check(topics[t]["spec"]["partitions"] == int(m.group(1)), f"topic {t}: {m.group(1)} partitions as documented")
check(conf.get("OUTDIAL_CREATE_TOPICS") == "false", "config: topic creation off (topics.yaml manages them)")

# 3. Each overlay: rendered with kubectl kustomize where there is one.
for kf in kustomizations:
    kdir = os.path.dirname(kf)
    if "/overlays/" not in kdir:
        continue
    name = rel(kdir)
    if kubectl:
        r = subprocess.run([kubectl, "kustomize", kdir], capture_output=True, text=True, timeout=60)
        if not check(r.returncode == 0, f"{name}: kubectl kustomize: {r.stderr.strip()[:300]}"):
            continue
        objs = [d for d in yaml.safe_load_all(r.stdout) if d]
        for d in objs:
            validate(d, f"{name} (rendered)")
        policy(objs, f"{name} (rendered)", rendered=True)
        ns = {d["metadata"].get("namespace") for d in objs if d["kind"] != "Namespace"}
        check(len(ns) == 1 and None not in ns, f"{name}: everything in one namespace ({ns})")
    else:
        kustomization_refs(kdir, set())
if not kubectl:
    print("note: no kubectl here; overlays checked by their references, not rendered")

# 4. promtool on the PrometheusRule's groups.
rules = next(d for d in base_objs if d["kind"] == "PrometheusRule")
rules_file = f"{tmp}/rules.yaml"
with open(rules_file, "w") as f:
    yaml.safe_dump({"groups": rules["spec"]["groups"]}, f)
r = subprocess.run(["promtool", "check", "rules", rules_file], capture_output=True, text=True, timeout=30)
check(r.returncode == 0, f"promtool check rules: {r.stdout.strip()} {r.stderr.strip()}")
alerts = {x["alert"] for g in rules["spec"]["groups"] for x in g["rules"] if "alert" in x}
for a in ("OutdialOutboxStuck", "OutdialWebhooksFailing", "OutdialDialersLost", "OutdialDatabaseUnreachable",
          "OutdialConsumerLag", "OutdialCarrierErrors"):
    check(a in alerts, f"PrometheusRule has {a}")

# 5. Metric names in the rules and the dashboard are documented ones.
ops = open(f"{root}/docs/operations.md").read()
sect = ops[ops.index("### Metrics"):]
sect = sect[:sect.index("\n## ")]
known = set()
for row in re.findall(r"^\| (`[^|]+) \| (\w+) \|", sect, re.M):
    for n in re.findall(r"`([a-z_:][a-z0-9_:]*)`", row[0]):
        known.add(n)
        if row[1] == "histogram":
            known |= {n + "_bucket", n + "_sum", n + "_count"}
check(len(known) > 30, f"docs/operations.md: metric tables found ({len(known)} names)")
exprs = metric_exprs.queries(root)
dash = metric_exprs.dashboard(root)
check(bool(dash), "deploy/grafana/outdial.json: readable JSON")
check(len([e for e in exprs if e[0].startswith("dashboard")]) >= 10, "dashboard: at least 10 queries")
check(bool(dash.get("uid")) and bool(dash.get("title")), "dashboard: uid and title")
for where, expr in exprs:
    names = metric_exprs.metric_names(expr)
    check(bool(names), f"{where}: names a metric ({expr})")
    for n in sorted(names):
        check(n in known, f"{where}: metric {n} is not in docs/operations.md's tables")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
