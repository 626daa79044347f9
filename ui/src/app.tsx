// The dashboard page: the overview (#/) and a resource's page (#/r/<name>).
import { memo, useSyncExternalStore } from 'preact/compat';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { BuildRecord, LogCategory, LogEntry, ResourceDetail, ResourceSummary } from '../../src/dashboard/wire.ts';
import { post, type Store } from './store.ts';

/**
 * useStore re-renders on every change of the store. The stream opens before the first render
 * and its first events may come before the component subscribes (effects run after a frame):
 * useSyncExternalStore catches up on those when it subscribes, so they are drawn at once rather
 * than on the daemon's next change.
 */
function useStore(store: Store): number {
  return useSyncExternalStore(store.subscribe, () => store.version);
}

function useRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** One clock for every "12s ago" text: each re-renders only when its own text changes. */
const ticks = new Set<() => void>();
setInterval(() => {
  for (const t of ticks) t();
}, 5000);

function Ago({ t }: { t?: string }) {
  const [text, setText] = useState(() => ago(t));
  useEffect(() => {
    setText(ago(t));
    const tick = () => setText(ago(t));
    ticks.add(tick);
    return () => {
      ticks.delete(tick);
    };
  }, [t]);
  return <>{text}</>;
}

export function App({ store }: { store: Store }) {
  useStore(store);
  const route = useRoute();
  const m = /^#\/r\/(.+)$/.exec(route);
  const name = m ? decodeURIComponent(m[1]) : undefined;
  useEffect(() => {
    document.title = name ? `${name} · ferry` : 'ferry';
  }, [name]);
  return (
    <div class="app">
      <header class="top">
        <a class="brand" href="#/">ferry</a>
        <ConnectionBadge store={store} />
      </header>
      {store.connection === 'logged-out' && (
        <p class="banner error" role="alert">
          This page is logged out (the daemon restarted?). Run <code>ferry ui</code> for a new link.
        </p>
      )}
      <main>{name ? <ResourcePage store={store} name={name} /> : <Overview store={store} />}</main>
    </div>
  );
}

function ConnectionBadge({ store }: { store: Store }) {
  const text = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', 'logged-out': 'logged out' }[store.connection];
  return (
    <span class={`conn conn-${store.connection}`} role="status" aria-live="polite" data-testid="connection">
      {text}
    </span>
  );
}

// ---- overview ----------------------------------------------------------------------------------

const stateFilters = ['all', 'error', 'pending', 'building', 'ok', 'disabled'] as const;
type StateFilter = (typeof stateFilters)[number];

function matchesState(r: ResourceSummary, f: StateFilter): boolean {
  if (f === 'all') return true;
  if (f === 'disabled') return r.disabled;
  if (f === 'error') return r.updateState === 'error' || r.runtimeState === 'error';
  if (f === 'building') return r.updateState === 'building';
  if (f === 'pending') return r.updateState === 'pending' || r.runtimeState === 'pending';
  return !r.disabled && r.updateState !== 'error' && r.runtimeState !== 'error' && (r.updateState === 'ok' || r.runtimeState === 'ok');
}

