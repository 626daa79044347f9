/**
 * Credentials of the embedded server, kept in the data directory: a self-signed CA and a
 * serving certificate for the loopback names, a bearer token, and the kubeconfig that
 * hands both to kubectl and client-node. Private files are written 0600, atomically.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

export interface Credentials {
  caCert: string;
  serverCert: string;
  serverKey: string;
  token: string;
}

/** writePrivate writes a file readable only by its owner, through a rename so readers never see half of it. */
export function writePrivate(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function certUsable(pem: string, hosts: string[]): boolean {
  try {
    const cert = new crypto.X509Certificate(pem);
    const thirtyDays = 30 * 24 * 3600 * 1000;
    if (Date.parse(cert.validTo) - Date.now() < thirtyDays || Date.parse(cert.validFrom) > Date.now()) return false;
    return hosts.every((h) => (net.isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
  } catch {
    return false;
  }
}

/**
 * certificateGenerator loads selfsigned only when a certificate must be made: with its X.509
 * and ASN.1 libraries it weighs about 15 MB resident, and most starts find their certificates.
 */
const certificateGenerator = () => import('selfsigned');

/**
 * ensureCredentials loads the CA, serving certificate and token from dir, making what is
 * missing, unreadable, expiring within 30 days or not valid for `hosts`.
 */
export async function ensureCredentials(dir: string, hosts: string[]): Promise<Credentials> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (n: string) => path.join(dir, n);
  const read = (n: string) => (fs.existsSync(file(n)) ? fs.readFileSync(file(n), 'utf8') : '');
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])];

  let caCert = read('ca.crt');
  let caKey = read('ca.key');
  if (!caCert || !caKey || !certUsable(caCert, [])) {
    const { generate } = await certificateGenerator();
    const ca = await generate([{ name: 'commonName', value: `ferry-ca@${Math.floor(Date.now() / 1000)}` }], {
      keySize: 2048,
      notAfterDate: new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000),
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
    });
    caCert = ca.cert;
    caKey = ca.private;
    writePrivate(file('ca.key'), caKey);
    writePrivate(file('ca.crt'), caCert);
    fs.rmSync(file('server.crt'), { force: true });
  }

  let serverCert = read('server.crt');
  let serverKey = read('server.key');
  if (!serverCert || !serverKey || !certUsable(serverCert, names)) {
    const { generate } = await certificateGenerator();
    const server = await generate([{ name: 'commonName', value: `localhost@${Math.floor(Date.now() / 1000)}` }], {
      keySize: 2048,
      notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
      ca: { key: caKey, cert: caCert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: names.map((n) => (net.isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
      ],
    });
    serverCert = server.cert;
    serverKey = server.private;
    writePrivate(file('server.key'), serverKey);
    writePrivate(file('server.crt'), serverCert);
  }

  let token = read('token').trim();
  if (!token) {
    token = crypto.randomBytes(48).toString('base64url');
    writePrivate(file('token'), token);
  }
  return { caCert, serverCert, serverKey, token };
}

/** checkToken compares a presented bearer token with the expected one in constant time. */
export function checkToken(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export const kubeconfigContext = 'ferry';

/** kubeconfigYAML is a kubeconfig with one context, `ferry`, for the server at url. */
export function kubeconfigYAML(url: string, caCert: string, token: string, name = kubeconfigContext): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: url, 'certificate-authority-data': Buffer.from(caCert).toString('base64') } }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    preferences: {},
  });
}

/** isWildcardHost is true for the addresses that listen on every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** isLoopbackHost is true for `localhost` (and its subdomains), 127.0.0.0/8 and ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^(0+:){7}0*1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/**
 * machineHosts are this machine's own names and addresses: its host name and the address
 * of every network interface (IPv6 link-local ones without their zone).
 */
export function machineHosts(): string[] {
  const hosts = new Set<string>([os.hostname().toLowerCase()]);
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) hosts.add(a.address.toLowerCase().replace(/%.*$/, ''));
  }
  return [...hosts];
}

/** hostOfHeader is the host name of a Host header, without its port and brackets, lower case. */
function hostOfHeader(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h.slice(1) : h.slice(1, end);
  }
  return h.replace(/:\d*$/, '').replace(/\.$/, '');
}

/**
 * hostAllowlist decides which Host headers the server accepts, its defence against DNS
 * rebinding (a web page whose name resolves to this machine). Loopback names and addresses
 * are accepted on any port, since `kubectl proxy` forwards its own; a server bound beyond
 * loopback also accepts the machine's own names and addresses (machineHosts) and the bound
 * address. Every other name is refused. A request without Host (HTTP/1.0) is accepted.
 */
export function hostAllowlist(bindHost: string, ownHosts: string[] = machineHosts()): (header: string | undefined) => boolean {
  const allowed = new Set<string>();
  if (!isLoopbackHost(bindHost)) {
    for (const h of ownHosts) allowed.add(h.toLowerCase());
    if (!isWildcardHost(bindHost)) allowed.add(bindHost.toLowerCase().replace(/^\[|\]$/g, ''));
  }
  return (header) => {
    if (header === undefined || header === '') return true;
    const host = hostOfHeader(header);
    return isLoopbackHost(host) || allowed.has(host);
  };
}
