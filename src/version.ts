import { PACKAGE_JSON } from './paths.js';

/** lvseg's version, from its package.json. */
export const VERSION: string = PACKAGE_JSON.version;
