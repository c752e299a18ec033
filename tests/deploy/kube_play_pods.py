#!/usr/bin/env python3
"""Prepares rendered manifests for `podman kube play` (tests/deploy/test_kube_play.sh).

    kube_play_pods.py RENDERED.yaml OUTDIR VOLUME_PREFIX

podman 4.3 plays a Deployment as REPLICAS pods named NAME-pod-0..N-1, but refuses to play the
file again while its volumes exist, so one deleted replica cannot be recreated from it. This
writes OUTDIR/play.yaml (the rendered file) and, per replica, OUTDIR/pod-N.yaml: the
Deployment's pod template as a Pod of that name (with the ConfigMaps it mounts), which plays
alone. podman makes an emptyDir a named volume called after the volume and shared by every
pod, so those names get VOLUME_PREFIX, so as not to meet another user's volumes.
Prints: DEPLOYMENT REPLICAS GRACE_SECONDS VOLUME... (every podman volume the pods use).
"""
import os
import sys

import yaml


def main():
    rendered, outdir, prefix = sys.argv[1:4]
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    volumes = []
    for volume in spec.get("volumes", []):
        if "emptyDir" in volume:
            old = volume["name"]
            volume["name"] = prefix + old
            for c in spec["containers"]:
                for m in c.get("volumeMounts", []):
                    if m["name"] == old:
                        m["name"] = volume["name"]
            volumes.append(volume["name"])
        elif "persistentVolumeClaim" in volume:
            volumes.append(volume["persistentVolumeClaim"]["claimName"])
        elif "configMap" in volume:
            volumes.append(volume["configMap"]["name"])
    with open(os.path.join(outdir, "play.yaml"), "w") as f:
        yaml.safe_dump_all(docs, f)
    name, replicas = deployment["metadata"]["name"], deployment["spec"].get("replicas", 1)
    config_maps = [d for d in docs if d["kind"] == "ConfigMap"]
    for i in range(replicas):
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"{name}-pod-{i}",
                            "labels": deployment["spec"]["template"]["metadata"].get("labels", {})},
               "spec": spec}
        with open(os.path.join(outdir, f"pod-{i}.yaml"), "w") as f:
            yaml.safe_dump_all(config_maps + [pod], f)
    grace = spec.get("terminationGracePeriodSeconds", 30)
    print(name, replicas, grace, *volumes)


if __name__ == "__main__":
    main()
