import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Real data for tests: PORTAIL_DATA_DIR, default ../shared/data beside the repo. */
export const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? join(REPO_ROOT, '..', 'shared', 'data');
export const clip = (name: string): string => join(DATA_DIR, 'clips', name);
