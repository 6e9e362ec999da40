/** Resampling of images and masks between sizes, with half-pixel centres (no tfjs, no Node). */

/** Nearest-neighbour resampling of a mask with half-pixel centres, so classes stay classes. */
export function resizeNearest(
  mask: Uint8Array,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
): Uint8Array {
  if (height === outHeight && width === outWidth) return mask.slice();
  const out = new Uint8Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.min(Math.floor(((y + 0.5) * height) / outHeight), height - 1);
    for (let x = 0; x < outWidth; x++) {
      const sx = Math.min(Math.floor(((x + 0.5) * width) / outWidth), width - 1);
      out[y * outWidth + x] = mask[sy * width + sx]!;
    }
  }
  return out;
}

/**
 * Bilinear resampling of a row-major image with half-pixel centres (tf.image.resizeBilinear with
 * halfPixelCenters, OpenCV's INTER_LINEAR): output pixel centres map onto the same physical positions.
 */
export function resizeBilinear(
  image: Float32Array,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  if (height === outHeight && width === outWidth) return image.slice();
  const out = new Float32Array(outHeight * outWidth);
  const sy = height / outHeight;
  const sx = width / outWidth;
  for (let y = 0; y < outHeight; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    for (let x = 0; x < outWidth; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      const top = image[y0 * width + x0]! * (1 - wx) + image[y0 * width + x1]! * wx;
      const bottom = image[y1 * width + x0]! * (1 - wx) + image[y1 * width + x1]! * wx;
      out[y * outWidth + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}
