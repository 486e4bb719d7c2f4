/**
 * The scrape figures alone (SPEC §9), without the 10-minute benchmark: `npm run bench:scrape [--
 * --quick] [-- --ran N]` (N tasks of the 10,000 with series; default 1,000). Prints them as the
 * benchmark reports them.
 */
import { scrapeRow, scrapeTarget, targetRow } from './report.js';
import { metricsCost } from './scrape.js';

const ranAt = process.argv.indexOf('--ran');
const figures = await metricsCost(process.argv.includes('--quick'), ranAt > 0 ? Number(process.argv[ranAt + 1]) : undefined);
process.stdout.write(`${JSON.stringify(figures)}\n${targetRow(scrapeTarget(figures))}\n${scrapeRow(figures)}\n`);
