import { readImageFile } from '../io/limits.js';
import { decodeDicom, type DicomSlice } from './dicom-decode.js';

export { decodeDicom, SUPPORTED_TRANSFER_SYNTAXES, type DicomSlice } from './dicom-decode.js';

/** Reads one DICOM file. */
export async function readDicomSlice(file: string): Promise<DicomSlice> {
  return decodeDicom(await readImageFile(file, 'DICOM'), file);
}
