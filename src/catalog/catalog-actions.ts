// The whisk.system catalog Flare ships (issue 14): the `utils` and `samples` packages of OpenWhisk's catalog,
// behaving as documented there, written for Flare in Node. Each entry is one action's source and annotations.
export interface CatalogAction {
  name: string;
  description: string;
  code: string;
  /** Documented parameters (OpenWhisk catalog `parameters` annotation). */
  parameters?: { name: string; required?: boolean; description?: string }[];
  annotations?: { key: string; value: unknown }[];
}

export interface CatalogPackage {
  name: string;
  description: string;
  annotations?: { key: string; value: unknown }[];
  actions: CatalogAction[];
}

const lines = { name: 'lines', required: true, description: 'An array of strings or numbers' };

export const UTILS: CatalogPackage = {
  name: 'utils',
  description: 'Building blocks that format and assemble data',
  actions: [
    { name: 'echo', description: 'Returns the input', parameters: [{ name: 'payload', description: 'Any JSON value' }], code: 'function main(params) {\n  return params;\n}\n' },
    {
      name: 'cat',
      description: 'Concatenates input into a string',
      parameters: [lines],
      code: "function main(params) {\n  const lines = Array.isArray(params.lines) ? params.lines : [];\n  const out = { lines, payload: lines.join('\\n') };\n  console.log('cat: returning ' + JSON.stringify(out));\n  return out;\n}\n",
    },
    {
      name: 'head',
      description: 'Extract prefix of an array',
      parameters: [lines, { name: 'num', description: 'The length of the prefix (default 1)' }],
      code: 'function main(params) {\n  const lines = Array.isArray(params.lines) ? params.lines : [];\n  const num = Number.isInteger(params.num) ? params.num : 1;\n  return { lines: lines.slice(0, num), num };\n}\n',
    },
    {
      name: 'sort',
      description: 'Sorts an array',
      parameters: [lines],
      code: "function main(params) {\n  const lines = (Array.isArray(params.lines) ? params.lines : []).slice().sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));\n  return { lines, length: lines.length };\n}\n",
    },
    {
      name: 'split',
      description: 'Split a string into an array',
      parameters: [{ name: 'payload', required: true, description: 'A string' }, { name: 'separator', description: 'The separator: a string or regular expression source (default: newline)' }],
      code: "function main(params) {\n  const payload = params.payload === undefined || params.payload === null ? '' : String(params.payload);\n  const sep = typeof params.separator === 'string' ? params.separator : /\\r?\\n/;\n  return { lines: payload.split(sep), payload };\n}\n",
    },
    { name: 'date', description: 'Current date and time', code: 'function main() {\n  return { date: new Date().toISOString() };\n}\n' },
    {
      name: 'namespace',
      description: 'Returns namespace for the authorization key used to invoke this action',
      code: 'function main() {\n  return { namespace: process.env.__OW_NAMESPACE };\n}\n',
    },
    {
      name: 'smash',
      description: 'Nests all properties under given property',
      parameters: [{ name: '$fieldName', required: true, description: 'Name of property to nest object under' }],
      code: "function main(params) {\n  const field = params.$fieldName;\n  if (typeof field !== 'string') return { error: \"Expected an argument '$fieldName' of type 'string'.\" };\n  const rest = { ...params };\n  delete rest.$fieldName;\n  return { [field]: rest };\n}\n",
    },
    {
      name: 'hosturl',
      description: 'Returns the URL to activate an action or trigger',
      parameters: [
        { name: 'web', description: 'True for web actions' },
        { name: 'ext', description: 'Extension for web action, one of .html, .http, .json, .text' },
        { name: 'trigger', description: 'True to construct path for trigger instead of action.' },
        { name: 'path', description: 'The action name as just <action name> or <package name>/<action name>.' },
      ],
      code: [
        'function main(params) {',
        '  const host = process.env.__OW_API_HOST;',
        '  const ns = process.env.__OW_NAMESPACE;',
        '  const web = params.web === true;',
        "  if (web && params.trigger) return { error: 'triggers are not allowed for web actions.' };",
        "  const exts = ['.json', '.text', '.html', '.http'];",
        "  if (web && params.ext && !exts.includes(params.ext)) return { error: 'extension for web action must be one of [\".json\", \".text\", \".html\", \".http\"].' };",
        "  if (!web && params.trigger && typeof params.path === 'string' && params.path.includes('/')) return { error: 'triggers are not allowed in packages.' };",
        "  const base = web ? `${host}/api/v1/web/${ns}` : `${host}/api/v1/namespaces/${ns}/${params.trigger === true ? 'triggers' : 'actions'}`;",
        '  if (!params.path) return { url: base };',
        "  const path = web && !String(params.path).includes('/') ? `default/${params.path}` : params.path;",
        "  return { url: `${base}/${path}${web ? params.ext || '.json' : ''}` };",
        '}',
        '',
      ].join('\n'),
    },
  ],
};