function Overview({ store }: { store: Store }) {
  const [text, setText] = useState('');
  const [state, setState] = useState<StateFilter>('all');
  const [label, setLabel] = useState('');
  const all = useMemo(() => [...store.resources.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), [store.version]);
  const labels = useMemo(() => [...new Set(all.flatMap((r) => r.labels))].sort(), [all]);
  const q = text.trim().toLowerCase();
  const shown = all.filter(
    (r) => (!q || r.name.toLowerCase().includes(q) || r.labels.some((l) => l.toLowerCase().includes(q))) && matchesState(r, state) && (!label || r.labels.includes(label)),
  );
  const failing = all.filter((r) => !r.disabled && (r.updateState === 'error' || r.runtimeState === 'error'));
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">
        Resources <span class="count">{all.length}</span>
      </h1>
      {failing.length > 0 && (
        <div class="alerts" role="alert" data-testid="alerts">
          <h2>{failing.length === 1 ? '1 resource is failing' : `${failing.length} resources are failing`}</h2>
          <ul>
            {failing.slice(0, 10).map((r) => (
              <li key={r.name}>
                <a href={`#/r/${encodeURIComponent(r.name)}`}>{r.name}</a>: <span class="err-text">{oneLine(r.lastError ?? r.updateReason ?? r.runtimeReason ?? 'failed')}</span>
              </li>
            ))}
            {failing.length > 10 && <li>and {failing.length - 10} more (filter by state “error”)</li>}
          </ul>
        </div>
      )}
      <div class="filters" role="search">
        <label>
          Filter <input type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} placeholder="name or label" aria-label="Filter by name or label" />
        </label>
        <label>
          State{' '}
          <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value as StateFilter)} aria-label="Filter by state">
            {stateFilters.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        {labels.length > 0 && (
          <label>
            Label{' '}
            <select value={label} onChange={(e) => setLabel((e.target as HTMLSelectElement).value)} aria-label="Filter by label">
              <option value="">any</option>
              {labels.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
        )}
        <span class="shown" aria-live="polite">
          {shown.length === all.length ? '' : `${shown.length} shown`}
        </span>
      </div>
      {all.length === 0 ? (
        <p class="empty">{store.connection === 'live' ? 'No resources yet. Apply some objects (ferry apply -f ferry.yaml).' : 'Loading…'}</p>
      ) : (
        <table class="resources" data-testid="resources">
          <thead>
            <tr>
              <th scope="col">Resource</th>
              <th scope="col">Update</th>
              <th scope="col">Runtime</th>
              <th scope="col">Last build</th>
              <th scope="col">Last sync</th>
              <th scope="col">Last error</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <Row key={r.name} r={r} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Row re-renders only when its summary changes (a new object on every change). */
const Row = memo(function Row({ r }: { r: ResourceSummary }) {
  return (
    <tr data-resource={r.name} class={r.disabled ? 'disabled' : ''}>
      <th scope="row" data-label="Resource">
        <a href={`#/r/${encodeURIComponent(r.name)}`}>{r.name}</a>
        {r.labels.length > 0 && <span class="labels">{r.labels.join(' ')}</span>}
      </th>
      <td data-label="Update">
        <StateBadge state={r.updateState} reason={r.updateReason} />
        {r.triggerQueued && <span class="queued"> queued</span>}
      </td>
      <td data-label="Runtime">
        <StateBadge state={r.runtimeState} reason={r.runtimeReason} />
      </td>
      <td data-label="Last build">{r.lastBuild ? <BuildText b={r.lastBuild} /> : <span class="muted">–</span>}</td>
      <td data-label="Last sync">
        {r.lastSync ? (
          <span title={r.lastSync.files.join('\n')}>
            <Ago t={r.lastSync.time} /> · {r.lastSync.files.length} file{r.lastSync.files.length === 1 ? '' : 's'}
            {r.lastSync.latencyMs !== undefined && ` · ${duration(r.lastSync.latencyMs)}`}
          </span>
        ) : (
          <span class="muted">–</span>
        )}
      </td>
      <td data-label="Last error" class="err-cell">
        {r.lastError ? <span class="err-text" title={r.lastError}>{oneLine(r.lastError)}</span> : <span class="muted">–</span>}
      </td>
      <td class="actions">
        <TriggerButton name={r.name} disabled={r.disabled} />
      </td>
    </tr>
  );
});

function StateBadge({ state, reason }: { state: string; reason?: string }) {
  const text = state === 'none' ? '–' : state;
  return (
    <span class={`badge s-${state}`} title={reason}>
      {text}
      {reason && state !== 'error' && state !== 'ok' && <span class="reason"> {reason}</span>}
    </span>
  );
}

function BuildText({ b }: { b: BuildRecord }) {
  if (b.building) return <span>building since <Ago t={b.startedAt} /></span>;
  return (
    <span class={b.error ? 'err-text' : ''}>
      <Ago t={b.finishedAt} />
      {b.durationMs !== undefined && ` · ${duration(b.durationMs)}`}
      {b.error && ' · failed'}
    </span>
  );
}

function TriggerButton({ name, disabled }: { name: string; disabled?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string>();
  return (
    <>
      <button
        type="button"
        class="btn"
        disabled={busy || disabled}
        aria-label={`Trigger an update of ${name}`}
        data-testid={`trigger-${name}`}
        onClick={async () => {
          setBusy(true);
          setErr(await post(`/api/resources/${encodeURIComponent(name)}/trigger`));
          setBusy(false);
        }}
      >
        Trigger
      </button>
      {err && (
        <span class="err-text" role="alert">
          {' '}
          {err}
        </span>
      )}
    </>
  );
}

// ---- a resource's page -------------------------------------------------------------------------

function ResourcePage({ store, name }: { store: Store; name: string }) {
  const summary = store.resources.get(name);
  const [detail, setDetail] = useState<ResourceDetail>();
  const [missing, setMissing] = useState(false);
  const revision = summary?.revision;
  useEffect(() => {
    let stale = false;
    void fetch(`/api/resources/${encodeURIComponent(name)}`, { credentials: 'same-origin' }).then(async (r) => {
      if (stale) return;
      if (r.status === 404) return setMissing(true);
      if (r.ok) {
        const d = (await r.json()) as ResourceDetail;
        if (!stale) {
          setMissing(false);
          setDetail(d);
        }
      }
    });
    return () => {
      stale = true;
    };
  }, [name, revision]);
  useEffect(() => {
    void store.loadLogs(name);
  }, [name]);
  const [actionErr, setActionErr] = useState<string>();
  const s = summary ?? detail?.summary;
  if (!s) return <p>{missing ? `No resource named ${name}.` : 'Loading…'}</p>;
  return (
    <article aria-labelledby="res-title" data-testid="resource-page">
      <p>
        <a href="#/">← All resources</a>
      </p>
      <h1 id="res-title">{name}</h1>
      <div class="states">
        <span>
          Update: <StateBadge state={s.updateState} reason={s.updateReason} />
        </span>
        <span>
          Runtime: <StateBadge state={s.runtimeState} reason={s.runtimeReason} />
        </span>
        {s.triggerQueued && <span class="queued">queued for a build</span>}
      </div>
      <div class="buttons">
        <TriggerButton name={name} disabled={s.disabled} />
        {s.canDisable && (
          <button
            type="button"
            class="btn"
            data-testid="toggle-disable"
            onClick={async () => setActionErr(await post(`/api/resources/${encodeURIComponent(name)}/${s.disabled ? 'enable' : 'disable'}`))}
          >
            {s.disabled ? 'Enable' : 'Disable'}
          </button>
        )}
        <span class="muted">Trigger mode: set by the objects (ferry’s API has no trigger mode to change).</span>
        {actionErr && (
          <span class="err-text" role="alert">
            {actionErr}
          </span>
        )}
      </div>
      {s.lastError && (
        <div class="alerts" role="alert" data-testid="last-error">
          <h2>Last error</h2>
          <pre class="err-text">{s.lastError}</pre>
        </div>
      )}
      <p class="muted small">Objects: {s.objects.join(', ')}</p>
      {detail && <Details d={detail} />}
      <Logs store={store} name={name} />
    </article>
  );
}

function Details({ d }: { d: ResourceDetail }) {
  return (
    <>
      <section aria-labelledby="builds-title">
        <h2 id="builds-title">Build history</h2>
        {d.builds.length === 0 ? (
          <p class="muted">No build seen since the dashboard started.</p>
        ) : (
          <table class="plain" data-testid="builds">
            <thead>
              <tr>
                <th scope="col">Image</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Reason</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {d.builds.map((b) => (
                <tr key={`${b.image}@${b.startedAt}`}>
                  <td>{b.image}</td>
                  <td>{b.startedAt ? <time dateTime={b.startedAt}>{clock(b.startedAt)}</time> : '–'}</td>
                  <td>{b.building ? 'running' : b.durationMs !== undefined ? duration(b.durationMs) : '–'}</td>
                  <td>{b.reason ?? ''}</td>
                  <td class={b.error ? 'err-text' : ''}>{b.building ? 'building' : b.error ? oneLine(b.error) : 'ok'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {d.liveUpdates.length > 0 && (
        <section aria-labelledby="lu-title" data-testid="live-updates">
          <h2 id="lu-title">Live updates</h2>
          {d.liveUpdates.map((lu) => (
            <div key={lu.name} class="card">
              <h3>
                {lu.name} <span class="muted small">{lu.syncs.map((s) => `${s.localPath} → ${s.containerPath}`).join(', ')}</span>
              </h3>
              {lu.failed && (
                <p class="err-text">
                  {lu.failed.reason}: {lu.failed.message}
                </p>
              )}
              {lu.containers.length === 0 && <p class="muted">No container yet.</p>}
              {lu.containers.map((c) => (
                <div key={c.name + (c.pod ?? '')} class="container">
                  <p>
                    <strong>{c.name}</strong>
                    {c.pod && <span class="muted"> in {c.pod}</span>}
                    {c.lastFileTimeSynced && <span> · last synced file event {clock(c.lastFileTimeSynced)}</span>}
                    {c.waiting && <span class="muted"> · waiting: {c.waiting}</span>}
                  </p>
                  {c.lastExecError && <p class="err-text">Exec failed: {c.lastExecError}</p>}
                  {c.syncs.length > 0 && (
                    <ul class="syncs">
                      {c.syncs.map((s) => (
                        <li key={s.time} data-testid="sync">
                          {clock(s.time)}
                          {s.latencyMs !== undefined && ` · ${duration(s.latencyMs)} from the file event`} · {s.files.length === 0 ? 'files not known' : s.files.join(', ')}
                          {s.error && <span class="err-text"> · {s.error}</span>}
                        </li>
                      ))}
                    </ul>
                  )}
                </div>
              ))}
            </div>
          ))}
        </section>
      )}
      {d.fileWatches.length > 0 && (
        <section aria-labelledby="fw-title" data-testid="file-events">
          <h2 id="fw-title">File changes</h2>
          {d.fileWatches.map((fw) => (
            <div key={fw.name} class="card">
              <h3>
                {fw.name} <span class="muted small">watches {fw.watchedPaths.join(', ')}</span>
              </h3>
              {fw.error && <p class="err-text">{fw.error}</p>}
              <p class="muted small">
                Ignored: {fw.ignores.length ? fw.ignores.join('; ') : 'nothing'}. Ignored files are dropped by the watcher and never reported, so they do not appear below.
              </p>
              {fw.events.length === 0 ? (
                <p class="muted">No change seen yet.</p>
              ) : (
                <ul class="events">
                  {fw.events.map((e) => (
                    <li key={e.time}>
                      <time dateTime={e.time}>{clock(e.time)}</time>
                      <ul>
                        {e.files.slice(0, 50).map((f) => (
                          <li key={f.path}>
                            <code>{f.path}</code> <span class="muted">{f.verdict}</span>
                          </li>
                        ))}
                        {e.files.length > 50 && <li class="muted">and {e.files.length - 50} more</li>}
                      </ul>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          ))}
        </section>
      )}
    </>
  );
}

const categories: LogCategory[] = ['build', 'runtime', 'sync'];
const maxShownLines = 2000;

function Logs({ store, name }: { store: Store; name: string }) {
  const [shown, setShown] = useState<Record<LogCategory, boolean>>({ build: true, runtime: true, sync: true });
  const [search, setSearch] = useState('');
  const [follow, setFollow] = useState(true);
  const [copied, setCopied] = useState('');
  const box = useRef<HTMLDivElement>(null);
  const lines: LogEntry[] = store.logs.get(name) ?? [];
  const q = search.toLowerCase();
  const matching = lines.filter((l) => shown[l.category] && (!q || l.line.toLowerCase().includes(q)));
  const visible = matching.slice(-maxShownLines);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  });
  const copy = async () => {
    const text = visible.map((l) => l.line).join('\n');
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setCopied(`copied ${visible.length} lines`);
    setTimeout(() => setCopied(''), 2000);
  };
  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <div class="filters">
        {categories.map((c) => (
          <label key={c}>
            <input type="checkbox" checked={shown[c]} onChange={() => setShown({ ...shown, [c]: !shown[c] })} /> {c}
          </label>
        ))}
        <label>
          Search <input type="search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} aria-label="Search the logs" />
        </label>
        <label>
          <input type="checkbox" checked={follow} onChange={() => setFollow(!follow)} /> follow
        </label>
        <button type="button" class="btn" onClick={copy}>
          Copy
        </button>
        <span aria-live="polite" class="muted">
          {copied}
        </span>
      </div>
      {matching.length > visible.length && <p class="muted small">Showing the last {visible.length} of {matching.length} lines.</p>}
      <div class="log" ref={box} tabIndex={0} role="log" aria-label={`Logs of ${name}`} data-testid="logs">
        {visible.length === 0 && <span class="muted">No log lines{q ? ' match' : ' yet'}.</span>}
        {visible.map((l) => (
          <div key={l.seq} class={`line c-${l.category}${l.stream === 'stderr' ? ' stderr' : ''}`}>
            <span class="src">{l.source}</span> {l.line}
          </div>
        ))}
      </div>
    </section>
  );
}

// ---- text --------------------------------------------------------------------------------------

function oneLine(s: string): string {
  const first = s.split('\n').find((l) => l.trim()) ?? s;
  return first.length > 160 ? first.slice(0, 157) + '…' : first;
}

function ago(t?: string): string {
  if (!t) return '–';
  const ms = Date.now() - Date.parse(t);
  if (Number.isNaN(ms)) return '–';
  if (ms < 5000) return 'just now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s ago`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ago`;
  return `${Math.floor(ms / 3_600_000)}h ago`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
}

function clock(t: string): string {
  const d = new Date(Date.parse(t));
  return Number.isNaN(d.getTime()) ? t : d.toLocaleTimeString();
}
