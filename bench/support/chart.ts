/**
 * A hand-written SVG bar chart for bench/run.ts: panels of grouped bars, one group per scenario,
 * mai beside its baselines. Bars are normalised to one reference server per group (so that
 * scenarios with figures of very different size share an axis) and labelled with the absolute
 * figure; a dashed line marks the group's target where PERFORMANCE.md sets one.
 */

/** One bar: a server's figure in one scenario. */
export interface Bar {
  /** Series id (a key of the legend): `mai`, `hand`, `raw`… */
  readonly series: string;
  /** Figure ÷ the reference server's figure; NaN when the run failed. */
  readonly relative: number;
  /** The absolute figure as text, e.g. `2.84 M`. */
  readonly label: string;
}

/** One scenario: its bars, and the target as a relative level. */
export interface Group {
  /** First line under the group, e.g. `E1 · 64 B`. */
  readonly title: string;
  /** Second line, e.g. `frames/s`. */
  readonly subtitle: string;
  readonly bars: readonly Bar[];
  /** The target as a relative level (e.g. 1 for "mai ≥ hand-written"), and its text. */
  readonly target?: { readonly level: number; readonly text: string } | undefined;
}

/** A row of groups sharing one axis. */
export interface Panel {
  readonly title: string;
  /** What 1× means, e.g. `1× = hand-written (E5: split2)`. */
  readonly axis: string;
  readonly groups: readonly Group[];
}

