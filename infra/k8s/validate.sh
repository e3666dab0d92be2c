#!/usr/bin/env bash
# Validates infra/k8s without a cluster:
#   1. every *.yaml file under infra/k8s parses (all documents), with the npm `yaml` package installed into a
#      temp dir OUTSIDE the repo (nothing is added to the project);
#   2. each overlay and jobs/migrate renders with `kubectl kustomize` (skipped with a note if kubectl is absent);
#      overlays/production is rendered from a temp copy whose secrets/*.env come from the *.env.example files, both
#      as is and with all components enabled;
#   3. the rendered objects pass consistency checks: apiVersion/kind/name present; every ConfigMap, Secret and PVC
#      that a pod references exists (optional ones excepted); no image is left unresolved; the KEDA queue equals
#      WORK_QUEUE of ConfigMap kimia-infra; the KEDA target is >= the worker prefetch; the worker's grace period exceeds the host
#      shutdown timeout; GPU request and toleration present.
# Usage: infra/k8s/validate.sh      (exit 0 = all good)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tools=${KIMIA_YAML_TOOLS:-${TMPDIR:-/tmp}/kimia-yaml}
work=$(mktemp -d "${TMPDIR:-/tmp}/kimia-k8s.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ ! -f "$tools/node_modules/yaml/package.json" ]]; then
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-audit --no-fund --silent yaml@2.9.1)
fi

