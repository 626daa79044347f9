/**
 * Who may use the dashboard.
 *
 * - A login link carries a one-time token: a random nonce and its HMAC under a key that only the
 *   daemon and the data directory's owner know (the key is in `dashboard.json`, mode 0600). Any
 *   holder of the key can mint a link (`ferry ui` does); each link works once.
 * - The page exchanges it for a session cookie (HttpOnly, SameSite=Strict, named after the
 *   port, so two daemons on one host keep theirs apart); every other request needs that cookie.
 * - The Host header must name loopback or the listening address (against DNS rebinding), and a
 *   request that changes anything must carry the dashboard's own Origin.
 */
import crypto from 'node:crypto';
import type http from 'node:http';

/** newKey makes a login key (hex). */
export function newKey(): string {
  return crypto.randomBytes(32).toString('hex');
}

/** mintToken makes a one-time login token under key. */
export function mintToken(key: string): string {
  const nonce = crypto.randomBytes(16).toString('hex');
  return `${nonce}.${mac(key, nonce)}`;
}

function mac(key: string, nonce: string): string {
  return crypto.createHmac('sha256', key).update(nonce).digest('hex').slice(0, 40);
}

/** Sessions checks login tokens and keeps the sessions they opened. */
export class Sessions {
  private readonly used = new Set<string>();
  private readonly sessions = new Set<string>();
  readonly cookieName: string;

  constructor(private readonly key: string, port: number) {
    this.cookieName = `ferry_dashboard_${port}`;
  }

  /** login spends a token and returns a new session id, or undefined when the token is bad or spent. */
  login(token: string): string | undefined {
    const [nonce, sig] = token.split('.');
    if (!nonce || !sig || !/^[0-9a-f]{32}$/.test(nonce) || !/^[0-9a-f]{40}$/.test(sig)) return undefined;
    const want = Buffer.from(mac(this.key, nonce));
    if (!crypto.timingSafeEqual(want, Buffer.from(sig))) return undefined;
    if (this.used.has(nonce)) return undefined;
    this.used.add(nonce);
    const id = crypto.randomBytes(32).toString('hex');
    this.sessions.add(id);
    return id;
  }

  /** cookie is the Set-Cookie value for a session. */
  cookie(id: string): string {
    return `${this.cookieName}=${id}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** authenticated says whether the request carries a session cookie. */
  authenticated(req: http.IncomingMessage): boolean {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const i = part.indexOf('=');
      if (i < 0 || part.slice(0, i).trim() !== this.cookieName) continue;
      if (this.sessions.has(part.slice(i + 1).trim())) return true;
    }
    return false;
  }
}

/** allowedHosts are the Host headers the dashboard answers on `port`. */
export function allowedHosts(listenAddress: string, port: number): Set<string> {
  const names = ['127.0.0.1', 'localhost', '[::1]', listenAddress.includes(':') ? `[${listenAddress}]` : listenAddress];
  return new Set(names.map((n) => `${n}:${port}`.toLowerCase()));
}

/** sameOrigin says whether a state-changing request comes from the dashboard's own page. */
export function sameOrigin(req: http.IncomingMessage, hosts: Set<string>): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && hosts.has(u.host.toLowerCase()) && u.host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}