/** A series of the legend. */
export interface Series {
  readonly id: string;
  readonly name: string;
  readonly color: string;
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const WIDTH = 1120;
const LEFT = 64;
const RIGHT = 24;
const BAR = 40;
const BAR_GAP = 6;
const GROUP_GAP = 34;
const PLOT_HEIGHT = 230;
/** Space above the plot for the panel title and the labels of the tallest bars. */
const PANEL_TOP = 64;
/** Space below the plot for the group titles and targets. */
const PANEL_BOTTOM = 68;
/** Narrowest slot of a group, so that its titles fit. */
const MIN_GROUP = 150;

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

function text(
  x: number,
  y: number,
  content: string,
  size: number,
  extra = '',
  anchor: 'start' | 'middle' | 'end' = 'middle',
): string {
  return `<text x="${fmt(x)}" y="${fmt(y)}" font-size="${size}" text-anchor="${anchor}"${extra}>${escapeXml(content)}</text>`;
}

/** Top of the axis: at least 2×, at most 6×, enough for the targets and most bars. */
function axisTop(panel: Panel): number {
  const levels = panel.groups.flatMap((g) => [
    ...g.bars.map((b) => b.relative).filter((v) => Number.isFinite(v)),
    ...(g.target === undefined ? [] : [g.target.level * 1.1]),
  ]);
  return Math.min(6, Math.max(2, Math.ceil(Math.max(0, ...levels) * 2) / 2));
}

function tickStep(top: number): number {
  return top <= 2 ? 0.5 : 1;
}

function renderPanel(panel: Panel, top: number, colors: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  const max = axisTop(panel);
  const plotTop = top + PANEL_TOP;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const y = (v: number): number => plotBottom - (Math.min(v, max) / max) * PLOT_HEIGHT;
  out.push(text(LEFT, top + 22, panel.title, 16, ' font-weight="600"', 'start'));
  out.push(text(LEFT, top + 40, panel.axis, 12, ' fill="#495057"', 'start'));
  // Grid and axis labels.
  for (let v = 0; v <= max + 1e-9; v += tickStep(max)) {
    const at = y(v);
    const stroke = v === 1 ? '#868e96' : '#e9ecef';
    out.push(
      `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${fmt(at)}" y2="${fmt(at)}" stroke="${stroke}" stroke-width="${v === 1 ? 1.5 : 1}"/>`,
      text(LEFT - 8, at + 4, `${v}×`, 11, ' fill="#495057"', 'end'),
    );
  }
  // Labels go last, above the target lines.
  const labels: string[] = [];
  let slot = LEFT + 12;
  for (const group of panel.groups) {
    const width = group.bars.length * (BAR + BAR_GAP) - BAR_GAP;
    const slotWidth = Math.max(width, MIN_GROUP);
    const x = slot + (slotWidth - width) / 2;
    for (const [i, bar] of group.bars.entries()) {
      const left = x + i * (BAR + BAR_GAP);
      const centre = left + BAR / 2;
      const color = colors.get(bar.series) ?? '#868e96';
      if (!Number.isFinite(bar.relative)) {
        out.push(text(centre, plotBottom - 6, 'n/a', 11, ' fill="#868e96"'));
        continue;
      }
      const barTop = y(bar.relative);
      out.push(
        `<rect x="${fmt(left)}" y="${fmt(barTop)}" width="${BAR}" height="${fmt(plotBottom - barTop)}" fill="${color}" rx="2"><title>${escapeXml(`${bar.series}: ${bar.label} (${bar.relative.toFixed(2)}×)`)}</title></rect>`,
      );
      if (bar.relative > max) {
        // Clipped: a white zig-zag across the top says the bar goes on.
        const zy = barTop + 10;
        out.push(
          `<path d="M${fmt(left)} ${fmt(zy + 4)} l${BAR / 4} -6 l${BAR / 4} 6 l${BAR / 4} -6 l${BAR / 4} 6" fill="none" stroke="#fff" stroke-width="2.5"/>`,
        );
      }
      // A white halo keeps the labels readable where a target line crosses them.
      const halo = ' paint-order="stroke" stroke="#ffffff" stroke-width="3"';
      labels.push(
        text(centre, barTop - 17, bar.label, 11, ` font-weight="600" fill="#212529"${halo}`),
        text(centre, barTop - 5, `${bar.relative.toFixed(2)}×`, 10, ` fill="#495057"${halo}`),
      );
    }
    const centre = slot + slotWidth / 2;
    if (group.target !== undefined) {
      const at = y(group.target.level);
      out.push(
        `<line x1="${fmt(x - 6)}" x2="${fmt(x + width + 6)}" y1="${fmt(at)}" y2="${fmt(at)}" stroke="#c92a2a" stroke-width="1.5" stroke-dasharray="5 3"/>`,
        text(centre, plotBottom + 52, `target: ${group.target.text}`, 11, ' fill="#c92a2a"'),
      );
    }
    out.push(
      text(centre, plotBottom + 20, group.title, 12, ' font-weight="600" fill="#212529"'),
      text(centre, plotBottom + 36, group.subtitle, 11, ' fill="#495057"'),
    );
    slot += slotWidth + GROUP_GAP;
  }
  out.push(...labels);
  return out;
}

/**
 * Renders panels stacked vertically, a title and a legend of the series that appear.
 *
 * @example
 * ```ts
 * writeFileSync('latest.svg', barChart('Suite', ['Node 20'], panels, series));
 * ```
 */
export function barChart(
  title: string,
  notes: readonly string[],
  panels: readonly Panel[],
  series: readonly Series[],
): string {
  const used = new Set(panels.flatMap((p) => p.groups.flatMap((g) => g.bars.map((b) => b.series))));
  const colors = new Map(series.map((s) => [s.id, s.color]));
  // Legend: a swatch and a name per series that appears, wrapped to the width.
  const legendTop = 40 + notes.length * 16 + 16;
  const legend: string[] = [];
  let lx = LEFT;
  let ly = legendTop;
  for (const s of series.filter((entry) => used.has(entry.id))) {
    const width = 17 + s.name.length * 6.8 + 18;
    if (lx + width > WIDTH - RIGHT) {
      lx = LEFT;
      ly += 20;
    }
    legend.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${s.color}" rx="2"/>`,
      text(lx + 17, ly, s.name, 12, ' fill="#212529"', 'start'),
    );
    lx += width;
  }
  const headerHeight = ly + 18;
  const panelHeight = PANEL_TOP + PLOT_HEIGHT + PANEL_BOTTOM;
  const height = headerHeight + panels.length * panelHeight + 16;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(LEFT, 30, title, 20, ' font-weight="700" fill="#212529"', 'start'),
    ...notes.map((note, i) => text(LEFT, 52 + i * 16, note, 12, ' fill="#495057"', 'start')),
    ...legend,
  ];
  for (const [i, panel] of panels.entries()) {
    out.push(...renderPanel(panel, headerHeight + i * panelHeight, colors));
  }
  out.push('</svg>', '');
  return out.join('\n');
}
