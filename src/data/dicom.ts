import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { decodeDicom, type DicomSlice } from './dicom-decode.js';

export { decodeDicom, SUPPORTED_TRANSFER_SYNTAXES, type DicomSlice } from './dicom-decode.js';

/** Reads one DICOM file. */
export async function readDicomSlice(file: string): Promise<DicomSlice> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new DataError(`cannot read DICOM file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return decodeDicom(bytes, file);
}
