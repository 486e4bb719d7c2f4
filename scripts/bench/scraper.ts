/**
 * The benchmark's Prometheus: a process of its own, so that reading a large response costs the daemon
 * nothing it would not pay to a real scraper. `node scraper.js URL COUNT` scrapes once to learn how
 * long a scrape takes, then COUNT times, each started that much before a second boundary times
 * (i + 0.5) / COUNT, so every scrape is rendering when a tick is due. Prints one JSON line.
 */
const [url, countText] = process.argv.slice(2);
const count = Number(countText);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function scrape(): Promise<{ ms: number; bytes: number }> {
  const begin = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}: ${body.slice(0, 200)}`);
  return { ms: performance.now() - begin, bytes: Buffer.byteLength(body) };
}

const warmUp = await scrape();
const scrapes: { ms: number; bytes: number; beforeTickMs: number }[] = [];
for (let index = 0; index < count; index++) {
  const beforeTickMs = Math.min(900, (warmUp.ms * (index + 0.5)) / count);
  let wait = 1000 - (Date.now() % 1000) - beforeTickMs;
  if (wait < 50) wait += 1000;
  await sleep(wait);
  scrapes.push({ ...(await scrape()), beforeTickMs });
}
process.stdout.write(`${JSON.stringify({ warmUp, scrapes })}\n`);
