// Small charts in plain SVG (no chart library: the panel stays light). Each chart has a
// title for screen readers and a <title> per mark, so values can be read on hover.

export interface Series {
  name: string;
  color: string; // a CSS colour
}

const W = 640;
const H = 200;
const PAD = { l: 40, r: 8, t: 8, b: 28 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const n = v / p;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : String(Math.round(v * 100) / 100);
}

function labelEvery(n: number): number {
  return Math.max(1, Math.ceil(n / 10));
}

function Axes({ max, min = 0, format = fmt }: { max: number; min?: number; format?: (v: number) => string }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => min + f * (max - min));
  const y = (v: number) => PAD.t + (1 - (v - min) / (max - min)) * (H - PAD.t - PAD.b);
  return (
    <g className="text-slate-400" fontSize="10">
      {ticks.map((t) => (
        <g key={t}>
          <line x1={PAD.l} x2={W - PAD.r} y1={y(t)} y2={y(t)} stroke="currentColor" strokeOpacity="0.3" />
          <text x={PAD.l - 4} y={y(t) + 3} textAnchor="end" fill="currentColor">{format(t)}</text>
        </g>
      ))}
    </g>
  );
}

export function Legend({ series }: { series: Series[] }) {
  return (
    <ul className="mt-1 flex flex-wrap gap-3 text-xs text-slate-600">
      {series.map((s) => (
        <li key={s.name} className="flex items-center gap-1">
          <span className="inline-block h-2.5 w-2.5 rounded-sm" style={{ background: s.color }} />{s.name}
        </li>
      ))}
    </ul>
  );
}

/** Bars per label; several series are stacked. */
export function BarChart({ title, labels, series, values }:
  { title: string; labels: string[]; series: Series[]; values: number[][] /* [label][series] */ }) {
  const max = niceMax(Math.max(0, ...values.map((v) => v.reduce((a, b) => a + b, 0))));
  const plotW = W - PAD.l - PAD.r;
  const step = plotW / Math.max(1, labels.length);
  const bw = Math.max(1, Math.min(32, step * 0.7));
  const y = (v: number) => (v / max) * (H - PAD.t - PAD.b);
  const every = labelEvery(labels.length);
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full" role="img" aria-label={title}>
        <title>{title}</title>
        <Axes max={max} />
        {labels.map((label, i) => {
          let base = H - PAD.b;
          const x = PAD.l + i * step + (step - bw) / 2;
          return (
            <g key={label}>
              {series.map((s, j) => {
                const v = values[i]?.[j] ?? 0;
                const h = y(v);
                base -= h;
                return (
                  <rect key={s.name} x={x} y={base} width={bw} height={h} fill={s.color}>
                    <title>{`${label} · ${s.name}: ${v}`}</title>
                  </rect>
                );
              })}
              {i % every === 0 && (
                <text x={x + bw / 2} y={H - PAD.b + 14} fontSize="10" textAnchor="middle" className="fill-slate-500">{label.slice(5)}</text>
              )}
            </g>
          );
        })}
      </svg>
      {series.length > 1 && <Legend series={series} />}
    </figure>
  );
}

/** A line per series; null values leave a gap (a day without data). */
export function LineChart({ title, labels, series, values, min = 0, max, format = fmt }:
  { title: string; labels: string[]; series: Series[]; values: (number | null)[][]; min?: number; max?: number;
    format?: (v: number) => string }) {
  const top = max ?? niceMax(Math.max(0, ...values.flat().filter((v): v is number => v !== null)));
  const plotW = W - PAD.l - PAD.r;
  const step = labels.length > 1 ? plotW / (labels.length - 1) : 0;
  const x = (i: number) => PAD.l + (labels.length > 1 ? i * step : plotW / 2);
  const y = (v: number) => PAD.t + (1 - (v - min) / (top - min)) * (H - PAD.t - PAD.b);
  const every = labelEvery(labels.length);
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full" role="img" aria-label={title}>
        <title>{title}</title>
        <Axes max={top} min={min} format={format} />
        {values.every((row) => row.every((v) => v === null)) && (
          <text x={W / 2} y={H / 2} textAnchor="middle" fontSize="12" className="fill-slate-400">no data in this period</text>
        )}
        {series.map((s, j) => {
          const segments: string[] = [];
          let current = "";
          labels.forEach((_, i) => {
            const v = values[i]?.[j] ?? null;
            if (v === null) {
              if (current) segments.push(current);
              current = "";
            } else {
              current += `${current ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
            }
          });
          if (current) segments.push(current);
          return (
            <g key={s.name}>
              {segments.map((d, k) => <path key={k} d={d} fill="none" stroke={s.color} strokeWidth="2" />)}
              {labels.map((label, i) => {
                const v = values[i]?.[j] ?? null;
                return v === null ? null : (
                  <circle key={label} cx={x(i)} cy={y(v)} r="3" fill={s.color}><title>{`${label} · ${s.name}: ${format(v)}`}</title></circle>
                );
              })}
            </g>
          );
        })}
        {labels.map((label, i) => i % every === 0 && (
          <text key={label} x={x(i)} y={H - PAD.b + 14} fontSize="10" textAnchor="middle" className="fill-slate-500">{label.slice(5)}</text>
        ))}
      </svg>
      {series.length > 1 && <Legend series={series} />}
    </figure>
  );
}

/** Horizontal bars with their values, for a few named figures (latency percentiles). */
export function HBars({ title, items, format = fmt }: { title: string; items: { label: string; value: number; color: string }[];
  format?: (v: number) => string }) {
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  return (
    <div role="img" aria-label={title} className="space-y-1.5">
      {items.map((it) => (
        <div key={it.label} className="flex items-center gap-2 text-xs">
          <span className="w-32 shrink-0 text-slate-600">{it.label}</span>
          <div className="h-3 flex-1 rounded bg-slate-100">
            <div className="h-3 rounded" style={{ width: `${(100 * it.value) / max}%`, background: it.color }} />
          </div>
          <span className="w-20 shrink-0 text-right tabular-nums">{format(it.value)}</span>
        </div>
      ))}
    </div>
  );
}

/** One bar split in parts (shares of a whole). */
export function SplitBar({ title, parts }: { title: string; parts: { label: string; value: number; color: string }[] }) {
  const total = parts.reduce((a, p) => a + p.value, 0);
  return (
    <div>
      <div role="img" aria-label={title} className="flex h-5 w-full overflow-hidden rounded bg-slate-100">
        {total > 0 && parts.map((p) => p.value > 0 && (
          <div key={p.label} style={{ width: `${(100 * p.value) / total}%`, background: p.color }} title={`${p.label}: ${p.value}`} />
        ))}
      </div>
      <ul className="mt-1 flex flex-wrap gap-3 text-xs text-slate-600">
        {parts.map((p) => (
          <li key={p.label} className="flex items-center gap-1">
            <span className="inline-block h-2.5 w-2.5 rounded-sm" style={{ background: p.color }} />
            {p.label}: {p.value}{total > 0 ? ` (${Math.round((100 * p.value) / total)}%)` : ""}
          </li>
        ))}
      </ul>
    </div>
  );
}
