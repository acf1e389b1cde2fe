// Starts a local PLC directory and the reference atproto PDS on 127.0.0.1, for crosspost's
// Bluesky integration tests. Nothing here reaches beyond loopback: the PLC is in memory, no
// crawler or app view is configured, and both servers bind to 127.0.0.1 only (upstream binds
// every interface, so `listen` is narrowed below).
//
//   node start.mjs --port 2583 --data /tmp/pds --ready /tmp/pds/ready.json
//
// Writes {"url", "plc_url", "admin_password", "pid"} to --ready (and stdout) once both serve;
// stops cleanly on SIGTERM/SIGINT. Invite codes are off, so tests create accounts freely.
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]])
    return pairs
  }, []),
)
const HOST = '127.0.0.1'

// Logging must be configured before the packages are imported (their loggers read it at load).
process.env.LOG_ENABLED ??= 'false'
process.env.LOG_LEVEL ??= 'fatal'

const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, HOST, () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

// express's app.listen(port) binds every interface; pin the host to loopback.
const onLoopback = (app) => {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, HOST, ...rest)
}

const plcModule = await import('@did-plc/server')
const { PlcServer, Database: PlcDatabase } = plcModule.default ?? plcModule
const pdsModule = await import('@atproto/pds')
const { PDS, envToCfg, envToSecrets, readEnv } = pdsModule

const dataDir = path.resolve(args.data ?? fs.mkdtempSync('/tmp/crosspost-pds-'))
fs.mkdirSync(path.join(dataDir, 'blobs'), { recursive: true })
const pdsPort = Number(args.port ?? 0) || (await freePort())
const plcPort = Number(args['plc-port'] ?? 0) || (await freePort())

const plc = PlcServer.create({ db: PlcDatabase.mock(), port: plcPort })
onLoopback(plc.app)
await plc.start()
const plcUrl = `http://${HOST}:${plcPort}`

const adminPassword = crypto.randomBytes(12).toString('hex')
Object.assign(process.env, {
  PDS_PORT: String(pdsPort),
  PDS_HOSTNAME: 'localhost',
  PDS_DEV_MODE: 'true',
  PDS_DID_PLC_URL: plcUrl,
  PDS_DATA_DIRECTORY: dataDir,
  PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blobs'),
  PDS_JWT_SECRET: crypto.randomBytes(16).toString('hex'),
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: crypto.randomBytes(32).toString('hex'),
  PDS_ADMIN_PASSWORD: adminPassword,
  PDS_INVITE_REQUIRED: 'false',
  PDS_CRAWLERS: '',
})
const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
onLoopback(pds.app)
await pds.start()

const ready = { url: `http://${HOST}:${pdsPort}`, plc_url: plcUrl, admin_password: adminPassword, pid: process.pid }
if (args.ready) {
  fs.writeFileSync(`${args.ready}.part`, JSON.stringify(ready))
  fs.renameSync(`${args.ready}.part`, args.ready)
}
console.log(JSON.stringify(ready))

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await pds.destroy().catch(() => {})
  await plc.destroy().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
