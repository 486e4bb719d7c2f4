import { readFileSync } from 'node:fs';

/** gotorch's own version, from the package.json of this installation (dist/src → the package root). */
export const GOTORCH_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();
