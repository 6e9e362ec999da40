import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { parseContour, type Contour } from '../imaging/contour-polygon.js';

export {
  parseContour,
  rasterizeContour,
  PIXEL_CENTRE,
  notTheWall,
  type Contour,
  type RasterizeOptions,
} from '../imaging/contour-polygon.js';

export async function readContourFile(file: string): Promise<Contour> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DataError(`cannot read contour file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseContour(text, file);
}
