/** Hand-made masks for the metric tests. */
export function disc(size: number, cx: number, cy: number, radius: number): Uint8Array {
  const m = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) m[y * size + x] = 1;
  }
  return m;
}

export function rect(
  height: number,
  width: number,
  top: number,
  left: number,
  bottom: number,
  right: number,
): Uint8Array {
  const m = new Uint8Array(height * width);
  for (let y = top; y <= bottom; y++) for (let x = left; x <= right; x++) m[y * width + x] = 1;
  return m;
}
