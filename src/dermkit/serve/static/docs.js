// The API documentation page: renders /openapi.json (served by the same process) without any CDN.
"use strict";

function make(tag, value, className) {
  const el = document.createElement(tag);
  if (value != null) el.textContent = String(value);
  if (className) el.className = className;
  return el;
}

function parameterList(op) {
  const items = [];
  for (const p of op.parameters || []) items.push(`${p.name} (${p.in}${p.required ? ", required" : ""})`);
  const form = op.requestBody && op.requestBody.content && op.requestBody.content["multipart/form-data"];
  if (form) {
    const schema = form.schema || {};
    for (const [name, field] of Object.entries(schema.properties || {})) {
      const required = (schema.required || []).includes(name) ? ", required" : "";
      items.push(`${name} (form${required}): ${field.description || field.type}`);
    }
  }
  return items;
}

function endpoint(path, method, op) {
  const section = make("section", null, "endpoint");
  section.append(make("h2", `${method.toUpperCase()} ${path}`));
  if (op.summary) section.append(make("p", op.summary));
  if (op.description) section.append(make("p", op.description, "meta"));
  const params = parameterList(op);
  if (params.length) {
    section.append(make("h3", "Parameters"));
    const list = make("ul");
    params.forEach((p) => list.append(make("li", p)));
    section.append(list);
  }
  const table = make("table");
  const body = make("tbody");
  for (const [status, response] of Object.entries(op.responses || {})) {
    const row = make("tr");
    row.append(make("th", status), make("td", response.description || ""));
    body.append(row);
  }
  table.append(body);
  section.append(make("h3", "Responses"), table);
  return section;
}

async function render() {
  const target = document.getElementById("endpoints");
  try {
    const spec = await (await fetch("/openapi.json")).json();
    document.getElementById("api-version").textContent = `version ${spec.info.version}`;
    document.getElementById("api-description").textContent = spec.info.description || "";
    target.replaceChildren();
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) target.append(endpoint(path, method, op));
    }
  } catch (e) {
    target.replaceChildren(make("p", "The OpenAPI document could not be loaded: " + e.message, "error"));
  }
}

document.addEventListener("DOMContentLoaded", render);
