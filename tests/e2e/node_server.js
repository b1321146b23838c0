'use strict';
// An items API on Node's standard library only: opaque bearer tokens, two roles, JSON validated by hand
// exactly as /openapi.json declares it. The port comes from PORT; users from ITEMS_<ROLE>_EMAIL/_PASSWORD.
const http = require('http');
const crypto = require('crypto');
const { URL } = require('url');

const DEFECT = __DEFECT__;
const MAX_BODY = 64 * 1024;
const TOKEN_TTL_MS = 60 * 60 * 1000;
const ROLES = ['reader', 'editor'];
const USERS = ROLES.map((role) => ({
  role,
  email: process.env[`ITEMS_${role.toUpperCase()}_EMAIL`] || '',
  password: process.env[`ITEMS_${role.toUpperCase()}_PASSWORD`] || '',
})).filter((user) => user.email && user.password);
const TOKENS = new Map();
const ITEMS = new Map();
let nextId = 1;

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

class HttpError {
  constructor(status, detail, headers = {}) {
    this.status = status;
    this.detail = detail;
    this.headers = headers;
  }
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

// Lists are streamed: the answer goes out with chunked transfer encoding, as many Node servers send it.
function sendList(res, rows) {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' });
  res.write('[');
  rows.forEach((row, index) => res.write((index ? ',' : '') + JSON.stringify(row)));
  res.end(']');
}

const ERROR = {
  type: 'object',
  required: ['detail'],
  additionalProperties: false,
  properties: { detail: { type: 'string' } },
};
const ITEM_IN = {
  type: 'object',
  required: ['name', 'qty'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    qty: { type: 'integer', minimum: 0, maximum: 1000 },
  },
};
const ITEM = {
  type: 'object',
  required: ['id', 'name', 'qty'],
  additionalProperties: false,
  properties: {
    id: { type: 'integer', minimum: 1 },
    name: { type: 'string', minLength: 1, maxLength: 100 },
    qty: { type: 'integer', minimum: 0, maximum: 1000 },
  },
};
const LOGIN_IN = {
  type: 'object',
  required: ['email', 'password'],
  additionalProperties: false,
  properties: {
    email: { type: 'string', minLength: 1, maxLength: 254 },
    password: { type: 'string', minLength: 1, maxLength: 200 },
  },
};
const TOKEN_OUT = {
  type: 'object',
  required: ['access_token', 'token_type'],
  additionalProperties: false,
  properties: { access_token: { type: 'string' }, token_type: { type: 'string', enum: ['bearer'] } },
};

function json(schema, description) {
  return { description, content: { 'application/json': { schema } } };
}

function errors(...statuses) {
  const text = {
    400: 'The body is not valid JSON',
    401: 'Missing, unknown or expired bearer token',
    403: 'The role may not call this operation',
    404: 'No such item',
    413: 'The body is larger than 64 KiB',
    415: 'The body is not application/json',
    422: 'The JSON does not match the schema',
  };
  return Object.fromEntries(statuses.map((status) => [String(status), json(ERROR, text[status])]));
}

function body(schema) {
  return { required: true, content: { 'application/json': { schema } } };
}

const BEARER = [{ bearer: [] }];
const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'items', version: '1.0.0' },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  paths: {
    '/api/health': {
      get: {
        operationId: 'health',
        security: [],
        responses: {
          200: json({ type: 'object', required: ['status'], properties: { status: { type: 'string' } } }, 'Alive'),
        },
      },
    },
    '/api/login': {
      post: {
        operationId: 'login',
        security: [],
        requestBody: body(LOGIN_IN),
        responses: { 200: json(TOKEN_OUT, 'A bearer token'), ...errors(400, 401, 413, 415, 422) },
      },
    },
    '/api/items': {
      get: {
        operationId: 'list_items',
        security: BEARER,
        responses: { 200: json({ type: 'array', items: ITEM }, 'Every item'), ...errors(401, 403) },
      },
      post: {
        operationId: 'add_item',
        security: BEARER,
        requestBody: body(ITEM_IN),
        responses: { 201: json(ITEM, 'The new item'), ...errors(400, 401, 403, 413, 415, 422) },
      },
    },
    '/api/items/{item_id}': {
      get: {
        operationId: 'get_item',
        security: BEARER,
        parameters: [{ name: 'item_id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { 200: json(ITEM, 'One item'), ...errors(401, 403, 404, 422) },
      },
    },
  },
};

function readBody(req) {
  return new Promise((resolve, reject) => {
    const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY) reject(new HttpError(413, 'the body is larger than 64 KiB'));
      else if (type !== 'application/json') reject(new HttpError(415, 'send the body as application/json'));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

async function readJson(req) {
  const text = await readBody(req);
  if (DEFECT === 'stack_trace') return JSON.parse(text); // a defect: the syntax error reaches the 500 handler
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

// JSON Schema counts characters (code points), not UTF-16 units as String.length does.
const characters = (text) => [...text].length;

function validate(value, schema) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(422, 'the body must be a JSON object');
  }
  for (const name of schema.required) {
    if (!Object.hasOwn(value, name)) throw new HttpError(422, `${name} is required`);
  }
  for (const [name, field] of Object.entries(value)) {
    // Object.hasOwn: a key such as __proto__ or toString must not find the prototype's property.
    if (!Object.hasOwn(schema.properties, name)) throw new HttpError(422, 'the body has a field the schema lacks');
    const rule = schema.properties[name];
    if (rule.type === 'string') {
      if (typeof field !== 'string') throw new HttpError(422, `${name} must be a string`);
      if (characters(field) < rule.minLength || characters(field) > rule.maxLength) {
        throw new HttpError(422, `${name} must have ${rule.minLength} to ${rule.maxLength} characters`);
      }
    } else if (rule.type === 'integer') {
      if (!Number.isInteger(field)) throw new HttpError(422, `${name} must be an integer`);
      const maximum = DEFECT === 'qty_unchecked' && name === 'qty' ? Infinity : rule.maximum;
      if (field < rule.minimum || field > maximum) {
        throw new HttpError(422, `${name} must be between ${rule.minimum} and ${rule.maximum}`);
      }
    }
  }
  return value;
}

function sameSecret(given, expected) {
  const a = crypto.createHash('sha256').update(String(given)).digest();
  const b = crypto.createHash('sha256').update(String(expected)).digest();
  return crypto.timingSafeEqual(a, b);
}

function login(credentials) {
  const user = USERS.find((u) => sameSecret(credentials.email, u.email) && sameSecret(credentials.password, u.password));
  if (!user) throw new HttpError(401, 'wrong email or password', { 'WWW-Authenticate': 'Bearer' });
  const token = crypto.randomBytes(32).toString('base64url');
  TOKENS.set(token, { role: user.role, expires: Date.now() + TOKEN_TTL_MS });
  return { access_token: token, token_type: 'bearer' };
}

function caller(req, allowed) {
  const header = req.headers.authorization || '';
  const match = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(header);
  const session = match && TOKENS.get(match[1]);
  if (!session || session.expires < Date.now()) {
    if (DEFECT === 'auth_ignored' && req.method === 'GET' && req.url.split('?')[0] === '/api/items') return 'reader';
    throw new HttpError(401, 'a valid bearer token is required', { 'WWW-Authenticate': 'Bearer' });
  }
  if (!allowed.includes(session.role)) throw new HttpError(403, 'this role may not do that');
  return session.role;
}

function itemId(raw) {
  if (DEFECT === 'stack_trace') {
    return Number(BigInt(decodeURIComponent(raw))); // a defect: a bad id throws, and the 500 shows the trace
  }
  if (!/^-?[0-9]+$/.test(raw)) throw new HttpError(422, 'item_id must be an integer');
  return Number(raw);
}

const ROUTES = [
  { pattern: /^\/api\/health$/, methods: { GET: async () => [200, { status: 'ok' }] } },
  {
    pattern: /^\/api\/login$/,
    methods: { POST: async (req) => [200, login(validate(await readJson(req), LOGIN_IN))] },
  },
  {
    pattern: /^\/api\/items$/,
    methods: {
      GET: async (req) => {
        caller(req, ['reader', 'editor']);
        return [200, [...ITEMS.values()], 'list'];
      },
      POST: async (req) => {
        caller(req, ['editor']);
        const input = validate(await readJson(req), ITEM_IN);
        const item = { id: nextId++, name: input.name, qty: input.qty };
        ITEMS.set(item.id, item);
        return [201, item];
      },
    },
  },
  {
    pattern: /^\/api\/items\/([^/]+)$/,
    methods: {
      GET: async (req, raw) => {
        caller(req, ['reader', 'editor']);
        const item = ITEMS.get(itemId(raw));
        if (!item) throw new HttpError(404, 'no such item');
        return [200, item];
      },
    },
  },
];

async function handle(req, res) {
  const path = new URL(req.url, 'http://localhost').pathname;
  if (req.method === 'GET' && path === '/openapi.json') return send(res, 200, OPENAPI);
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const handler = route.methods[req.method];
    if (!handler) {
      const allow = Object.keys(route.methods).join(', ');
      return send(res, 405, { detail: `use ${allow}` }, { Allow: allow });
    }
    const [status, payload, kind] = await handler(req, ...match.slice(1));
    return kind === 'list' ? sendList(res, payload) : send(res, status, payload);
  }
  return send(res, 404, { detail: 'no such path' });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    if (error instanceof HttpError) return send(res, error.status, { detail: error.detail }, error.headers);
    if (DEFECT === 'stack_trace') return send(res, 500, { detail: String(error.stack) });
    console.error(error);
    return send(res, 500, { detail: 'internal error' });
  });
});
server.listen(Number(process.env.PORT || 8000), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
