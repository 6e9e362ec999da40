/**
 * One image with its label: the unit every source yields and every later stage consumes.
 * `image` holds H·W float pixel values (already scaled where a scaling was asked for), row-major;
 * `label` holds H·W class indices (0 = background; the source's `classes` name them, by default 1 = left
 * ventricle).
 */
export interface Sample {
  /** Unique within its source, e.g. `SC-HF-I-04/IM-0001-0087`. */
  name: string;
  /** The patient (case) the slice belongs to; splits by patient never put one patient on both sides. */
  patient: string;
  image: Float32Array;
  label: Uint8Array;
  height: number;
  width: number;
  /** In-plane pixel spacing in millimetres [row, column], where the source knows it. */
  spacing?: [number, number];
  /**
   * The class indices this label map marks, background included; absent: every class of its source. A
   * Sunnybrook slice with an endocardial contour only marks [0, 1]: its myocardium lies unmarked under
   * background, so training must not read "no myocardium" from it (see losses.ts).
   */
  labelledClasses?: readonly number[];
}
