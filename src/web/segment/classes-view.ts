/**
 * How the page shows a model of more than two classes: each class filled in its own colour over the image, the
 * outlines `lvseg predict` draws in its overlays (the blood pool's, the epicardium's, each other class's), and a
 * legend with each class's colour and area. A binary model keeps the page's single red outline.
 */
import { classColour, type OverlayColour, type RgbaImage } from '../../browser.js';
import type { ClassResult } from './worker.js';

/** How strongly a class's colour tints its pixels: the image stays readable under it. */
const FILL_ALPHA = 0.35;

/** Each region's colour (classes by label value, then `epicardium`), as `lvseg predict`'s overlays pick them. */
export function regionColours(classes: Record<string, ClassResult>): Map<string, OverlayColour> {
  return new Map(Object.keys(classes).map((name, i) => [name, classColour(name, i)]));
}

/**
 * The outlines an overlay draws, as `lvseg predict` draws them: every region's but the myocardium's, whose ring
 * the blood pool's and the epicardium's outlines already draw.
 */
export function drawnOutlines(
  classes: Record<string, ClassResult>,
): { points: [number, number][]; colour: OverlayColour }[] {
  const colours = regionColours(classes);
  return Object.entries(classes)
    .filter(([name]) => !(name === 'myocardium' && classes.epicardium))
    .map(([name, c]) => ({ points: c.contour, colour: colours.get(name)! }));
}

/**
 * Tints each class's pixels of `overlay` (an image drawn grey with coloured outlines) in the class's colour; the
 * outline pixels (not grey) are left as drawn.
 */
export function tintClasses(overlay: RgbaImage, mask: Uint8Array, classes: Record<string, ClassResult>): void {
  const colours = regionColours(classes);
  const byValue = new Map<number, OverlayColour>();
  for (const [name, c] of Object.entries(classes))
    if (c.values.length === 1) byValue.set(c.values[0]!, colours.get(name)!);
  const { data } = overlay;
  for (let i = 0; i < mask.length; i++) {
    const colour = byValue.get(mask[i]!);
    const o = 4 * i;
    if (!colour || data[o] !== data[o + 1] || data[o] !== data[o + 2]) continue;
    for (let k = 0; k < 3; k++) data[o + k] = Math.round(data[o + k]! * (1 - FILL_ALPHA) + colour[k]! * FILL_ALPHA);
  }
}

const areaText = (c: ClassResult): string =>
  c.areaMm2 === null ? `${c.areaPx} px` : `${c.areaMm2.toFixed(1)} mm² (${c.areaPx} px)`;

/** One line per region for the table: `lv 812.3 mm² (400 px) · myocardium …`. */
export function classesText(classes: Record<string, ClassResult>): string {
  return Object.entries(classes)
    .map(([name, c]) => `${name} ${areaText(c)}`)
    .join(' · ');
}

/** The legend: each region's colour, name and area on the image shown; empty for a binary model. */
export function renderLegend(legend: HTMLElement, classes: Record<string, ClassResult> | undefined): void {
  legend.replaceChildren();
  legend.hidden = classes === undefined;
  if (!classes) return;
  for (const [name, colour] of regionColours(classes)) {
    const item = document.createElement('li');
    item.dataset.class = name;
    item.dataset.colour = `rgb(${colour.join(', ')})`;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    // the epicardium is a region (blood pool and wall), drawn as an outline only
    if (name === 'epicardium') swatch.style.border = `2px solid ${item.dataset.colour}`;
    else swatch.style.background = item.dataset.colour;
    item.append(swatch, document.createTextNode(`${name}: ${areaText(classes[name]!)}`));
    item.dataset.areaPx = String(classes[name]!.areaPx);
    legend.append(item);
  }
}