const countWords = "const words = (s) => String(s ?? '').split(/\\s+/).filter(Boolean).length;";

export const SAMPLES: CatalogPackage = {
  name: 'samples',
  description: 'A suite of simple actions to help you get started with OpenWhisk',
  actions: [
    UTILS.actions.find((a) => a.name === 'cat')!,
    UTILS.actions.find((a) => a.name === 'head')!,
    {
      name: 'greeting',
      description: 'Returns a friendly greeting',
      parameters: [{ name: 'name' }, { name: 'place', description: 'The string to be included in the return value' }],
      code: "function main(params) {\n  console.log('params:', JSON.stringify(params));\n  const name = params.name || params.payload || 'stranger';\n  const place = params.place || 'somewhere';\n  return { payload: `Hello, ${name} from ${place}!` };\n}\n",
    },
    {
      name: 'helloworld',
      description: 'Demonstrates logging facilities',
      parameters: [{ name: 'payload', description: 'The string to be included in the log record' }],
      code: "function main(params) {\n  console.log(`hello ${params.payload}!`);\n  return {};\n}\n",
    },
    {
      name: 'helloPromises',
      description: 'Return a hello message as an array of strings, from a Promise',
      parameters: [{ name: 'name' }, { name: 'place' }],
      code: "function main(params) {\n  const name = params.name || params.payload || 'stranger';\n  const place = params.place || 'somewhere';\n  return Promise.resolve({ lines: `Hello, ${name} from ${place}!`.split(' ') });\n}\n",
    },
    {
      name: 'printParams',
      description: 'Print the parameters to the console, sorted alphabetically by key',
      code: "function main(params) {\n  const sorted = {};\n  for (const k of Object.keys(params).sort()) { sorted[k] = params[k]; console.log(`${k}: ${JSON.stringify(params[k])}`); }\n  return { params: sorted };\n}\n",
    },
    {
      name: 'wordcount',
      description: 'Count words in a string',
      parameters: [{ name: 'payload', required: true, description: 'A string' }],
      code: `${countWords}\nfunction main(params) {\n  const count = words(params.payload);\n  console.log(\`The message '\${params.payload}' has \${count} words\`);\n  return { count };\n}\n`,
    },
    {
      name: 'wordcountAsync',
      description: 'Word count utility, coded as an asynchronous action',
      parameters: [{ name: 'payload', required: true, description: 'A string' }],
      code: `${countWords}\nfunction main(params) {\n  return new Promise((resolve) => setTimeout(() => resolve({ count: words(params.payload) }), 10));\n}\n`,
    },
  ],
};

/** Run by Flare itself (see src/feeds/alarm-feed.ts); the code only explains that when read. */
const nativeFeed = (type: string): string => `// Flare runs the ${type} feed itself: the OpenWhisk feed protocol (lifecycleEvent CREATE/READ/UPDATE/DELETE/PAUSE/UNPAUSE).\nfunction main() {\n  return { error: 'run by Flare' };\n}\n`;
const common = [
  { name: 'trigger_payload', description: 'The payload the trigger is fired with' },
  { name: 'startDate', description: 'The date of the first fire (ISO 8601 or ms)' },
  { name: 'stopDate', description: 'The date after which the trigger no longer fires' },
  { name: 'deleteAfterFire', description: "'true' deletes the trigger after its last fire, 'rules' its rules too" },
];

export const ALARMS: CatalogPackage = {
  name: 'alarms',
  description: 'Alarms and periodic utility',
  annotations: [{ key: 'parameters', value: [{ name: 'trigger_payload' }] }],
  actions: [
    { name: 'alarm', description: 'Fire trigger when alarm occurs', parameters: [{ name: 'cron', required: true, description: 'UNIX crontab syntax (5 fields, or 6 with seconds), UTC' }, ...common], code: nativeFeed('alarm'), annotations: [{ key: 'feed', value: true }, { key: 'flare-native-feed', value: 'alarm' }] },
    { name: 'interval', description: 'Fire trigger at specified interval', parameters: [{ name: 'minutes', required: true, description: 'Minutes between fires' }, ...common], code: nativeFeed('interval'), annotations: [{ key: 'feed', value: true }, { key: 'flare-native-feed', value: 'interval' }] },
    { name: 'once', description: 'Fire trigger once when alarm occurs', parameters: [{ name: 'date', required: true, description: 'The date to fire on' }, ...common.slice(0, 1), common[3]!], code: nativeFeed('once'), annotations: [{ key: 'feed', value: true }, { key: 'flare-native-feed', value: 'once' }] },
  ],
};
