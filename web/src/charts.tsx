// Telemetry history as uPlot charts (CPU, memory, nodes, storage) for a chosen time range.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Telemetry } from './types';

const SERIES: { key: keyof Telemetry; title: string; scale?: number; unit: string }[] = [
  { key: 'cpus', title: 'CPU', unit: 'cores' },
  { key: 'memory_bytes', title: 'Memory', scale: 1024 ** 3, unit: 'GiB' },
  { key: 'nodes', title: 'Nodes', unit: 'nodes' },
  { key: 'storage_bytes', title: 'Storage', scale: 1024 ** 3, unit: 'GiB' },
];

function Chart(props: { title: string; unit: string; xs: number[]; ys: number[]; range: [number, number] }) {
  const { title, unit, xs, ys, range } = props;
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const plot = new uPlot(
      {
        width: Math.max(260, el.clientWidth),
        height: 160,
        legend: { show: false },
        // The whole chosen range, however few samples fall in it.
        scales: { x: { time: true, range: () => range } },
        axes: [{}, { label: unit, size: 60 }],
        series: [{}, { label: title, stroke: '#2563eb', fill: 'rgba(37,99,235,0.12)', width: 2 }],
      },
      [xs, ys],
      el,
    );
    return () => plot.destroy();
  }, [title, unit, xs, ys, range]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={ref} role="img" aria-label={`${title} over time, ${ys.length} samples`} />
    </figure>
  );
}

/** `range`: the chosen window, in seconds since the epoch. */
export function TelemetryCharts({ samples, range }: { samples: Telemetry[]; range: [number, number] }) {
  const xs = samples.map((s) => new Date(s.time).getTime() / 1000);
  return (
    <div class="charts">
      {SERIES.map((series) => (
        <Chart
          key={series.key}
          title={series.title}
          unit={series.unit}
          xs={xs}
          range={range}
          ys={samples.map((s) => Number(s[series.key]) / (series.scale ?? 1))}
        />
      ))}
    </div>
  );
}
