/**
 * The record of `lvseg volumes` (volumes.json, the object `--json` prints) and its CSV tables, from an
 * analysis: browser-safe, so the segmentation page exports the very record and tables the CLI writes.
 */
import type { ExpertMeasurement, SeriesVolumes } from '../evaluation/cine-volumes.js';
import { toCsv } from './csv.js';
import {
  describeVolumeRule,
  DEFAULT_VOLUME_RULE,
  type MassResult,
  type SliceVolumes,
  type VolumeResult,
  type VolumeRule,
} from '../evaluation/volumes.js';

/** What the record is built from: the cine, its measurement, the series found and the experts' (when given). */
export type VolumesAnalysis = Pick<SeriesVolumes, 'cine' | 'measured' | 'groups' | 'experts'>;

export interface SliceRecord {
  /** 1-based, in order along the slice normal. */
  slice: number;
  zMm: number;
  counted: boolean;
  reason: string | null;
  thicknessMm: number | null;
  areasMm2: (number | null)[];
  usedAreasMm2: (number | null)[];
  status: string[];
  /** Masks with a myocardium class: the share of the blood pool's border that is myocardium, per phase. */
  myocardialRing?: (number | null)[];
}

/** The numbers a cardiologist reads: volumes in mL, EF in %, the ED and ES phases (from 1). */
export interface VolumeSummary {
  edvMl: number;
  esvMl: number;
  svMl: number;
  efPct: number;
  edPhase: number;
  esPhase: number;
}

/** LV mass and wall thickness at ED (computeLvMass), rounded. */
export interface WallRecord {
  myocardiumMl: number;
  meanWallThicknessMm: number;
  /** 1-based slices, their myocardial area and mean wall thickness. */
  slices: { slice: number; myocardiumMm2: number; wallThicknessMm: number }[];
}

export interface ExpertRecord extends VolumeSummary {
  dir: string;
  /** By the same rule over the ED slices with both an i- and an o-contour; null without o-contours. */
  lvMassG: number | null;
  wall: WallRecord | null;
  /** The contoured phases (1-based). */
  phases: number[];
  countedSlices: number[];
  slices: SliceRecord[];
  /** The contours rasterised as the training masks are (boundary pixels added). */
  asTrainingMasks: { edvMl: number; esvMl: number; efPct: number };
  warnings: string[];
}

/** volumes.json, and the object `lvseg volumes --json` prints. Phases and slices count from 1. */
export interface VolumesRecord extends VolumeSummary {
  /** Myocardial volume at ED × 1.05 g/mL, for a model with a myocardium class; null for a blood-pool model. */
  lvMassG: number | null;
  wall: WallRecord | null;
  heartRateBpm: number | null;
  heartRateSource: string | null;
  cardiacOutputLMin: number | null;
  countedSlices: number[];
  series: {
    dir: string;
    uid: string;
    description: string | null;
    images: number;
    slices: number;
    phases: number;
    rows: number;
    columns: number;
    pixelSpacingMm: [number, number];
    sliceCentresFrom: string;
    phaseOrder: string;
  };
  seriesFound: { uid: string; description: string | null; images: number; positions: number; problem: string | null }[];
  segmenter: Record<string, string>;
  rule: VolumeRule & { text: string };
  phases: { phase: number; triggerTimeMs: number | null; volumeMl: number | null }[];
  slices: SliceRecord[];
  experts?: ExpertRecord;
  warnings: string[];
}

export const round = (v: number, digits = 2): number => Number(v.toFixed(digits));

function wallRecord(m: MassResult): WallRecord {
  return {
    myocardiumMl: round(m.myocardiumMl),
    meanWallThicknessMm: round(m.meanWallThicknessMm),
    slices: m.slices.map((s) => ({
      slice: s.slice + 1,
      myocardiumMm2: round(s.myocardiumMm2, 1),
      wallThicknessMm: round(s.wallThicknessMm),
    })),
  };
}

function sliceRecords(slices: readonly SliceVolumes[]): SliceRecord[] {
  return slices.map((s) => ({
    slice: s.slice + 1,
    zMm: round(s.zMm, 3),
    counted: s.counted,
    reason: s.reason ?? null,
    thicknessMm: s.thicknessMm === undefined ? null : round(s.thicknessMm, 3),
    areasMm2: s.areasMm2.map((a) => (a === null ? null : round(a, 1))),
    usedAreasMm2: s.usedAreasMm2.map((a) => (a === null ? null : round(a, 1))),
    status: s.status,
    ...(s.myocardialRing ? { myocardialRing: s.myocardialRing.map((f) => (f === null ? null : round(f, 3))) } : {}),
  }));
}

