// Checks rendered Kubernetes manifests (`kubectl kustomize` output) offline:
//   node validate.mjs ALERTS_FILE JOBS_OUT_DIR RENDERED.yaml...
// - every object against its kind's schema (kubernetes-models, @kubernetes-models/
//   prometheus-operator); an unknown apiVersion/kind is an error, and so is a field the schema
//   does not name (the API server's strict field validation refuses those too);
// - a PrometheusRule's spec.groups equal ALERTS_FILE's groups (the shipped rules, no drift);
// - a pod that runs solocron waits long enough for its drain: terminationGracePeriodSeconds
//   >= shutdown_grace + the largest kill_grace + 5 s, read from the jobs file it mounts, and its
//   solocron container runs as non-root on a read-only root file system;
// - writes each ConfigMap's jobs.yaml to JOBS_OUT_DIR/RENDERED-NAME.yaml for `solocron check`.
// Prints one line per object; exits 1 on any error.
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import YAML from "yaml";
import { validateStrict } from "./strict.mjs";
import { graceErrors, securityErrors } from "./solocron_pod.mjs";

// apiVersion -> the module holding its kinds' models.
function modelModule(apiVersion) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  }
  return `kubernetes-models/${apiVersion}`;
}

async function modelFor(apiVersion, kind) {
  try {
    const model = (await import(modelModule(apiVersion)))[kind];
    return typeof model === "function" && model.kind === kind ? model : undefined;
  } catch {
    return undefined;
  }
}

function readDocs(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .filter((d) => d != null);
}

async function checkObject(obj, ctx) {
  const errors = [];
  const model = await modelFor(obj.apiVersion ?? "", obj.kind ?? "");
  if (!model) return [`unknown kind ${obj.apiVersion}/${obj.kind}: no schema to check it against`];
  errors.push(...validateStrict(model, obj));
  if (obj.kind === "PrometheusRule" && !isDeepStrictEqual(obj.spec?.groups, ctx.alertGroups)) {
    errors.push(`spec.groups differs from the groups of ${ctx.alertsFile}: copy them again`);
  }
  const podSpec = obj.kind === "Pod" ? obj.spec : obj.spec?.template?.spec;
  if (podSpec) errors.push(...graceErrors(podSpec, ctx.configMaps), ...securityErrors(podSpec));
  return errors;
}

async function main() {
  const [alertsFile, jobsOut, ...rendered] = process.argv.slice(2);
  if (!alertsFile || !jobsOut || rendered.length === 0) {
    console.error("usage: node validate.mjs ALERTS_FILE JOBS_OUT_DIR RENDERED.yaml...");
    process.exit(2);
  }
  const alertGroups = YAML.parse(fs.readFileSync(alertsFile, "utf8")).groups;
  let failed = 0, checked = 0;
  fs.mkdirSync(jobsOut, { recursive: true });
  for (const file of rendered) {
    const docs = readDocs(file);
    const configMaps = new Map(docs.filter((d) => d.kind === "ConfigMap").map((d) => [d.metadata.name, d]));
    const ctx = { alertsFile, alertGroups, configMaps };
    for (const obj of docs) {
      const errors = await checkObject(obj, ctx);
      const name = `${path.basename(file)}: ${obj.kind}/${obj.metadata?.name}`;
      checked++;
      if (errors.length) failed++;
      console.log(errors.length ? `FAIL ${name}\n  ${errors.join("\n  ")}` : `ok   ${name}`);
      if (obj.kind === "ConfigMap" && obj.data?.["jobs.yaml"]) {
        const out = path.join(jobsOut, `${path.basename(file, ".yaml")}-${obj.metadata.name}.yaml`);
        fs.writeFileSync(out, obj.data["jobs.yaml"]);
      }
    }
  }
  console.log(`${checked} objects checked, ${failed} with errors`);
  process.exit(failed ? 1 : 0);
}

await main();
