// Renders /openapi.json as a readable page. Built with textContent only: the spec is data.
import { h } from './dom.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function schemaName(ref) {
  return ref ? ref.split('/').pop() : '';
}

function bodyOf(operation) {
  const content = operation.requestBody?.content?.['application/json'];
  return content ? schemaName(content.schema?.$ref) : '';
}

function responsesOf(operation) {
  return Object.entries(operation.responses || {}).map(([status, response]) => {
    const schema = response.content?.['application/json']?.schema;
    return `${status} ${schemaName(schema?.$ref) || response.description || ''}`.trim();
  });
}

function endpoint(method, path, operation, schemas) {
  const body = bodyOf(operation);
  const details = h('details', { class: 'endpoint' },
    h('summary', {}, h('span', { class: 'method' }, method.toUpperCase()), path),
    h('p', { class: 'desc' }, operation.description || operation.summary || ''),
    body ? h('p', { class: 'desc' }, `Body: ${body}`) : null,
    body ? h('pre', {}, JSON.stringify(schemas[body]?.properties || {}, null, 2)) : null,
    h('p', { class: 'desc' }, `Answers: ${responsesOf(operation).join(', ')}`),
  );
  return details;
}

async function main() {
  const status = document.getElementById('docs-status');
  const response = await fetch('/openapi.json');
  if (!response.ok) {
    status.textContent = `Could not load the API description (${response.status}).`;
    return;
  }
  const spec = await response.json();
  const schemas = spec.components?.schemas || {};
  const groups = new Map();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const tag = operation.tags?.[0] || 'other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(endpoint(method, path, operation, schemas));
    }
  }
  const root = document.getElementById('docs');
  for (const [tag, items] of groups) {
    root.append(h('section', {}, h('h2', {}, tag), ...items));
  }
  status.textContent = `${spec.info?.title || 'API'} ${spec.info?.version || ''}`;
}

main().catch((error) => {
  document.getElementById('docs-status').textContent = `Could not show the API: ${error.message}`;
});