const countedOf = (r: VolumeResult): number[] => r.slices.filter((s) => s.counted).map((s) => s.slice + 1);

function expertRecord(e: ExpertMeasurement): ExpertRecord {
  const r = e.result;
  return {
    dir: e.dir,
    edvMl: round(r.edvMl),
    esvMl: round(r.esvMl),
    svMl: round(r.svMl),
    efPct: round(r.efPct),
    edPhase: e.phases[r.ed]! + 1,
    esPhase: e.phases[r.es]! + 1,
    phases: e.phases.map((p) => p + 1),
    countedSlices: countedOf(r),
    slices: sliceRecords(r.slices),
    lvMassG: e.mass ? round(e.mass.lvMassG, 1) : null,
    wall: e.mass ? wallRecord(e.mass) : null,
    asTrainingMasks: {
      edvMl: round(e.asTrainingMasks.edvMl),
      esvMl: round(e.asTrainingMasks.esvMl),
      efPct: round(e.asTrainingMasks.efPct),
    },
    warnings: [...e.warnings, ...r.warnings],
  };
}

/** The record of one analysis; `segmenter` says what made the masks (model, scale, backend). */
export function buildVolumesRecord(
  analysis: VolumesAnalysis,
  segmenter: Record<string, string>,
  rule: VolumeRule = DEFAULT_VOLUME_RULE,
  seriesDir = analysis.cine.dir,
): VolumesRecord {
  const { cine, measured, groups } = analysis;
  const r = measured.result;
  const hr = cine.heartRate;
  const record: VolumesRecord = {
    edvMl: round(r.edvMl),
    esvMl: round(r.esvMl),
    svMl: round(r.svMl),
    efPct: round(r.efPct),
    edPhase: r.ed + 1,
    esPhase: r.es + 1,
    lvMassG: measured.mass ? round(measured.mass.lvMassG, 1) : null,
    wall: measured.mass ? wallRecord(measured.mass) : null,
    heartRateBpm: hr ? round(hr.bpm, 1) : null,
    heartRateSource: hr?.source ?? null,
    cardiacOutputLMin: hr ? round((r.svMl * hr.bpm) / 1000) : null,
    countedSlices: countedOf(r),
    series: {
      dir: seriesDir,
      uid: cine.uid,
      description: cine.description ?? null,
      images: cine.grid.reduce((n, row) => n + row.filter(Boolean).length, 0),
      slices: cine.slices.length,
      phases: cine.phases,
      rows: cine.rows,
      columns: cine.columns,
      pixelSpacingMm: cine.pixelSpacing,
      sliceCentresFrom: cine.spacingSource,
      phaseOrder: cine.phaseOrder,
    },
    seriesFound: groups.map((g) => ({
      uid: g.uid,
      description: g.description ?? null,
      images: g.images.length,
      positions: g.positions,
      problem: g.problem ?? null,
    })),
    segmenter,
    rule: { ...rule, text: describeVolumeRule(rule) },
    phases: r.volumesMl.map((v, p) => ({
      phase: p + 1,
      triggerTimeMs: cine.triggerTimes?.[p] ?? null,
      volumeMl: v === null ? null : round(v),
    })),
    slices: sliceRecords(r.slices),
    warnings: [...cine.warnings, ...r.warnings],
  };
  if (analysis.experts) record.experts = expertRecord(analysis.experts);
  return record;
}

/** One row per phase: trigger time, volume, and whether it is ED or ES. */
export function phasesCsv(record: VolumesRecord): string {
  return toCsv(
    ['phase', 'trigger_time_ms', 'volume_ml', 'ed', 'es'],
    record.phases.map((p) => [
      p.phase,
      p.triggerTimeMs,
      p.volumeMl,
      p.phase === record.edPhase ? 1 : 0,
      p.phase === record.esPhase ? 1 : 0,
    ]),
  );
}

/** One row per slice and phase: the measured area, the area used, the image's status and whether the slice counted. */
export function areasCsv(record: VolumesRecord): string {
  const rows: unknown[][] = [];
  for (const s of record.slices) {
    s.areasMm2.forEach((a, p) => {
      rows.push([s.slice, s.zMm, s.counted ? 1 : 0, s.reason, s.thicknessMm, p + 1, a, s.usedAreasMm2[p], s.status[p]]);
    });
  }
  return toCsv(
    ['slice', 'z_mm', 'counted', 'reason', 'thickness_mm', 'phase', 'area_mm2', 'used_area_mm2', 'status'],
    rows,
  );
}
