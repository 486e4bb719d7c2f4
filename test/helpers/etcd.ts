/** The real etcd of the fleet tests (scripts/bench/etcd-server.ts: the fleet bench starts the same one). */
import { ETCD } from '../../scripts/bench/etcd-server.js';

export { ETCD, EtcdServer, type EtcdTls } from '../../scripts/bench/etcd-server.js';
if (ETCD === undefined) console.warn('\n!!! ETCD TESTS SKIPPED: etcd not found (Debian package etcd-server; .ci/run installs it) !!!\n');
