// Reads helm-render's JSON output ({ documents: [{ source, object }] }) on stdin and validates every built-in Kubernetes object
// (and the Gateway API HTTPRoute) against its OpenAPI schema with kubernetes-models (types, required fields, enums,
// formats). Prints one line per error and exits 1 on any; prints how many objects it validated otherwise.
// Not checked here: unknown fields (these schemas allow additional properties) and custom resources without a model
// (the Dapr CRDs, checked by the C# tests), which are listed as "skipped".
"use strict";

const models = {
  "v1/Service": () => require("kubernetes-models/v1").Service,
  "v1/ConfigMap": () => require("kubernetes-models/v1").ConfigMap,
  "v1/Secret": () => require("kubernetes-models/v1").Secret,
  "v1/ServiceAccount": () => require("kubernetes-models/v1").ServiceAccount,
  "apps/v1/Deployment": () => require("kubernetes-models/apps/v1").Deployment,
  "batch/v1/Job": () => require("kubernetes-models/batch/v1").Job,
  "autoscaling/v2/HorizontalPodAutoscaler": () => require("kubernetes-models/autoscaling/v2").HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": () => require("kubernetes-models/policy/v1").PodDisruptionBudget,
  "networking.k8s.io/v1/Ingress": () => require("kubernetes-models/networking.k8s.io/v1").Ingress,
  "networking.k8s.io/v1/NetworkPolicy": () => require("kubernetes-models/networking.k8s.io/v1").NetworkPolicy,
  "gateway.networking.k8s.io/v1/HTTPRoute": () => require("@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1").HTTPRoute,
};

const input = JSON.parse(require("fs").readFileSync(0, "utf8")).documents;
const errors = [];
const skipped = [];
let validated = 0;
for (const { source, object } of input) {
  const key = `${object.apiVersion}/${object.kind}`;
  const where = `${source}: ${object.kind}/${object.metadata && object.metadata.name}`;
  if (!models[key]) {
    skipped.push(key);
    continue;
  }
  try {
    new (models[key]())(object).validate();
    validated++;
  } catch (e) {
    for (const err of e.errors || [{ instancePath: "", message: e.message }]) {
      errors.push(`${where}: ${err.instancePath || "/"} ${err.message}${err.params ? " " + JSON.stringify(err.params) : ""}`);
    }
  }
}
if (errors.length > 0) {
  console.error(errors.join("\n"));
  process.exit(1);
}
console.log(`validated ${validated}; skipped (no schema) ${[...new Set(skipped)].sort().join(", ") || "none"}`);
