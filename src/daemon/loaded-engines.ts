/**
 * Which optional engines this process has loaded (STYLE: optional engines load lazily): `status`
 * reports it, so a test can prove a standalone daemon never loaded etcd3 or gRPC. They are CommonJS
 * packages, so importing them fills the CommonJS module cache even from ESM.
 */
import { createRequire } from 'node:module';

const cache = createRequire(import.meta.url).cache;
const ENGINES = ['etcd3', '@grpc/grpc-js', 'prom-client'] as const;

export function loadedEngines(): string[] {
  const files = Object.keys(cache);
  return ENGINES.filter((name) => files.some((file) => file.includes(`/node_modules/${name}/`)));
}
