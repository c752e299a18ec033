// What a pod that runs solocron must get right beyond the schema (docs/kubernetes.md).
import YAML from "yaml";

const kDefaultShutdownGrace = 25; // docs/configuration.md: node.shutdown_grace
const kDefaultKillGrace = 10;     // docs/configuration.md: a job's kill_grace
const kFinalWrites = 5;           // the outcomes and the lease release after the last job ends

// "25s", "1m30s", "500ms", "2h" -> seconds.
export function seconds(text) {
  const units = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const parts = [...String(text).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== String(text)) {
    throw new Error(`not a duration: ${text}`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
}

function solocronContainers(podSpec) {
  return (podSpec.containers ?? []).filter((c) => c.name === "solocron");
}

function jobsFileOf(podSpec, configMaps) {
  for (const c of solocronContainers(podSpec)) {
    const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === "/etc/solocron");
    const volume = (podSpec.volumes ?? []).find((v) => v.name === mount?.name);
    const map = configMaps.get(volume?.configMap?.name);
    if (map?.data?.["jobs.yaml"]) return YAML.parse(map.data["jobs.yaml"]);
  }
  return undefined;
}

export function graceErrors(podSpec, configMaps) {
  if (solocronContainers(podSpec).length === 0) return [];
  const jobs = jobsFileOf(podSpec, configMaps);
  if (!jobs) return ["the solocron container mounts no rendered ConfigMap with jobs.yaml at /etc/solocron"];
  const shutdown = seconds(jobs.node?.shutdown_grace ?? `${kDefaultShutdownGrace}s`);
  const kill = Math.max(...(jobs.jobs ?? []).map((j) => seconds(j.kill_grace ?? `${kDefaultKillGrace}s`)), 0);
  const needed = shutdown + kill + kFinalWrites;
  const grace = podSpec.terminationGracePeriodSeconds ?? 30;
  return grace >= needed ? [] : [`terminationGracePeriodSeconds ${grace} < shutdown_grace ${shutdown} + kill_grace ${kill} + ${kFinalWrites} = ${needed}`];
}

export function securityErrors(podSpec) {
  const errors = [];
  for (const c of solocronContainers(podSpec)) {
    const sc = { ...podSpec.securityContext, ...c.securityContext };
    if (sc.runAsNonRoot !== true) errors.push("solocron: runAsNonRoot is not true");
    if (sc.readOnlyRootFilesystem !== true) errors.push("solocron: readOnlyRootFilesystem is not true");
    if (sc.allowPrivilegeEscalation !== false) errors.push("solocron: allowPrivilegeEscalation is not false");
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) errors.push("solocron: capabilities do not drop ALL");
  }
  return errors;
}
