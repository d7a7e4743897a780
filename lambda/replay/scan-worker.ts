/**
 * Worker-thread entry of the replay scan, bundled on its own (dist/scan-worker.js) so a worker
 * loads only the scanner, not the CLI.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveScanWorker, type WorkerData } from './parallel-scan';

const data = workerData as WorkerData | undefined;
if (parentPort !== null && data?.kind === 'egress-spike-scan') serveScanWorker(parentPort, data);
