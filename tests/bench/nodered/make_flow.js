// Writes the Node-RED flow the benchmark compares errbridge with (issue 8 (d)): three
// `mqtt in` nodes (the bench workload's Alink, Neuron and camera topics) -> one function
// node that does errbridge's enrichment (extract the code, look it up in the catalog,
// build the event JSON and its output topic) -> `mqtt out`. The catalog is a lookup object
// built once in the function's setup code (node "initialize"), not on every message.
// usage: node make_flow.js CATALOG_JSONL PORT QOS SITE MQTT_VERSION > flows.json
'use strict';
const fs = require('fs');
const [catalogPath, port, qos, site, version] = process.argv.slice(2);
if (!catalogPath || !port) {
    console.error('usage: node make_flow.js CATALOG_JSONL PORT QOS SITE MQTT_VERSION');
    process.exit(2);
}
const codes = {};
const ranges = [];
for (const line of fs.readFileSync(catalogPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line);
    const row = {kind: e.kind, category: e.category, severity: e.severity,
                 retryable: e.retryable, message: e.message, fix: e.fix};
    if (e.code_range) ranges.push([e.vendor, e.code_range[0], e.code_range[1], row]);
    else codes[e.vendor + ':' + e.code] = row;
}

const setup = `context.set('catalog', ${JSON.stringify({codes, ranges})});`;

// Runs once per message.
const func = `
const cat = context.get('catalog');
const site = ${JSON.stringify(site || 'bench')};
const topic = msg.topic;
const raw = msg.payload;
const lv = topic.split('/');
const ctx = {route: null, topic, path: null, request_id: null, method: null,
             vendor_message: null, tag: null, firmware: null, http_status: null, captures: {}};
let vendor, device, deviceText;
const found = [];  // [code, path, tag]
if (topic.startsWith('/sys/')) {
    const p = JSON.parse(raw);
    vendor = 'aliyun';
    device = {product_key: lv[2], device_name: lv[3]};
    deviceText = lv[2] + '/' + lv[3];
    ctx.route = 'aliyun-4';
    ctx.request_id = p.id == null ? null : String(p.id);
    ctx.method = p.method || lv.slice(4).join('.').replace(/_reply$/, '');
    ctx.vendor_message = p.message == null ? null : String(p.message);
    if (p.code != null && String(p.code) !== '200') found.push([String(p.code), '/code', null]);
} else if (topic.startsWith('/neuron/')) {
    const p = JSON.parse(raw);
    vendor = 'neuron';
    device = {app: lv[2], group: p.group, node: p.node};
    deviceText = p.node || lv[2];
    ctx.route = 'neuron-2';
    ctx.captures = {driver: lv[3]};
    for (const [tag, code] of Object.entries(p.errors || {}))
        if (String(code) !== '0') found.push([String(code), '/errors/' + tag, tag]);
} else if (topic.startsWith('bridge/camera/')) {
    vendor = 'camera';
    device = {host: lv[2], channel: lv[5]};
    deviceText = lv[2];
    ctx.route = 'camera-2';
    ctx.captures = {command: lv[4]};
    const code = /errorCode="([^"]*)"/.exec(raw);
    const desc = /errorDesc="([^"]*)"/.exec(raw);
    ctx.vendor_message = desc ? desc[1] : null;
    if (code && code[1] !== '0') found.push([code[1], '/@errorCode', null]);
} else {
    return null;
}
const out = [];
for (const [code, path, tag] of found) {
    let e = cat.codes[vendor + ':' + code];
    if (!e) {
        const n = Number(code);
        for (const r of cat.ranges) if (r[0] === vendor && n >= r[1] && n <= r[2]) e = r[3];
    }
    // FNV-1a over route, topic, payload and path, two 32-bit halves (a stand-in for
    // errbridge's FNV-1a-64 without BigInt).
    let h1 = 0x811c9dc5, h2 = 0x01000193;
    const s = ctx.route + topic + raw + path;
    for (let i = 0; i < s.length; i++) {
        h1 = Math.imul(h1 ^ s.charCodeAt(i), 0x01000193);
        h2 = Math.imul(h2 ^ s.charCodeAt(i), 0x811c9dc5);
    }
    const event = {
        schema: 'errbridge/1', kind: 'error',
        id: (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0'),
        ts: new Date().toISOString(), site, vendor, code, known: !!e,
        category: e ? e.category : 'unknown', severity: e ? e.severity : 'warning',
        retryable: e ? e.retryable : null,
        message: e ? e.message : (ctx.vendor_message || 'code not in the ' + vendor + ' catalog'),
        fix: e ? e.fix : 'add the code to a site catalog file',
        device, context: Object.assign({}, ctx, {path, tag}), repeats: 0,
        raw, raw_truncated: false};
    out.push({topic: 'errors/' + site + '/' + vendor + '/' + deviceText,
              payload: JSON.stringify(event)});
}
return [out];
`;

const broker = {
    id: 'broker', type: 'mqtt-broker', name: 'bench broker', broker: '127.0.0.1',
    port: String(port), clientid: 'nodered-bench-' + process.pid, autoConnect: true,
    usetls: false, protocolVersion: String(version || 5), keepalive: '60', cleansession: true,
    autoUnsubscribe: true, birthTopic: '', closeTopic: '', willTopic: '', sessionExpiry: ''
};
const ins = ['/sys/+/+/thing/#', '/neuron/+/#', 'bridge/camera/+/http/+/+/response'].map(
    (t, i) => ({id: 'in' + i, type: 'mqtt in', z: 'flow', name: '', topic: t,
                qos: String(qos), datatype: 'utf8', broker: 'broker', nl: false, rap: false,
                rh: 0, inputs: 0, x: 100, y: 60 + 60 * i, wires: [['enrich']]}));
const flow = [
    {id: 'flow', type: 'tab', label: 'errbridge bench', disabled: false},
    broker,
    ...ins,
    {id: 'enrich', type: 'function', z: 'flow', name: 'enrich', func, outputs: 1,
     timeout: 0, noerr: 0, initialize: setup, finalize: '', libs: [], x: 300, y: 120,
     wires: [['out']]},
    {id: 'out', type: 'mqtt out', z: 'flow', name: '', topic: '', qos: String(qos),
     retain: 'false', respTopic: '', contentType: '', userProps: '', correl: '', expiry: '',
     broker: 'broker', x: 500, y: 120, wires: []},
];
process.stdout.write(JSON.stringify(flow));