rendered=()
if command -v kubectl >/dev/null 2>&1; then
  cp -r "$here" "$work/k8s"
  for f in "$work"/k8s/overlays/production/secrets/*.env.example; do cp "$f" "${f%.example}"; done
  kubectl kustomize "$work/k8s/overlays/dev" > "$work/dev.yaml"
  kubectl kustomize "$work/k8s/overlays/production" > "$work/production.yaml"
  kubectl kustomize "$work/k8s/jobs/migrate" > "$work/migrate.yaml"
  sed -i 's|^# components:|components:|; s|^#   - ../../components/|  - ../../components/|' \
    "$work/k8s/overlays/production/kustomization.yaml"
  kubectl kustomize "$work/k8s/overlays/production" > "$work/production-all-components.yaml"
  rendered=("$work/dev.yaml" "$work/production.yaml" "$work/production-all-components.yaml")
  echo "rendered: dev, production, production+components, jobs/migrate"
else
  echo "NOTE: kubectl not found - rendering and rendered-object checks skipped; only parsing files." >&2
fi

mapfile -t sources < <(find "$here" -name '*.yaml' -not -path '*/node_modules/*' | sort)
NODE_PATH="$tools/node_modules" node - "${#sources[@]}" "${sources[@]}" "${rendered[@]}" <<'JS'
const fs = require('fs');
const YAML = require('yaml');
const args = process.argv.slice(2);
const nSources = Number(args[0]);
const sources = args.slice(1, 1 + nSources), rendered = args.slice(1 + nSources);
let failures = 0;
const fail = (where, msg) => { failures++; console.error(`FAIL ${where}: ${msg}`); };
const parseAll = (file) => {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const out = [];
  for (const d of docs) {
    if (d.errors.length) { d.errors.forEach(e => fail(file, e.message)); continue; }
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
};
let docCount = 0;
for (const f of sources) docCount += parseAll(f).length;
console.log(`parsed ${sources.length} source files, ${docCount} YAML documents`);

const podSpecOf = (o) => o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec
  : (o.spec && o.spec.template && o.spec.template.spec) || null;
for (const file of rendered) {
  const objs = parseAll(file);
  const name = file.split('/').pop();
  const have = (kind, n) => objs.some(o => o.kind === kind && o.metadata.name === n);
  for (const o of objs) {
    if (!o.apiVersion || !o.kind || !o.metadata || !o.metadata.name) fail(name, `object without apiVersion/kind/name: ${JSON.stringify(o).slice(0, 80)}`);
    const ps = podSpecOf(o); if (!ps) continue;
    const where = `${name} ${o.kind}/${o.metadata.name}`;
    const containers = [...(ps.initContainers || []), ...(ps.containers || [])];
    for (const c of containers) {
      if (!c.image || !c.image.includes('/')) fail(where, `container ${c.name}: image not resolved by kustomize: ${c.image}`);
      for (const ef of c.envFrom || []) {
        if (ef.configMapRef && !have('ConfigMap', ef.configMapRef.name)) fail(where, `missing ConfigMap ${ef.configMapRef.name}`);
        if (ef.secretRef && !ef.secretRef.optional && !have('Secret', ef.secretRef.name)) fail(where, `missing Secret ${ef.secretRef.name}`);
      }
      for (const e of c.env || []) {
        const vf = e.valueFrom || {};
        if (vf.configMapKeyRef) {
          const cm = objs.find(o2 => o2.kind === 'ConfigMap' && o2.metadata.name === vf.configMapKeyRef.name);
          if (!cm || !(vf.configMapKeyRef.key in (cm.data || {}))) fail(where, `missing ConfigMap key ${vf.configMapKeyRef.name}/${vf.configMapKeyRef.key}`);
        }
        if (vf.secretKeyRef && !vf.secretKeyRef.optional) {
          const s = objs.find(o2 => o2.kind === 'Secret' && o2.metadata.name === vf.secretKeyRef.name);
          const keys = s ? Object.keys({ ...(s.data || {}), ...(s.stringData || {}) }) : [];
          if (!keys.includes(vf.secretKeyRef.key)) fail(where, `missing Secret key ${vf.secretKeyRef.name}/${vf.secretKeyRef.key}`);
        }
      }
    }
    for (const v of ps.volumes || []) {
      if (v.configMap && !have('ConfigMap', v.configMap.name)) fail(where, `missing ConfigMap volume ${v.configMap.name}`);
      if (v.persistentVolumeClaim && !have('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)) fail(where, `missing PVC ${v.persistentVolumeClaim.claimName}`);
    }
  }
  const cfg = (objs.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'kimia-config') || {}).data || {};
  const infra = (objs.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'kimia-infra') || {}).data || {};
  const so = objs.find(o => o.kind === 'ScaledObject' && o.metadata.name === 'kimia-worker');
  const worker = objs.find(o => o.kind === 'Deployment' && o.metadata.name === 'kimia-worker');
  if (!so || !worker) { fail(name, 'kimia-worker Deployment or ScaledObject missing'); continue; }
  const trig = so.spec.triggers[0].metadata;
  if (trig.queueName !== infra.WORK_QUEUE) fail(name, `KEDA queue ${trig.queueName} != WORK_QUEUE ${infra.WORK_QUEUE}`);
  if (Number(trig.value) < Number(cfg.Worker__MaxJobsInFlight)) fail(name, `KEDA target ${trig.value} < prefetch ${cfg.Worker__MaxJobsInFlight}`);
  if (so.spec.scaleTargetRef.name !== worker.metadata.name) fail(name, 'ScaledObject does not target kimia-worker');
  if ('replicas' in worker.spec) fail(name, 'worker Deployment sets replicas (KEDA owns it)');
  const wps = worker.spec.template.spec;
  if (!(Number(wps.terminationGracePeriodSeconds) > Number(cfg.DOTNET_shutdownTimeoutSeconds))) fail(name, 'worker grace period must exceed DOTNET_shutdownTimeoutSeconds');
  const wc = wps.containers.find(c => c.name === 'worker');
  if (String(((wc.resources || {}).limits || {})['nvidia.com/gpu']) !== '1') fail(name, 'worker must request exactly one nvidia.com/gpu');
  if (!(wps.tolerations || []).some(t => t.key === 'nvidia.com/gpu')) fail(name, 'worker lacks the nvidia.com/gpu toleration');
  const httpPort = ((wc.env || []).find(e => e.name === 'Worker__HttpPort') || {}).value || '8080';
  const named = ((wc.ports || []).find(p => p.name === 'http') || {}).containerPort;
  if (String(named) !== String(httpPort)) fail(name, `worker port "http" (${named}) differs from Worker__HttpPort (${httpPort})`);
  if (String((worker.spec.template.metadata.annotations || {})['prometheus.io/port']) !== String(httpPort)) fail(name, 'worker prometheus.io/port differs from Worker__HttpPort');
  for (const [probe, path] of [['livenessProbe', '/health/live'], ['readinessProbe', '/health/ready'], ['startupProbe', '/health/live']])
    if (((wc[probe] || {}).httpGet || {}).path !== path) fail(name, `worker ${probe} must GET ${path}`);
  const orch = objs.find(o => o.kind === 'Deployment' && o.metadata.name === 'kimia-orchestrator');
  if (!orch || !(orch.spec.template.spec.initContainers || []).some(c => c.name === 'migrate')) fail(name, 'orchestrator must run the migrator first');
  console.log(`${name}: ${objs.length} objects checked`);
}
if (failures) { console.error(`${failures} problem(s)`); process.exit(1); }
console.log('all checks passed');
JS
