import { PACKAGE_JSON } from './paths.js';

export const VERSION: string = PACKAGE_JSON.version;
