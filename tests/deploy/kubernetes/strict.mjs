// Schema validation that also refuses fields the schema does not name. The models' compiled
// validators ignore unknown fields (the OpenAPI schemas do not forbid them), while the API
// server's strict field validation refuses them: a misspelt `readinesProbe` would pass here and
// fail at `kubectl apply`. So the object is validated through proxies that record which keys the
// validator looked at; a key it never read is one its schema does not have. An object the
// validator enumerates (a map such as labels or ConfigMap data) counts as fully read.
export function validateStrict(model, obj) {
  const seen = new Map(); // object -> {keys: Set, enumerated: bool}
  const proxies = new WeakMap();
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    if (proxies.has(value)) return proxies.get(value);
    const info = { keys: new Set(), enumerated: false };
    seen.set(value, info);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") info.keys.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        if (typeof key === "string") info.keys.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        info.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  const errors = [];
  try {
    model.prototype.validate.call(wrap(obj));
  } catch (e) {
    errors.push(`schema: ${e.message}`);
    return errors; // a failed validator stops early: its unread keys mean nothing
  }
  errors.push(...unknownFields(obj, seen, ""));
  return errors;
}

function unknownFields(value, seen, at) {
  if (value === null || typeof value !== "object") return [];
  const info = seen.get(value);
  const errors = [];
  for (const [key, child] of Object.entries(value)) {
    const where = Array.isArray(value) ? `${at}[${key}]` : at ? `${at}.${key}` : key;
    if (info && !info.enumerated && !Array.isArray(value) && !info.keys.has(key)) {
      errors.push(`unknown field ${where}`);
      continue;
    }
    errors.push(...unknownFields(child, seen, where));
  }
  return errors;
}
