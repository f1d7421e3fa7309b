// Headless Node-RED for the benchmark: no editor, no admin API, warnings only.
module.exports = {
    uiPort: Number(process.env.NODE_RED_PORT || 1880),
    uiHost: '127.0.0.1',
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    flowFilePretty: false,
    credentialSecret: false,
    logging: {console: {level: 'info', metrics: false, audit: false}},
    functionExternalModules: false,
    functionTimeout: 0,
};
